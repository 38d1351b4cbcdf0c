"""Shared fixtures: the tiny random CogVideoX pipeline (built once per session) and the tiny presets file."""

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
