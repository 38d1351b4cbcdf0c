"""Start-up failures, shutdown and EOF: the worker supervises the engine by its exit status."""

import pytest

from engine_process import EngineProcess


def test_shutdown_mid_job_cancels_it_and_exits_zero(tiny_model_dir, tiny_presets_file, tmp_path):
    engine = EngineProcess(tiny_model_dir, tiny_presets_file, warmup=False)
    try:
        ready = engine.until("ready", timeout=120)[-1]
        assert ready["warmup_seconds"] == {}
        engine.generate("doomed", tmp_path / "doomed", preset="tiny-slow")
        assert engine.next()["type"] == "progress"
        engine.send(type="shutdown")
        messages = engine.until("memory")
        assert [m["type"] for m in messages[-2:]] == ["cancelled", "memory"]
        assert engine.wait() == 0
    finally:
        engine.close()


def test_eof_on_stdin_exits_zero(tiny_model_dir, tiny_presets_file):
    engine = EngineProcess(tiny_model_dir, tiny_presets_file, warmup=False)
    try:
        engine.until("ready", timeout=120)
        engine.process.stdin.close()
        assert engine.wait() == 0
    finally:
        engine.close()


@pytest.mark.parametrize(
    "overrides, expected",
    [({"dtype": "fp8"}, "settings.dtype"), ({"presets": {"default": "a", "presets": {}}}, "settings.presets.presets")],
)
def test_bad_configuration_fails_start_up_naming_it(tiny_model_dir, tiny_presets_file, overrides, expected):
    engine = EngineProcess(tiny_model_dir, tiny_presets_file, **overrides)
    try:
        error = engine.next()
        assert (error["type"], error["job_id"], error["kind"]) == ("error", None, "internal")
        assert expected in error["message"]
        assert engine.wait() == 1
    finally:
        engine.close()
