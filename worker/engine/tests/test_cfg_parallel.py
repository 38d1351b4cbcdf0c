"""CFG parallelism on CPU (gloo, two processes): the same frames and transformer output as one process, in lockstep."""

import json
import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from cogcast_engine.cfg_parallel import CfgParallel, split_guidance
from cogcast_engine.envs import EngineConfig
from cogcast_engine.generate import JobCancelled, generate
from cogcast_engine.pipeline_loader import load_pipeline
from cogcast_engine.presets import Preset, load_presets

from engine_process import EngineProcess, tiny_settings

FIXTURE = Path(os.environ.get("COGCAST_TINY_MODEL", Path(__file__).resolve().parents[3] / "var/fixtures/tiny-cogvideox"))
PROMPT, SEED = "a red fox runs through the snow", 5
# float32 on CPU: one half-batch GEMM differs from the full batch's only in rounding (measured ~1e-7 here)
FORWARD_MAX_ABS_DIFF = 1e-5
# ...which may tip a few uint8 frame values by one level, no more
FRAMES_MAX_ABS_DIFF = 1
FRAMES_MEAN_ABS_DIFF = 0.01


@pytest.fixture(scope="module")
def model_dir(request) -> Path:
    if (FIXTURE / "model_index.json").exists():
        return FIXTURE
    return request.getfixturevalue("tiny_model_dir")


@pytest.fixture(scope="module")
def reference_frames(model_dir, tiny_presets_file) -> np.ndarray:
    """The single-process engine's frames for PROMPT and SEED."""
    loaded = load_pipeline(EngineConfig.from_settings(tiny_settings(model_dir)))
    return generate(loaded, load_presets(tiny_presets_file).get("tiny"), PROMPT, seed=SEED).frames


@pytest.fixture(scope="module")
def engine(model_dir, tiny_presets_file):
    process = EngineProcess(model_dir, tiny_presets_file, cfg_parallel=True, warmup=False)
    yield process
    process.close()


def read_frames(result: dict) -> np.ndarray:
    shape = (result["frames"], result["height"], result["width"], 3)
    return np.fromfile(result["frames_path"], np.uint8).reshape(shape)


