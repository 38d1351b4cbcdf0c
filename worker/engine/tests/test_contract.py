"""This side's dataclasses hold exactly the fields of contract.schema.json (generated from the worker's zod schemas):
a field added or dropped on either side alone fails here (and test/unit/engine-contract.test.ts checks the file is
current and round-trips real documents between the two languages)."""

import dataclasses

import pytest

from cogcast_engine import contract
from cogcast_engine.envs import EngineConfig
from cogcast_engine.protocol import REQUEST_TYPES, Message
from contract_roundtrip import SAMPLES
from engine_process import tiny_settings

MESSAGE_CLASSES = {cls.TYPE: cls for cls in Message.__subclasses__()}


def properties(part: str, name: str | None = None) -> set[str]:
    return set(contract.subschema(part, name)["properties"])


def test_every_message_type_is_built_here_and_nothing_else():
    assert set(MESSAGE_CLASSES) == set(contract.message_types())


@pytest.mark.parametrize("kind", contract.message_types())
def test_message_fields_match_the_schema(kind):
    fields = {f.name for f in dataclasses.fields(MESSAGE_CLASSES[kind])}
    assert fields | {"type"} == properties("messages", kind)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.TYPE)
def test_each_sample_message_is_valid(sample):
    contract.validate("messages", sample.TYPE, sample.to_dict())


def test_every_request_type_is_parsed_here():
    assert set(REQUEST_TYPES) == set(contract.request_types())


@pytest.mark.parametrize("kind", contract.request_types())
def test_request_fields_match_the_schema(kind):
    fields = {f.name for f in dataclasses.fields(REQUEST_TYPES[kind])}
    assert fields | {"type"} == properties("requests", kind)


def test_settings_fields_match_the_schema():
    config = EngineConfig.from_settings(tiny_settings("/models/tiny"))
    assert set(config.to_settings()) == properties("settings")
    assert {f.name for f in dataclasses.fields(EngineConfig)} == properties("settings")


def test_an_outgoing_message_with_an_extra_field_breaks_the_contract():
    with pytest.raises(contract.ContractError, match="unknown field"):
        contract.validate("messages", "cancelled", {"type": "cancelled", "job_id": "1", "extra": 1})


def test_the_tuning_summary_ready_carries_matches_the_schema():
    from cogcast_engine.tuning import TuningReport

    tuning = contract.subschema("messages", "ready")["properties"]["tuning"]
    summary = TuningReport().summary()
    assert set(summary) == set(tuning["properties"])
    contract.validate_node(tuning, summary, "ready.tuning")
