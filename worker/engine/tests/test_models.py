"""The engine runs the model its settings name: the pipeline class its model_index.json gives (refused when it is
not the expected one), its native dtype, and for an image-to-video model the photo every job brings."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import CogVideoXImageToVideoPipeline, CogVideoXPipeline
from PIL import Image

import make_tiny_pipeline
from cogcast_engine.envs import EngineConfig
from cogcast_engine.generate import generate, load_image, neutral_image, request_image
from cogcast_engine.pipeline_loader import load_pipeline, pipeline_class, resolve_dtype
from cogcast_engine.presets import load_presets
from engine_process import EngineProcess, tiny_settings

FRAME_BYTES = 9 * 32 * 64 * 3  # the tiny presets: 9 frames of 64x32 rgb24


def photo(seed: int, size: tuple[int, int] = (64, 32)) -> Image.Image:
    """A random RGB photo (the tiny presets are 64x32)."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(pixels, "RGB")


def save(image: Image.Image, path: Path) -> Path:
    image.save(path, format="PNG")
    return path


@pytest.fixture(scope="module")
def presets(tiny_presets_file):
    return load_presets(tiny_presets_file)


@pytest.fixture(scope="module")
def i2v(tiny_i2v_model_dir):
    return load_pipeline(EngineConfig.from_settings(tiny_settings(tiny_i2v_model_dir, kind="i2v")))


# ---- which pipeline, which dtype ----


def test_the_class_is_picked_from_model_index_json(tiny_model_dir, tiny_i2v_model_dir, i2v):
    t2v_config = EngineConfig.from_settings(tiny_settings(tiny_model_dir))
    i2v_config = EngineConfig.from_settings(tiny_settings(tiny_i2v_model_dir, kind="i2v"))
    assert pipeline_class(t2v_config) is CogVideoXPipeline
    assert pipeline_class(i2v_config) is CogVideoXImageToVideoPipeline
    assert type(i2v.pipe) is CogVideoXImageToVideoPipeline and i2v.takes_image
    assert i2v.pipe.transformer.config.in_channels == 2 * i2v.pipe.vae.config.latent_channels


def test_a_model_of_another_class_than_the_settings_expect_is_refused(tiny_model_dir, tiny_i2v_model_dir):
    wrong = EngineConfig.from_settings(tiny_settings(tiny_i2v_model_dir))  # the t2v settings on the i2v directory
    with pytest.raises(ValueError) as caught:
        pipeline_class(wrong)
    message = str(caught.value)
    assert message.startswith("settings.model: ")
    assert str(tiny_i2v_model_dir) in message
    assert "holds a CogVideoXImageToVideoPipeline" in message and "expects CogVideoXPipeline" in message


def test_a_pipeline_class_the_engine_does_not_run_is_refused(tiny_model_dir, tmp_path):
    other = tmp_path / "other-model"
    shutil.copytree(tiny_model_dir, other)
    index = json.loads((other / "model_index.json").read_text())
    (other / "model_index.json").write_text(json.dumps({**index, "_class_name": "CogVideoXVideoToVideoPipeline"}))
    with pytest.raises(ValueError, match=r"holds a CogVideoXVideoToVideoPipeline .*expects CogVideoXPipeline"):
        load_pipeline(EngineConfig.from_settings(tiny_settings(other)))


def test_the_wrong_model_fails_start_up_with_that_sentence(tiny_i2v_model_dir, tiny_presets_file):
    engine = EngineProcess(tiny_i2v_model_dir, tiny_presets_file, kind="t2v")
    try:
        messages = engine.until("error", timeout=60)
        assert [m["type"] for m in messages] == ["status", "error"]  # loading, then the refusal
        error = messages[-1]
        assert (error["job_id"], error["kind"]) == (None, "internal")
        assert "holds a CogVideoXImageToVideoPipeline" in error["message"]
        assert "expects CogVideoXPipeline" in error["message"]
        assert engine.wait() == 1
    finally:
        engine.close()


def test_dtype_auto_is_the_models_native_dtype_on_cuda_and_float32_on_cpu():
    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    assert resolve_dtype("auto", cuda, "bfloat16") == torch.bfloat16
    assert resolve_dtype("auto", cuda, "float16") == torch.float16
    assert resolve_dtype("auto", cpu, "bfloat16") == torch.float32
    assert resolve_dtype("float16", cuda, "bfloat16") == torch.float16  # an explicit dtype wins


def test_the_tiny_kinds_read_as_their_catalogue_models(tiny_model_dir, tiny_i2v_model_dir):
    """What config/models.ts identifyModel reads: the class, and patch_size_t (null for 1.0 models)."""
    assert make_tiny_pipeline.built_kind(tiny_model_dir) == "t2v"
    assert make_tiny_pipeline.built_kind(tiny_i2v_model_dir) == "i2v"
    transformer = json.loads((tiny_i2v_model_dir / "transformer" / "config.json").read_text())
    assert transformer["patch_size_t"] is None
    assert make_tiny_pipeline.build(tiny_i2v_model_dir, kind="i2v") is False, "the same kind is not rebuilt"


# ---- the photo ----


def test_an_image_to_video_job_needs_an_image(i2v, presets):
    with pytest.raises(ValueError, match="^image: this model animates a photo: the request brings no image"):
        generate(i2v, presets.get("tiny"), "a red fox")
    with pytest.raises(ValueError, match="^image: this model animates a photo"):
        request_image(True, presets.get("tiny"), None)


