"""Shared fixtures: the tiny random CogVideoX pipelines, text- and image-to-video (built once per session), and the
tiny presets file."""

import sys
from pathlib import Path

import pytest

ENGINE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = ENGINE_DIR.parents[1]
sys.path.insert(0, str(ENGINE_DIR))  # make_tiny_pipeline and cogcast_engine, whatever the cwd


@pytest.fixture(scope="session")
def tiny_presets_file() -> Path:
    return REPO_ROOT / "test" / "fixtures" / "presets.tiny.json"


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    import make_tiny_pipeline

    out_dir = tmp_path_factory.mktemp("tiny-cogvideox")
    make_tiny_pipeline.build(out_dir)
    return out_dir


@pytest.fixture(scope="session")
def tiny_i2v_model_dir(tmp_path_factory) -> Path:
    """The image-to-video kind (CogVideoX-5b-I2V's layout, make_tiny_pipeline.py --kind i2v)."""
    import make_tiny_pipeline

    out_dir = tmp_path_factory.mktemp("tiny-cogvideox-i2v")
    make_tiny_pipeline.build(out_dir, kind="i2v")
    return out_dir
