"""The engine process speaks PROTOCOL.md: one engine (tiny pipeline, CPU) serves every test in this module."""

from pathlib import Path

import pytest

from engine_process import EngineProcess

FRAME_BYTES = 9 * 32 * 64 * 3  # the tiny presets: 9 frames of 64x32 rgb24


@pytest.fixture(scope="module")
def engine(tiny_model_dir, tiny_presets_file):
    process = EngineProcess(tiny_model_dir, tiny_presets_file, warmup=True)
    process.ready = process.until("ready", timeout=120)[-1]
    yield process
    process.close()


def run_job(engine: EngineProcess, job_id: str, output_dir: Path, **kwargs) -> list[dict]:
    """Every message of one job, through its closing `memory`."""
    engine.generate(job_id, output_dir, **kwargs)
    messages = engine.until("memory")
    assert all(message.get("job_id") == job_id for message in messages)
    return messages


def test_ready_describes_device_presets_and_warmup(engine):
    ready = engine.ready
    assert (ready["device"], ready["gpu_name"], ready["dtype"]) == ("cpu", None, "float32")
    assert ready["presets"] == ["tiny", "tiny-slow"]
    # tiny-slow has tiny's shape, so only tiny is warmed
    assert list(ready["warmup_seconds"]) == ["tiny"]
    assert ready["load_seconds"] > 0 and ready["compiled"] is False
    assert ready["tuning"]["notes"] == ["eager on cpu"] and ready["tuning"]["attention"] == "default"


def test_generate_streams_progress_then_result_with_rgb24_frames(engine, tmp_path):
    messages = run_job(engine, "job-1", tmp_path / "job-1")
    types = [message["type"] for message in messages]
    assert types == ["progress", "progress", "progress", "result", "memory"]
    # each denoising step, then `decoding` (the last step is done, the VAE decodes) before the result
    assert [(m["stage"], m["step"], m["steps"]) for m in messages[:3]] == [
        ("denoising", 1, 2), ("denoising", 2, 2), ("decoding", 2, 2)]

    result = messages[3]
    assert Path(result["frames_path"]).stat().st_size == FRAME_BYTES
    assert (result["width"], result["height"], result["frames"], result["fps"]) == (64, 32, 9, 8)
    seconds = result["seconds"]
    assert seconds["text_encode"] + seconds["denoise"] + seconds["vae_decode"] <= seconds["total"]
    assert len(result["step_seconds"]) == 2
    assert (result["seed"], result["steps"], result["peak_vram_bytes"], result["gpu_util_mean"]) == (1, 2, None, None)
    assert result["recompiles"] == 0
    assert messages[4] == {"type": "memory", "job_id": "job-1", "allocated_bytes": None, "reserved_bytes": None,
                           "after_empty_cache": False}


def test_same_seed_same_frames_different_seed_different(engine, tmp_path):
    def frames(job_id: str, seed: int) -> bytes:
        result = run_job(engine, job_id, tmp_path / job_id, seed=seed)[-2]
        return Path(result["frames_path"]).read_bytes()

    first, again, other = frames("seed-a", 7), frames("seed-b", 7), frames("seed-c", 8)
    assert first == again
    assert first != other


def test_unknown_preset_is_bad_input_and_engine_keeps_serving(engine, tmp_path):
    messages = run_job(engine, "bad-preset", tmp_path / "bad", preset="huge")
    error = messages[0]
    assert (error["type"], error["job_id"], error["kind"]) == ("error", "bad-preset", "bad_input")
    assert "huge" in error["message"]
    assert run_job(engine, "after-bad-preset", tmp_path / "ok")[-2]["type"] == "result"


def test_empty_prompt_is_bad_input(engine, tmp_path):
    error = run_job(engine, "empty-prompt", tmp_path / "empty", prompt="   ")[0]
    assert (error["type"], error["kind"]) == ("error", "bad_input")
    assert "prompt" in error["message"]


def test_an_image_is_bad_input_for_a_text_model(engine, tmp_path):
    from PIL import Image

    image = tmp_path / "photo.png"
    Image.new("RGB", (64, 32), (10, 20, 30)).save(image)
    error = run_job(engine, "with-image", tmp_path / "with-image", image=image)[0]
    assert (error["type"], error["job_id"], error["kind"]) == ("error", "with-image", "bad_input")
    assert error["message"] == "image: this model makes videos from text alone: the request brings an image"


def test_malformed_line_is_error_with_null_job_id(engine, tmp_path):
    engine.send_line("this is not json")
    error = engine.next()
    assert (error["type"], error["job_id"], error["kind"]) == ("error", None, "bad_input")
    assert run_job(engine, "after-malformed", tmp_path / "ok")[-2]["type"] == "result"


def test_cancel_mid_job_then_next_job_works(engine, tmp_path):
    engine.generate("slow", tmp_path / "slow", preset="tiny-slow")
    first = engine.next()
    assert (first["type"], first["step"], first["steps"]) == ("progress", 1, 12)
    engine.send(type="cancel", job_id="slow")
    messages = engine.until("memory")
    assert [m["type"] for m in messages[-2:]] == ["cancelled", "memory"]
    assert all(m["type"] == "progress" for m in messages[:-2])
    steps_run = 1 + len(messages) - 2  # the first progress, then those before cancelled/memory
    assert steps_run < 12, "cancel must stop the job before its last step"
    assert not (tmp_path / "slow" / "frames.rgb").exists()
    assert run_job(engine, "after-cancel", tmp_path / "next")[-2]["type"] == "result"


def test_busy_engine_answers_stats_and_refuses_a_second_generate(engine, tmp_path):
    engine.generate("long", tmp_path / "long", preset="tiny-slow")
    assert engine.next()["type"] == "progress"
    engine.send(type="stats")
    engine.generate("second", tmp_path / "second")
    messages = engine.until("memory")
    stats = next(m for m in messages if m["type"] == "stats")
    assert (stats["state"], stats["job_id"], stats["device"], stats["vram_used_bytes"]) == ("generating", "long", "cpu", None)
    refusal = next(m for m in messages if m.get("job_id") == "second")
    assert (refusal["type"], refusal["kind"]) == ("error", "bad_input")
    assert [m["type"] for m in messages if m.get("job_id") == "long"][-2:] == ["result", "memory"]


def test_idle_stats(engine):
    engine.send(type="stats")
    stats = engine.next()
    assert stats == {"type": "stats", "device": "cpu", "gpu_name": None, "vram_used_bytes": None,
                     "vram_total_bytes": None, "gpu_util": None, "temperature_c": None, "power_w": None,
                     "state": "idle", "job_id": None, "recompiles": 0}
