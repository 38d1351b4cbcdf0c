"""CUDA-only behaviour: VRAM accounting, empty_cache after jobs, the lowvram profile and the compiled path."""

import pytest
import torch

from engine_process import EngineProcess

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def run_job(engine: EngineProcess, job_id: str, output_dir, **kwargs) -> list[dict]:
    engine.generate(job_id, output_dir, **kwargs)
    return engine.until("memory", timeout=300)


@pytest.mark.parametrize("compile_mode", ["0", "1"])
def test_cuda_engine_reports_vram_and_empties_cache(tiny_model_dir, tiny_presets_file, tmp_path, compile_mode):
    engine = EngineProcess(tiny_model_dir, tiny_presets_file, device="cuda", compile=compile_mode)
    try:
        ready = engine.until("ready", timeout=600)[-1]
        assert ready["device"].startswith("cuda:") and ready["gpu_name"]
        assert (ready["dtype"], ready["memory_profile"]) == ("float16", "resident")
        assert ready["compiled"] is (compile_mode == "1")

        messages = run_job(engine, "gpu-1", tmp_path / "gpu-1")
        result, memory = messages[-2], messages[-1]
        assert result["type"] == "result", result
        assert result["peak_vram_bytes"] > 0 and result["gpu_name"] == ready["gpu_name"]
        assert memory["after_empty_cache"] is True and memory["allocated_bytes"] >= 0
        assert memory["reserved_bytes"] >= memory["allocated_bytes"]

        again = run_job(engine, "gpu-2", tmp_path / "gpu-2")[-2]
        first_frames = (tmp_path / "gpu-1" / "frames.rgb").read_bytes()
        assert (tmp_path / "gpu-2" / "frames.rgb").read_bytes() == first_frames, "same seed, same frames on GPU"
        assert len(again["step_seconds"]) == 2

        engine.send(type="stats")
        stats = engine.next()
        assert stats["vram_total_bytes"] > stats["vram_used_bytes"] > 0
        assert stats["state"] == "idle"
    finally:
        engine.close()


def test_lowvram_keeps_text_encoder_on_cpu_and_tiles_the_vae(tiny_model_dir, tiny_presets_file):
    from cogcast_engine.envs import EngineConfig
    from cogcast_engine.generate import generate
    from cogcast_engine.pipeline_loader import load_pipeline
    from cogcast_engine.presets import load_presets

    from engine_process import tiny_settings

    config = EngineConfig.from_settings(
        tiny_settings(tiny_model_dir, tiny_presets_file, device="cuda", memory_profile="lowvram", compile="0")
    )
    loaded = load_pipeline(config)
    assert loaded.pipe.text_encoder.device.type == "cpu"
    assert loaded.pipe.transformer.device.type == "cuda"
    assert loaded.pipe.vae.use_tiling and loaded.pipe.vae.use_slicing

    output = generate(loaded, load_presets(tiny_presets_file).get("tiny"), "a red fox", seed=1)
    assert output.frames.shape == (9, 32, 64, 3)
    assert loaded.pipe.text_encoder.device.type == "cpu", "T5 goes back to the CPU after encoding"
