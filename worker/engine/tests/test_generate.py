"""generate() in-process on the tiny pipeline: stage timings, cancel between steps, CUDA OOM handling."""

import numpy as np
import pytest
import torch

from cogcast_engine.envs import EngineConfig
from cogcast_engine.generate import JobCancelled, OutOfMemory, generate
from cogcast_engine.pipeline_loader import load_pipeline
from cogcast_engine.presets import load_presets
from engine_process import tiny_settings

FAKE_OOM = "CUDA out of memory. Tried to allocate 20.00 GiB"


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    config = EngineConfig.from_settings(tiny_settings(tiny_model_dir))
    return load_pipeline(config)


@pytest.fixture(scope="module")
def presets(tiny_presets_file):
    return load_presets(tiny_presets_file)


def test_loads_on_cpu_in_float32_eager(loaded):
    assert (str(loaded.device), loaded.dtype_name, loaded.memory_profile) == ("cpu", "float32", "resident")
    assert loaded.tuning.compiled is False
    assert loaded.gpu_name is None


def test_generate_returns_uint8_frames_and_stage_seconds(loaded, presets):
    steps_seen = []
    output = generate(loaded, presets.get("tiny"), "a red fox", seed=3, on_step=lambda i, n: steps_seen.append((i, n)))
    assert output.frames.shape == (9, 32, 64, 3) and output.frames.dtype == np.uint8
    assert set(output.seconds) == {"text_encode", "denoise", "vae_decode"}
    assert steps_seen == [(1, 2), (2, 2)]
    assert len(output.step_seconds) == 2 and sum(output.step_seconds) <= output.seconds["denoise"]
    assert output.peak_vram_bytes is None


def test_cancel_stops_between_steps(loaded, presets):
    steps_seen = []
    with pytest.raises(JobCancelled):
        generate(
            loaded,
            presets.get("tiny-slow"),
            "a red fox",
            on_step=lambda i, n: steps_seen.append(i),
            should_cancel=lambda: len(steps_seen) >= 3,
        )
    assert steps_seen == [1, 2, 3]


@pytest.mark.parametrize("argument, kwargs", [("prompt", {"prompt": "  "}), ("seed", {"seed": -1}), ("steps", {"steps": 0})])
def test_check_inputs_names_the_argument(loaded, presets, argument, kwargs):
    call = {"prompt": "a fox", "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=f"^{argument}:"):
        generate(loaded, presets.get("tiny"), call.pop("prompt"), **call)


def test_vae_decode_oom_retries_once_with_tiling(loaded, presets, monkeypatch):
    vae = loaded.pipe.vae
    real_decode = vae.decode
    calls = []

    def decode_that_needs_tiling(*args, **kwargs):
        calls.append((vae.use_tiling, vae.use_slicing))
        if not vae.use_tiling:
            raise torch.cuda.OutOfMemoryError(FAKE_OOM)
        return real_decode(*args, **kwargs)

    monkeypatch.setattr(vae, "decode", decode_that_needs_tiling)
    output = generate(loaded, presets.get("tiny"), "a red fox", seed=1)
    assert output.frames.shape == (9, 32, 64, 3)
    assert calls == [(False, False), (True, True)]
    assert (vae.use_tiling, vae.use_slicing) == (False, False), "tiling must be restored for the next job"


def test_vae_decode_oom_even_with_tiling_is_oom(loaded, presets, monkeypatch):
    def always_oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError(FAKE_OOM)

    monkeypatch.setattr(loaded.pipe.vae, "decode", always_oom)
    with pytest.raises(OutOfMemory, match=r"vae_decode \(even with tiling\)") as caught:
        generate(loaded, presets.get("tiny"), "a red fox")
    assert caught.value.stage == "vae_decode"


def test_denoise_oom_names_the_stage(loaded, presets, monkeypatch):
    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError(FAKE_OOM)

    monkeypatch.setattr(loaded.pipe.transformer, "forward", oom)
    with pytest.raises(OutOfMemory, match="CUDA out of memory in denoise") as caught:
        generate(loaded, presets.get("tiny"), "a red fox")
    assert caught.value.stage == "denoise"


def test_a_step_cache_is_on_for_its_job_only(loaded, presets):
    """A cached preset runs (and differs from the uncached one); the hooks are gone after the job."""
    import dataclasses

    from cogcast_engine.presets import StepCache

    tiny = dataclasses.replace(presets.get("tiny-slow"), steps=8)
    cached = dataclasses.replace(tiny, name="tiny-cached", cache=StepCache("taylorseer", interval=2))
    plain = generate(loaded, tiny, "a red fox", seed=5)
    fast = generate(loaded, cached, "a red fox", seed=5)
    assert fast.frames.shape == plain.frames.shape
    assert not np.array_equal(fast.frames, plain.frames), "steps were extrapolated, not computed"
    assert not loaded.pipe.transformer.is_cache_enabled
    again = generate(loaded, tiny, "a red fox", seed=5)
    assert np.array_equal(again.frames, plain.frames), "no cache state leaks into the next job"
