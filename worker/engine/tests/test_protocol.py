"""Requests are parsed at the edge: a bad line is answered (job_id when known), never a crash."""

import json

import pytest

from cogcast_engine.envs import EngineConfig
from cogcast_engine.protocol import (
    CancelRequest,
    Error,
    GenerateRequest,
    ProtocolError,
    ShutdownRequest,
    StatsRequest,
    parse_request,
)

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
    [("ENGINE_DEVICE", "gpu"), ("ENGINE_DTYPE", "fp8"), ("ENGINE_MEMORY_PROFILE", "tiny"), ("ENGINE_WARMUP", "yes"),
     ("ENGINE_COMPILE", "always"), ("ENGINE_LOG_LEVEL", "LOUD")],
)
def test_bad_environment_variable_is_named(name, value):
    with pytest.raises(ValueError, match=f"^{name}"):
        EngineConfig.from_env({name: value})


def test_environment_defaults_match_protocol():
    config = EngineConfig.from_env({})
    assert (config.model, str(config.presets_file)) == ("THUDM/CogVideoX-2b", "config/presets.json")
    assert (config.device, config.dtype, config.memory_profile, config.compile) == ("auto", "auto", "auto", "auto")
    assert config.warmup is True
