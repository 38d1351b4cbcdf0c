"""Requests are parsed at the edge: a bad line is answered (job_id when known), never a crash."""

import json

import pytest

from cogcast_engine.envs import EngineConfig, settings_env
from cogcast_engine.protocol import (
    MAX_SEED,
    CancelRequest,
    Error,
    GenerateRequest,
    ProtocolError,
    ShutdownRequest,
    StatsRequest,
    parse_request,
)
from engine_process import tiny_settings

MODEL = "/models/tiny"
GENERATE = {
    "type": "generate",
    "job_id": "42",
    "prompt": "a red fox",
    "negative_prompt": "",
    "preset": "standard",
    "seed": 1234,
    "output_dir": "/tmp/cogcast/42",
}


def test_parses_every_request_type():
    assert parse_request(json.dumps(GENERATE)) == GenerateRequest("42", "a red fox", "", "standard", 1234, "/tmp/cogcast/42")
    assert parse_request('{"type":"cancel","job_id":"42"}') == CancelRequest("42")
    assert parse_request('{"type":"stats"}') == StatsRequest()
    assert parse_request(b'{"type":"shutdown"}\n') == ShutdownRequest()


def test_negative_prompt_is_optional():
    request = {k: v for k, v in GENERATE.items() if k != "negative_prompt"}
    assert parse_request(json.dumps(request)).negative_prompt == ""


@pytest.mark.parametrize("line", ["not json", "[1, 2]", '"generate"', b"\xff\xfe"])
def test_malformed_line_has_no_job_id(line):
    with pytest.raises(ProtocolError, match="malformed line") as caught:
        parse_request(line)
    assert caught.value.job_id is None


@pytest.mark.parametrize(
    "field, value, expected",
    [("seed", "1", "seed"), ("seed", -1, "seed"), ("seed", True, "seed"), ("output_dir", "", "output_dir"),
     ("preset", None, "preset"), ("prompt", 3, "prompt")],
)
def test_bad_generate_field_is_named_and_keeps_job_id(field, value, expected):
    with pytest.raises(ProtocolError, match=f"^{expected}:") as caught:
        parse_request(json.dumps({**GENERATE, field: value}))
    assert caught.value.job_id == "42"


def test_unknown_type_is_named():
    with pytest.raises(ProtocolError, match="type: unknown request type 'dance'"):
        parse_request('{"type":"dance"}')


def test_message_json_starts_with_its_type():
    line = Error(job_id=None, kind="bad_input", message="x").to_json()
    assert json.loads(line) == {"type": "error", "job_id": None, "kind": "bad_input", "message": "x"}
    assert line.startswith('{"type":"error"')


@pytest.mark.parametrize(
    "name, value",
    [("device", "gpu"), ("dtype", "fp8"), ("memory_profile", "tiny"), ("warmup", "yes"), ("compile", "always"),
     ("log_level", "LOUD"), ("model_name", "cogvideox-99b"), ("pipeline", "FluxPipeline"), ("native_dtype", "float32")],
)
def test_bad_setting_is_named(name, value):
    with pytest.raises(ValueError, match=f"^settings.{name}:"):
        EngineConfig.from_settings(tiny_settings(MODEL, **{name: value}))


def test_settings_must_be_complete_and_known():
    complete = tiny_settings(MODEL)
    for name in complete:
        with pytest.raises(ValueError, match=f"^settings.{name}: .*missing"):
            EngineConfig.from_settings({k: v for k, v in complete.items() if k != name})
    with pytest.raises(ValueError, match="^settings: unknown field"):
        EngineConfig.from_settings({**complete, "ENGINE_DTYPE": "float16"})


def test_settings_come_from_one_variable():
    with pytest.raises(ValueError, match="COGCAST_ENGINE_SETTINGS: not set"):
        EngineConfig.from_env({"ENGINE_MODEL": "x"})
    config = EngineConfig.from_env(settings_env(tiny_settings(MODEL, warmup=False)))
    assert (config.model, config.device, config.warmup) == (MODEL, "cpu", False)
    assert config.presets.names == ["tiny", "tiny-slow"]


def test_seed_range_is_32_bit_like_the_worker():
    assert MAX_SEED == 2**32 - 1
    parse_request(json.dumps({**GENERATE, "seed": MAX_SEED}))
    with pytest.raises(ProtocolError, match="^seed:"):
        parse_request(json.dumps({**GENERATE, "seed": MAX_SEED + 1}))