def children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def is_gone(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" in status.read_text()


# ---- when a failure leaves the ranks out of step ----


@pytest.mark.parametrize(
    "asks, error, abandoned",
    [
        (1, RuntimeError("OOM in the transformer"), True),  # mid-denoise: the other rank waits in a collective
        (3, RuntimeError("OOM in vae_decode"), False),  # pre-check + 2 steps agreed: only decoding was left
        (1, JobCancelled(), False),  # a cancel is agreed by both ranks: they stay in step
    ],
)
def test_a_failure_mid_denoise_abandons_the_group_and_one_after_it_does_not(monkeypatch, asks, error, abandoned):
    group = CfgParallel(rank=1, device=torch.device("cpu"))
    monkeypatch.setattr(group, "agree", lambda flag: flag)
    calls = []
    monkeypatch.setattr(group, "abandon", lambda: calls.append("abandon"))
    preset = Preset(name="tiny", width=64, height=32, frames=9, fps=8, steps=2, guidance=6.0)
    with pytest.raises(type(error)):
        with group.job(preset, "a fox", "", 1, None, should_cancel=None) as job:
            for _ in range(asks):
                assert job.should_cancel() is False
            raise error
    assert calls == (["abandon"] if abandoned else [])


# ---- the transformer forward, two ranks spawned here ----


def forward_inputs() -> dict:
    """A CFG batch the way CogVideoXPipeline builds it: [unconditional, conditional], for the tiny transformer."""
    generator = torch.Generator().manual_seed(0)
    return {
        "hidden_states": torch.randn(2, 3, 4, 4, 8, generator=generator),
        "encoder_hidden_states": torch.randn(2, 16, 32, generator=generator),
        "timestep": torch.tensor([500, 500]),
        "return_dict": False,
    }


def rank_forward(rank: int, port: int, model_dir: str, out_dir: str) -> None:
    from diffusers import CogVideoXTransformer3DModel

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    transformer = CogVideoXTransformer3DModel.from_pretrained(model_dir, subfolder="transformer").eval()
    split_guidance(transformer, rank)
    with torch.no_grad():
        output = transformer(**forward_inputs())[0]
    torch.save(output, Path(out_dir) / f"rank{rank}.pt")
    dist.destroy_process_group()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_split_transformer_forward_matches_the_whole_batch(model_dir, tmp_path):
    mp.spawn(rank_forward, args=(free_port(), str(model_dir), str(tmp_path)), nprocs=2, join=True)
    from diffusers import CogVideoXTransformer3DModel

    transformer = CogVideoXTransformer3DModel.from_pretrained(model_dir, subfolder="transformer").eval()
    with torch.no_grad():
        whole = transformer(**forward_inputs())[0]
    for rank in (0, 1):
        gathered = torch.load(tmp_path / f"rank{rank}.pt")
        assert gathered.shape == whole.shape == (2, 3, 4, 4, 8)
        assert (gathered - whole).abs().max().item() <= FORWARD_MAX_ABS_DIFF, f"rank {rank}"
    # Each rank really computed only its half: its own half matches, and the halves are not interchangeable.
    assert (whole[0] - whole[1]).abs().max().item() > 100 * FORWARD_MAX_ABS_DIFF


def rank_join(rank: int, port: int, out_dir: str) -> None:
    from types import SimpleNamespace

    from cogcast_engine.cfg_parallel import CfgParallel
    from cogcast_engine.tuning import TuningReport

    store = dist.TCPStore("127.0.0.1", port, 2, is_master=rank == 0, timeout=timedelta(seconds=60))
    # Each rank timed the attention candidates on its own GPU and, say, came to a different answer.
    loaded = SimpleNamespace(pipe=SimpleNamespace(transformer=torch.nn.Linear(2, 2)),
                             tuning=TuningReport(attention_backend=("cudnn", "efficient")[rank]))
    group = CfgParallel(rank, torch.device("cpu"), store=store)
    group.join(loaded)
    (Path(out_dir) / f"rank{rank}.json").write_text(json.dumps([loaded.tuning.attention_backend, loaded.tuning.notes]))
    dist.destroy_process_group()


def test_both_ranks_use_the_leaders_attention_kernel(tmp_path):
    mp.spawn(rank_join, args=(free_port(), str(tmp_path)), nprocs=2, join=True)
    for rank in (0, 1):
        backend, notes = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert backend == "cudnn", f"rank {rank} uses {backend}"
        assert any("attention cudnn on both" in note for note in notes)


# ---- the engine, rank 0 on the protocol and rank 1 its child ----


def test_cfg_parallel_engine_makes_the_single_process_frames(engine, reference_frames, tmp_path):
    ready = engine.until("ready", timeout=120)[-1]
    assert any("cfg-parallel" in note for note in ready["tuning"]["notes"])
    assert len(children_of(engine.process.pid)) == 1, "rank 1 runs as the engine's child"

    engine.generate("cfg-1", tmp_path / "cfg-1", prompt=PROMPT, seed=SEED)
    messages = engine.until("result")
    assert [m["step"] for m in messages if m["type"] == "progress" and m["stage"] == "denoising"] == [1, 2]
    frames = read_frames(messages[-1])
    assert frames.shape == reference_frames.shape == (9, 32, 64, 3)
    diff = np.abs(frames.astype(np.int16) - reference_frames.astype(np.int16))
    assert diff.max() <= FRAMES_MAX_ABS_DIFF and diff.mean() <= FRAMES_MEAN_ABS_DIFF, (diff.max(), diff.mean())
    assert engine.next()["type"] == "memory"


def test_cancel_stops_both_ranks_together_and_the_next_job_still_matches(engine, reference_frames, tmp_path):
    engine.generate("slow", tmp_path / "slow", preset="tiny-slow", prompt="a storm at sea", seed=1)
    engine.until("progress")
    engine.send(type="cancel", job_id="slow")
    assert engine.until("cancelled")[-1]["job_id"] == "slow"
    assert engine.next()["type"] == "memory"
    # Out of step after the cancel, the ranks would hang or mix two jobs' halves; in step, the frames are the same.
    engine.generate("after", tmp_path / "after", prompt=PROMPT, seed=SEED)
    frames = read_frames(engine.until("result")[-1])
    assert np.abs(frames.astype(np.int16) - reference_frames.astype(np.int16)).max() <= FRAMES_MAX_ABS_DIFF


def test_shutdown_stops_rank_1_too(model_dir, tiny_presets_file):
    process = EngineProcess(model_dir, tiny_presets_file, cfg_parallel=True, warmup=False)
    try:
        process.until("ready", timeout=120)
        (follower,) = children_of(process.process.pid)
        # rank 1 dies: one half cannot serve, so the engine exits and the worker restarts it
        os.kill(follower, signal.SIGKILL)
        assert process.wait(timeout=30) == 1
        assert "CFG-parallel rank 1 exited" in process.stderr_text()
    finally:
        process.close()


def test_shutdown_request_ends_both_ranks(engine):
    (follower,) = children_of(engine.process.pid)
    engine.send(type="shutdown")
    assert engine.wait(timeout=30) == 0
    deadline = time.monotonic() + 10
    while not is_gone(follower) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert is_gone(follower)


# ---- an image-to-video model: rank 1 denoises from the same photo ----


def test_the_photo_travels_to_rank_1_whole():
    from PIL import Image

    from cogcast_engine.cfg_parallel import image_from_json, image_to_json

    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 64, 3), dtype=np.uint8), "RGB")
    sent = json.loads(json.dumps(image_to_json(image)))  # as the call line carries it
    assert np.array_equal(np.asarray(image_from_json(sent)), np.asarray(image))
    assert image_to_json(None) is None and image_from_json(None) is None


def test_cfg_parallel_image_to_video_makes_the_single_process_frames(tiny_i2v_model_dir, tiny_presets_file, tmp_path):
    from PIL import Image

    photo = Image.fromarray(np.random.default_rng(3).integers(0, 256, (32, 64, 3), dtype=np.uint8), "RGB")
    photo.save(tmp_path / "photo.png")
    loaded = load_pipeline(EngineConfig.from_settings(tiny_settings(tiny_i2v_model_dir, kind="i2v")))
    reference = generate(loaded, load_presets(tiny_presets_file).get("tiny"), PROMPT, seed=SEED, image=photo).frames

    # warm-up on: both ranks animate the grey photo first (it has no file: the pixels go to rank 1)
    process = EngineProcess(tiny_i2v_model_dir, tiny_presets_file, kind="i2v", cfg_parallel=True, warmup=True)
    try:
        assert list(process.until("ready", timeout=120)[-1]["warmup_seconds"]) == ["tiny"]
        process.generate("i2v", tmp_path / "i2v", prompt=PROMPT, seed=SEED, image=tmp_path / "photo.png")
        frames = read_frames(process.until("result")[-1])
        diff = np.abs(frames.astype(np.int16) - reference.astype(np.int16))
        assert diff.max() <= FRAMES_MAX_ABS_DIFF and diff.mean() <= FRAMES_MEAN_ABS_DIFF, (diff.max(), diff.mean())
    finally:
        process.close()