def test_a_text_to_video_model_refuses_an_image(tiny_model_dir, presets, tmp_path):
    t2v = load_pipeline(EngineConfig.from_settings(tiny_settings(tiny_model_dir)))
    with pytest.raises(ValueError, match="^image: this model makes videos from text alone"):
        generate(t2v, presets.get("tiny"), "a red fox", image=photo(1))
    # refused before the file is read: it need not even exist
    with pytest.raises(ValueError, match="^image: this model makes videos from text alone"):
        request_image(False, presets.get("tiny"), str(tmp_path / "never-read.png"))


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda d: save(photo(1, (32, 64)), d / "tall.png"), r"^image: .*tall\.png is 32x64, preset tiny wants 64x32"),
        (lambda d: d / "missing.png", r"^image: cannot read .*missing\.png"),
        (lambda d: (d / "text.png").write_text("not a picture") and d / "text.png", r"^image: cannot read .*text\.png"),
        (lambda d: Path("relative.png"), r"^image: must be an absolute path"),
    ],
    ids=["wrong-size", "missing", "not-an-image", "relative"],
)
def test_a_bad_image_file_is_bad_input(presets, tmp_path, make, expected):
    with pytest.raises(ValueError, match=expected):
        request_image(True, presets.get("tiny"), str(make(tmp_path)))


def test_a_wrong_size_image_object_is_refused_too(i2v, presets):
    with pytest.raises(ValueError, match="^image: 96x32, preset tiny wants 64x32"):
        generate(i2v, presets.get("tiny"), "a red fox", image=photo(1, (96, 32)))


def test_an_image_file_loads_as_rgb_of_the_presets_size(presets, tmp_path):
    grey_alpha = Image.new("LA", (64, 32), (90, 255))
    image = load_image(str(save(grey_alpha, tmp_path / "la.png")), presets.get("tiny"))
    assert (image.mode, image.size) == ("RGB", (64, 32))


def test_the_frames_depend_on_the_image(i2v, presets):
    tiny = presets.get("tiny")
    first = generate(i2v, tiny, "a red fox", seed=3, image=photo(1))
    again = generate(i2v, tiny, "a red fox", seed=3, image=photo(1))
    other = generate(i2v, tiny, "a red fox", seed=3, image=photo(2))
    assert first.frames.shape == (9, 32, 64, 3) and first.frames.dtype == np.uint8
    assert np.array_equal(first.frames, again.frames), "same photo, seed and prompt: same frames"
    assert not np.array_equal(first.frames, other.frames), "another photo: other frames"


def test_image_to_video_keeps_progress_and_cancel(i2v, presets):
    from cogcast_engine.generate import JobCancelled

    steps_seen = []
    with pytest.raises(JobCancelled):
        generate(i2v, presets.get("tiny-slow"), "a red fox", image=neutral_image(presets.get("tiny-slow")),
                 on_step=lambda i, n: steps_seen.append(i), should_cancel=lambda: len(steps_seen) >= 2)
    assert steps_seen == [1, 2]


# ---- the engine process of an image-to-video model ----


@pytest.fixture(scope="module")
def i2v_engine(tiny_i2v_model_dir, tiny_presets_file):
    process = EngineProcess(tiny_i2v_model_dir, tiny_presets_file, kind="i2v", warmup=True)
    process.ready = process.until("ready", timeout=120)[-1]
    yield process
    process.close()


def run_job(engine: EngineProcess, job_id: str, output_dir: Path, **kwargs) -> list[dict]:
    engine.generate(job_id, output_dir, **kwargs)
    return engine.until("memory")


def test_an_image_to_video_engine_warms_up_and_is_ready(i2v_engine):
    ready = i2v_engine.ready
    assert list(ready["warmup_seconds"]) == ["tiny"]
    assert (ready["device"], ready["dtype"]) == ("cpu", "float32")


def test_the_engine_animates_the_requests_image(i2v_engine, tmp_path):
    image = save(photo(5), tmp_path / "photo.png")
    messages = run_job(i2v_engine, "animate", tmp_path / "animate", image=image)
    assert [m["type"] for m in messages] == ["progress", "progress", "progress", "result", "memory"]
    assert Path(messages[3]["frames_path"]).stat().st_size == FRAME_BYTES


@pytest.mark.parametrize(
    "image, expected",
    [(None, "image: this model animates a photo: the request brings no image"),
     ("missing.png", "image: cannot read"),
     ("tall.png", "is 32x64, preset tiny wants 64x32")],
    ids=["no-image", "missing", "wrong-size"],
)
def test_the_engine_answers_a_bad_image_with_bad_input_and_keeps_serving(i2v_engine, tmp_path, image, expected):
    save(photo(1, (32, 64)), tmp_path / "tall.png")
    path = None if image is None else tmp_path / image
    messages = run_job(i2v_engine, "bad-image", tmp_path / "bad", image=path)
    error = messages[0]
    assert (error["type"], error["job_id"], error["kind"]) == ("error", "bad-image", "bad_input")
    assert expected in error["message"]
    assert [m["type"] for m in messages] == ["error", "memory"]
    good = save(photo(6), tmp_path / "good.png")
    assert run_job(i2v_engine, "after-bad-image", tmp_path / "ok", image=good)[-2]["type"] == "result"
