"""Classifier-free-guidance parallelism: one clip over two GPUs, each transformer call's unconditional half on rank 0
and its conditional half on rank 1, gathered back with torch.distributed; diffusers' pipeline runs unchanged around it.

CogVideoX's pipeline batches [unconditional, conditional] through the transformer at every step. Here two processes
run the same generate() call with the same seed: forward hooks hand each rank its half of that batch and all_gather
the two noise predictions back into the batch the pipeline expects, so both ranks' latents stay identical step after
step. The leader (rank 0, `python -m cogcast_engine`) speaks the protocol and alone decodes the frames: decoding twice
would only keep the second GPU busy for nothing. It starts the follower (rank 1, `python -m cogcast_engine.cfg_parallel`)
as its child and sends it each generate call as one JSON line on its stdin; the follower exits on EOF (the leader is
gone). Either rank failing mid-denoise leaves the other inside a collective, so then the engine exits and the worker
restarts it, as after any engine crash.
"""

import base64
import contextlib
import dataclasses
import json
import logging
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from PIL import Image

from .envs import EngineConfig, settings_env
from .loopback import LOOPBACK, loopback_store
from .presets import Preset, StepCache

logger = logging.getLogger(__name__)

WORLD_SIZE = 2  # the two halves of the guidance batch
LEADER, FOLLOWER = 0, 1
# Long enough for the follower to load CogVideoX-2b and compile while the leader waits at its first collective.
TIMEOUT = timedelta(minutes=15)
# After a failed job, the leader reports the error before the group is torn down (and the engine exits).
ABANDON_GRACE_S = 2.0
PACKAGE_PARENT = Path(__file__).resolve().parents[1]


def split_guidance(transformer: torch.nn.Module, rank: int, world_size: int = WORLD_SIZE, group=None) -> list:
    """Hook `transformer` so that this rank runs its share of the batch and returns the whole batch's output.

    A batch that does not divide by `world_size` (no guidance: batch 1) is run whole on every rank, ungathered.
    Returns the hook handles (`handle.remove()` undoes it).
    """
    split = [False]  # set by the pre-hook, read by the gather of the same call

    def take_share(_module, args, kwargs):
        if args:
            raise TypeError("CFG parallelism needs the transformer called with keyword arguments (as diffusers does)")
        batch = kwargs["hidden_states"].shape[0]
        split[0] = batch % world_size == 0 and batch >= world_size
        if not split[0]:
            return None
        share = batch // world_size
        mine = slice(rank * share, (rank + 1) * share)
        return args, {
            name: value[mine] if _is_batched(value, batch) else value for name, value in kwargs.items()
        }

    def gather(_module, _args, _kwargs, output):
        if not split[0]:
            return None
        sample = output[0] if isinstance(output, tuple) else output.sample
        parts = [torch.empty_like(sample) for _ in range(world_size)]
        dist.all_gather(parts, sample.contiguous(), group=group)
        whole = torch.cat(parts)  # rank order is batch order: [unconditional, conditional]
        return (whole, *output[1:]) if isinstance(output, tuple) else dataclasses.replace(output, sample=whole)

    return [
        transformer.register_forward_pre_hook(take_share, with_kwargs=True),
        transformer.register_forward_hook(gather, with_kwargs=True),
    ]


def _is_batched(value, batch: int) -> bool:
    # hidden_states, encoder_hidden_states and timestep carry the batch; rotary embeddings (a tuple) do not.
    return isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == batch


def second_device(device: torch.device) -> torch.device:
    """The follower's device: the GPU after the leader's (CUDA_VISIBLE_DEVICES lists both), or the CPU too."""
    if device.type != "cuda":
        return device
    index = device.index + 1
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"ENGINE_CFG_PARALLEL=1 needs a second GPU after {device}, this process sees {torch.cuda.device_count()} "
            "(give the engine two, e.g. CUDA_VISIBLE_DEVICES=0,1)"
        )
    return torch.device("cuda", index)


