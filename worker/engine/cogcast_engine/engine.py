"""The engine's life: load and warm up, then serve requests (jobs on the main thread, cancel/stats meanwhile)."""

import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import BinaryIO

import torch

from . import contract
from .cfg_parallel import CfgParallel
from .envs import EngineConfig
from .generate import JobCancelled, OutOfMemory, generate, is_cuda_oom, neutral_image, request_image
from .gpu_monitor import GpuMonitor, UtilizationSampler
from .host_memory import release_host_memory
from .pipeline_loader import LoadedPipeline, load_pipeline
from .presets import PresetTable
from .protocol import (
    CancelRequest,
    Cancelled,
    Error,
    GenerateRequest,
    Memory,
    Message,
    Progress,
    ProtocolError,
    Ready,
    Result,
    ShutdownRequest,
    Stats,
    StatsRequest,
    Status,
    parse_request,
)
from .stdio import MessageWriter
from .tuning import compile_count, fall_back_to_eager

logger = logging.getLogger(__name__)

FRAMES_FILE = "frames.rgb"
WARMUP_STEPS = 2  # at least two, so the step-to-step path (scheduler state, second transformer call) is warm too
WARMUP_PROMPT = "warm-up"


class Engine:
    def __init__(self, config: EngineConfig, presets: PresetTable, writer: MessageWriter):
        self.config = config
        self.writer = writer
        self.presets = presets
        self.loaded: LoadedPipeline | None = None
        self.monitor: GpuMonitor | None = None
        self.cfg_parallel: CfgParallel | None = None  # ENGINE_CFG_PARALLEL: this process is rank 0 of two
        self._jobs: queue.Queue[GenerateRequest | None] = queue.Queue()
        self._lock = threading.Lock()  # guards the two fields below, shared with the reader thread
        self._current: GenerateRequest | None = None
        self._cancel = threading.Event()
        self._compiles_at_ready = 0

    # ---- start-up ----

    def start(self, loaded: LoadedPipeline | None = None) -> None:
        """Load the model (or take `loaded`, prepared by the caller: the benchmark), warm up, then send `ready`."""
        self.writer.send(Status(state="loading"))
        if self.config.cfg_parallel:  # rank 1 starts now and loads its copy of the model while this one loads
            self.cfg_parallel = CfgParallel.spawn(self.config)
        self.loaded = loaded if loaded is not None else load_pipeline(self.config)
        if self.cfg_parallel is not None:
            self.cfg_parallel.join(self.loaded)
        self.monitor = GpuMonitor(self.loaded.device)
        warmup_seconds = self.warm_up() if self.config.warmup else {}
        # Every graph serving needs was built by the warm-up: from here on, any new one is a recompile.
        self._compiles_at_ready = compile_count()
        self.writer.send(
            Ready(
                device=str(self.loaded.device),
                gpu_name=self.loaded.gpu_name,
                dtype=self.loaded.dtype_name,
                memory_profile=self.loaded.memory_profile,
                presets=self.presets.names,
                warmup_seconds=warmup_seconds,
                load_seconds=self.loaded.load_seconds,
                compiled=self.loaded.tuning.compiled,
                tuning=self.loaded.tuning.summary(),
            )
        )

    @property
    def recompiles(self) -> int:
        return compile_count() - self._compiles_at_ready

    def warm_up(self) -> dict[str, float]:
        """Run the first preset of each graph shape (and step cache) once; later presets of that key reuse the graph."""
        warmup_seconds: dict[str, float] = {}
        warmed: set[tuple] = set()
        for preset in self.presets.presets.values():
            if preset.warmup_key in warmed:
                continue
            self.writer.send(Status(state="warming", preset=preset.name))
            start = time.perf_counter()
            # An image-to-video model warms up on a plain grey photo: the same graphs as any photo of that size.
            image = neutral_image(preset) if self.loaded.takes_image else None
            try:
                generate(self.loaded, preset, WARMUP_PROMPT, seed=0, steps=WARMUP_STEPS, cfg_parallel=self.cfg_parallel,
                         image=image)
            except Exception:
                # A compiled graph that cannot build (no Triton toolchain, say) must not keep the GPU idle.
                if not (self.loaded.tuning.compiled and self.config.compile == "auto"):
                    raise
                logger.exception("warm-up with torch.compile failed; falling back to eager")
                fall_back_to_eager(self.loaded.pipe, self.loaded.tuning)
                generate(self.loaded, preset, WARMUP_PROMPT, seed=0, steps=WARMUP_STEPS, cfg_parallel=self.cfg_parallel,
                         image=image)
            warmup_seconds[preset.name] = round(time.perf_counter() - start, 3)
            warmed.add(preset.warmup_key)
        self._release_memory()
        return warmup_seconds

    # ---- serving ----

    def serve(self, stdin: BinaryIO) -> None:
        """Answer requests until shutdown or EOF; jobs run here, one at a time, in arrival order."""
        contract.compile_request_validators()
        reader = threading.Thread(target=self._read_requests, args=(stdin,), name="stdin-reader", daemon=True)
        reader.start()
        while (request := self._jobs.get()) is not None:
            self._run_job(request)
        if self.cfg_parallel is not None:
            self.cfg_parallel.close()

    def _read_requests(self, stdin: BinaryIO) -> None:
        # A thread of its own, so that cancel and stats are read while a job denoises.
        for line in stdin:
            if not line.strip():
                continue
            try:
                request = parse_request(line)
            except ProtocolError as error:
                self.writer.send(Error(job_id=error.job_id, kind="bad_input", message=str(error)))
                continue
            if isinstance(request, ShutdownRequest):
                break
            self._route(request)
        self._stop()  # shutdown, or EOF: the worker is gone

    def _route(self, request: GenerateRequest | CancelRequest | StatsRequest) -> None:
        if isinstance(request, StatsRequest):
            self.writer.send(self.stats())
        elif isinstance(request, CancelRequest):
            with self._lock:
                if self._current is not None and self._current.job_id == request.job_id:
                    self._cancel.set()
                    return
            logger.warning("cancel for job %s ignored: it is not running", request.job_id)
        else:
            with self._lock:
                busy_with = self._current.job_id if self._current is not None else None
                if busy_with is None:
                    self._current = request
                    self._cancel.clear()
                    self._jobs.put(request)
                    return
            message = f"engine is busy with job {busy_with}: one generate at a time"
            self.writer.send(Error(job_id=request.job_id, kind="bad_input", message=message))

    def _stop(self) -> None:
        with self._lock:
            self._cancel.set()  # a running job stops at its next step boundary (reported as cancelled)
        self._jobs.put(None)

    # ---- jobs ----

    def _run_job(self, request: GenerateRequest) -> None:
        outcome = self._execute(request)
        memory = self._release_memory(request.job_id)
        # Idle before the outcome goes out: a worker may send its next generate as soon as it reads a result.
        with self._lock:
            self._current = None
        self.writer.send(outcome)
        self.writer.send(memory)

    def _execute(self, request: GenerateRequest) -> Message:
        job_id = request.job_id
        start = time.perf_counter()
        # 1. Check the request against the presets and the model (a photo for an image-to-video model, none for a
        #    text-to-video one, of the preset's size): bad input is never retried
        try:
            preset = self.presets.get(request.preset)
            if not request.prompt.strip():
                raise ValueError("prompt: must not be empty")
            image = request_image(self.loaded.takes_image, preset, request.image)
        except ValueError as error:
            return Error(job_id=job_id, kind="bad_input", message=str(error))

        # 2. Generate, reporting every step
        try:
            with UtilizationSampler(self.monitor) as sampler:
                output = generate(
                    self.loaded,
                    preset,
                    request.prompt,
                    request.negative_prompt,
                    request.seed,
                    on_step=lambda step, steps: self.writer.send(Progress(job_id=job_id, step=step, steps=steps)),
                    should_cancel=self._cancel.is_set,
                    cfg_parallel=self.cfg_parallel,
                    on_decode=lambda: self.writer.send(
                        Progress(job_id=job_id, step=preset.steps, steps=preset.steps, stage="decoding")
                    ),
                    image=image,
                )
            # 3. Hand the frames over as raw rgb24
            frames_path = write_frames(Path(request.output_dir), output.frames.tobytes())
        except JobCancelled:
            return Cancelled(job_id=job_id)
        except OutOfMemory as error:
            return Error(job_id=job_id, kind="oom", message=str(error))
        except Exception as error:
            logger.exception("job %s failed", job_id)
            kind = "oom" if is_cuda_oom(error) else "internal"
            return Error(job_id=job_id, kind=kind, message=f"{type(error).__name__}: {error}")

        return Result(
            job_id=job_id,
            frames_path=str(frames_path),
            width=preset.width,
            height=preset.height,
            frames=preset.frames,
            fps=preset.fps,
            seconds={**output.seconds, "total": round(time.perf_counter() - start, 4)},
            step_seconds=output.step_seconds,
            peak_vram_bytes=output.peak_vram_bytes,
            gpu_util_mean=sampler.mean,
            gpu_name=self.loaded.gpu_name,
            seed=request.seed,
            steps=preset.steps,
            preset=preset.name,
            recompiles=self.recompiles,
        )

    def _release_memory(self, job_id: str = "") -> Memory:
        release_host_memory()  # the frames and CPU tensors of the job, back to the OS
        device = self.loaded.device
        if device.type != "cuda":
            return Memory(job_id=job_id, allocated_bytes=None, reserved_bytes=None, after_empty_cache=False)
        torch.cuda.empty_cache()
        return Memory(
            job_id=job_id,
            allocated_bytes=torch.cuda.memory_allocated(device),
            reserved_bytes=torch.cuda.memory_reserved(device),
            after_empty_cache=True,
        )

    def stats(self) -> Stats:
        device = self.loaded.device
        used = total = None
        if device.type == "cuda":
            free, total = torch.cuda.mem_get_info(device)
            used = total - free  # the whole device, other processes included: what an admin needs to see
        with self._lock:
            job_id = self._current.job_id if self._current is not None else None
        return Stats(
            device=str(device),
            gpu_name=self.loaded.gpu_name,
            vram_used_bytes=used,
            vram_total_bytes=total,
            gpu_util=self.monitor.utilization(),
            temperature_c=self.monitor.temperature_c(),
            power_w=self.monitor.power_w(),
            state="generating" if job_id is not None else "idle",
            job_id=job_id,
            recompiles=self.recompiles,
        )


def write_frames(output_dir: Path, data: bytes) -> Path:
    """Write frames.rgb whole or not at all: the worker must never encode a half-written file."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / FRAMES_FILE
    partial = path.with_name(FRAMES_FILE + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
    return path