@dataclasses.dataclass
class CfgJob:
    """One generate call as both ranks run it: cancel is agreed at every step, and only the leader decodes."""

    group: "CfgParallel"
    steps: int
    own_should_cancel: Callable[[], bool] | None
    agreements: int = 0

    @property
    def decodes(self) -> bool:
        return self.group.rank == LEADER

    def should_cancel(self) -> bool:
        # A collective: both ranks ask at the same points (before step 1, after each step) and get the same answer.
        wants = self.own_should_cancel is not None and self.own_should_cancel()
        agreed = self.group.agree(wants)
        self.agreements += 1
        return agreed

    @property
    def collectives_done(self) -> bool:
        """True once every collective of the call is behind us (the pre-check and one per step): decoding is not."""
        return self.agreements >= self.steps + 1


class CfgParallel:
    """This process's rank in an engine's two-rank group; the leader also owns the follower process."""

    def __init__(self, rank: int, device: torch.device, follower: subprocess.Popen | None = None, store=None):
        self.rank = rank
        self.device = device
        self.follower = follower
        self._store = store
        self._hooks: list = []
        self._closing = False

    @property
    def backend(self) -> str:
        return "nccl" if self.device.type == "cuda" else "gloo"

    # ---- set-up ----

    @classmethod
    def spawn(cls, config: EngineConfig) -> "CfgParallel":
        """Leader: start the follower now, so that it loads its copy of the model while this process loads its own."""
        from .pipeline_loader import resolve_device

        device = resolve_device(config.device)
        follower_device = second_device(device)
        # This process hosts the rendezvous store on a free loopback port: no port to configure, none to collide.
        store = loopback_store(WORLD_SIZE, TIMEOUT)
        env = {
            **os.environ,
            "RANK": str(FOLLOWER),
            "WORLD_SIZE": str(WORLD_SIZE),
            "MASTER_ADDR": LOOPBACK,
            "MASTER_PORT": str(store.port),
            **settings_env(config.to_settings(device=str(follower_device))),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(PACKAGE_PARENT), os.environ.get("PYTHONPATH")])),
        }
        follower = subprocess.Popen(
            [sys.executable, "-u", "-m", "cogcast_engine.cfg_parallel"],
            stdin=subprocess.PIPE,
            stdout=sys.stderr,  # stdout is the protocol's, and it is the leader's alone
            env=env,
            text=True,
        )
        group = cls(LEADER, device, follower, store)
        threading.Thread(target=group._watch_follower, name="cfg-follower-watch", daemon=True).start()
        return group

    def join(self, loaded) -> None:
        """Both ranks, model loaded: form the process group and split the transformer's guidance batch."""
        if self.device.type == "cuda":
            torch.cuda.set_device(self.device)
        if self._store is None:  # the follower: a client of the leader's store (MASTER_ADDR/MASTER_PORT)
            address, port = os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"])
            self._store = dist.TCPStore(address, port, WORLD_SIZE, is_master=False, timeout=TIMEOUT)
        dist.init_process_group(self.backend, store=self._store, rank=self.rank, world_size=WORLD_SIZE, timeout=TIMEOUT)
        # One attention kernel for both halves, the leader's: each rank timed the candidates on its own GPU, and a
        # GPU busy with something else at that moment (another engine warming up) can make a slow kernel look
        # fastest; the step waits for the slower rank, so the halves must not differ.
        choice = [loaded.tuning.attention_backend]
        dist.broadcast_object_list(choice, src=LEADER)
        if choice[0] != loaded.tuning.attention_backend:
            logger.info("rank %d: attention kernel %s (the leader's) instead of %s", self.rank, choice[0], loaded.tuning.attention_backend)
            loaded.tuning.attention_backend = choice[0]
        self._hooks = split_guidance(loaded.pipe.transformer, self.rank)
        peer = second_device(self.device) if self.rank == LEADER else self.device
        loaded.tuning.notes.append(
            f"cfg-parallel: guidance halves on 2 ranks ({self.backend}, rank 1 on {peer}, attention {choice[0]} on both)"
        )

    # ---- per job ----

    def agree(self, flag: bool) -> bool:
        """True on both ranks when either says True."""
        value = torch.tensor([int(flag)], dtype=torch.int32, device=self.device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    @contextlib.contextmanager
    def job(
        self, preset: Preset, prompt: str, negative_prompt: str, seed: int, steps: int | None,
        should_cancel: Callable[[], bool] | None, image: Image.Image | None = None,
    ) -> Iterator[CfgJob]:
        """Around one generate call on either rank; the leader first sends the call to the follower."""
        from .generate import JobCancelled

        if self.rank == LEADER:
            call = {"preset": dataclasses.asdict(preset), "prompt": prompt, "negative_prompt": negative_prompt,
                    "seed": seed, "steps": steps, "image": image_to_json(image)}
            self.follower.stdin.write(json.dumps(call) + "\n")
            self.follower.stdin.flush()
        job = CfgJob(self, steps or preset.steps, should_cancel)
        try:
            yield job
        except JobCancelled:
            raise  # agreed by both ranks: they stay in step
        except BaseException:
            if not job.collectives_done:  # the other rank waits in a collective this one will never join
                self.abandon()
            raise

    # ---- the end ----

    def abandon(self) -> None:
        """The ranks are out of step: stop the follower shortly (once the job's error is out); the engine then exits."""
        logger.error("CFG-parallel rank %d failed mid-job: the ranks are out of step, the engine exits", self.rank)
        if self.rank == LEADER:
            threading.Timer(ABANDON_GRACE_S, self.follower.kill).start()

    def close(self) -> None:
        """Leader, at shutdown: EOF tells the follower to exit; then leave the group."""
        self._closing = True
        if self.follower is not None:
            with contextlib.suppress(OSError):
                self.follower.stdin.close()
            try:
                self.follower.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.follower.kill()
        if dist.is_initialized():
            dist.destroy_process_group()

    def _watch_follower(self) -> None:
        code = self.follower.wait()
        if not self._closing:
            # Nothing can run on one half: exit, and the worker restarts the engine (and the job, as after a crash).
            logger.error("CFG-parallel rank 1 exited (code %s): the engine exits so that it is restarted", code)
            os._exit(1)


def image_to_json(image: Image.Image | None) -> dict | None:
    """The photo itself, not its path: warm-up's grey one has no file, and the job's may be gone when rank 1 reads."""
    if image is None:
        return None
    return {"size": list(image.size), "rgb": base64.b64encode(image.convert("RGB").tobytes()).decode("ascii")}


def image_from_json(data: dict | None) -> Image.Image | None:
    return None if data is None else Image.frombytes("RGB", tuple(data["size"]), base64.b64decode(data["rgb"]))


def preset_from_dict(data: dict) -> Preset:
    cache = data.get("cache")
    return Preset(**{**data, "cache": StepCache(**cache) if cache else None})


def follow(group: CfgParallel, loaded, calls: "queue.Queue[dict | None]", busy: threading.Event) -> None:
    """Follower: run each call the leader sends, in lockstep with it, until EOF."""
    from .generate import JobCancelled, generate

    while (call := calls.get()) is not None:
        busy.set()
        try:
            generate(loaded, preset_from_dict(call["preset"]), call["prompt"], call["negative_prompt"], call["seed"],
                     steps=call["steps"], cfg_parallel=group, image=image_from_json(call.get("image")))
        except JobCancelled:
            pass
        busy.clear()
        if loaded.device.type == "cuda":
            torch.cuda.empty_cache()


def read_calls(stdin, calls: "queue.Queue[dict | None]", busy: threading.Event) -> None:
    for line in stdin:
        if line.strip():
            calls.put(json.loads(line))
    # EOF: the leader closed the pipe (shutdown) or died. Stuck in a collective, nothing else would end this process.
    if busy.is_set():
        os._exit(1)
    calls.put(None)


def main() -> int:
    """Follower entry point (rank 1), started by the leader with its environment plus RANK, MASTER_PORT, ..."""
    config = EngineConfig.from_env()
    logging.basicConfig(
        stream=sys.stderr, level=config.log_level, format="%(asctime)s %(levelname)s rank1 %(name)s: %(message)s"
    )
    from .pipeline_loader import load_pipeline, resolve_device

    calls: queue.Queue[dict | None] = queue.Queue()
    busy = threading.Event()
    busy.set()  # loading and joining: an EOF now means the leader failed to start
    threading.Thread(target=read_calls, args=(sys.stdin, calls, busy), name="cfg-calls", daemon=True).start()
    group = CfgParallel(int(os.environ["RANK"]), resolve_device(config.device))
    loaded = load_pipeline(config)
    group.join(loaded)
    busy.clear()
    try:
        follow(group, loaded, calls, busy)
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
