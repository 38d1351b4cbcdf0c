"""The worker <-> engine contract, read from contract.schema.json (generated from the worker's zod schemas).

Python does not restate the contract: requests, the settings document and (in tests) every outgoing message are
validated against that file with fastjsonschema, and an error names the field the way the worker's zod does.
"""

import functools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastjsonschema

SCHEMA_PATH = Path(__file__).with_name("contract.schema.json")
# zod's bound for an int without a maximum of its own: not worth naming in an error
MAX_SAFE_INTEGER = 2**53 - 1


class ContractError(ValueError):
    """A document that breaks the contract; the message starts with the path of the offending field."""

    def __init__(self, message: str, path: str):
        super().__init__(message)
        self.path = path


@functools.cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.cache
def _validator(part: str, name: str | None) -> Callable[[Any], Any]:
    return fastjsonschema.compile(subschema(part, name))


@functools.cache
def _node_validator(node_json: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(json.loads(node_json))


def subschema(part: str, name: str | None = None) -> dict:
    """`settings` or `presets`, or one of `requests`/`messages` by type name."""
    node = schema()[part]
    return node if name is None else node[name]


def compile_request_validators() -> None:
    """Build every request's validator now (at start-up), not on a job's first request."""
    for name in request_types():
        _validator("requests", name)


def request_types() -> list[str]:
    return list(schema()["requests"])


def message_types() -> list[str]:
    return list(schema()["messages"])


def validate(part: str, name: str | None, data: Any, where: str = "") -> Any:
    """Validate `data` (defaults filled in); raise ContractError naming the field (`seed: must be ...`)."""
    try:
        return _validator(part, name)(data)
    except fastjsonschema.JsonSchemaValueException as error:
        raise _explain(error, where) from None


def validate_node(node: dict, data: Any, where: str = "") -> Any:
    """Like validate(), against one node of the schema (a preset's `cache`, say)."""
    try:
        return _node_validator(json.dumps(node, sort_keys=True))(data)
    except fastjsonschema.JsonSchemaValueException as error:
        raise _explain(error, where) from None


def _explain(error: fastjsonschema.JsonSchemaValueException, where: str) -> ContractError:
    path = [str(p) for p in error.path[1:]]  # path[0] is fastjsonschema's "data"
    definition = error.definition if isinstance(error.definition, dict) else {}
    value = error.value
    if error.rule == "required" and isinstance(value, dict):
        missing = next((f for f in definition.get("required", []) if f not in value), None)
        if missing is not None:
            path.append(missing)
            definition = definition.get("properties", {}).get(missing, {})
            return _error(where, path, f"{_expectation(definition)}, missing")
    if error.rule == "propertyNames" and isinstance(value, dict):
        names = definition.get("propertyNames", {})
        bad = next((k for k in value if not re.search(names.get("pattern", ""), k)), None)
        return _error(where, path + ([bad] if bad is not None else []), names.get("errorMessage", "is not an allowed name"))
    if error.rule == "additionalProperties" and isinstance(value, dict):
        extra = sorted(set(value) - set(definition.get("properties", {})))
        return _error(where, path, f"unknown field(s) {', '.join(extra)}")
    if error.rule == "oneOf":
        branches = definition.get("oneOf", [])
        if not isinstance(value, dict) and all(b.get("type") == "object" for b in branches):
            return _error(where, path, f"must be an object, got {value!r}")
        key = _discriminator(branches)
        branch = _discriminated_branch(definition, value) if isinstance(value, dict) else None
        if branch is None and key is not None:
            kinds = ", ".join(str(b["properties"][key]["const"]) for b in branches)
            return _error(where, [*path, key], f"must be one of {kinds}, got {value.get(key)!r}")
        if branch is not None:  # say what is wrong inside the branch the value's discriminator picks
            try:
                fastjsonschema.compile(branch)(value)
            except fastjsonschema.JsonSchemaValueException as inner:
                nested = _explain(inner, "")
                return _error(where, path + ([nested.path] if nested.path else []), str(nested).split(": ", 1)[-1])
        return _error(where, path, f"must be one of the allowed shapes, got {value!r}")
    if error.rule in ("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "multipleOf",
                      "minLength", "pattern", "minProperties", "const"):
        return _error(where, path, f"{_first_broken_rule(definition, value)}, got {value!r}")
    return _error(where, path, error.message.replace(error.name, "value", 1))


def _error(where: str, path: list[str], message: str) -> ContractError:
    dotted = ".".join(filter(None, [where, *path])) or "(root)"
    return ContractError(f"{dotted}: {message}", ".".join(path))


def _discriminator(branches: list[dict]) -> str | None:
    """The property every branch pins with a `const` (zod's discriminatedUnion key), if there is one."""
    if not branches:
        return None
    keys = set.intersection(*({k for k, p in b.get("properties", {}).items() if "const" in p} for b in branches))
    return next(iter(sorted(keys)), None)


def _discriminated_branch(definition: dict, value: dict) -> dict | None:
    for branch in definition.get("oneOf", []):
        for key, prop in branch.get("properties", {}).items():
            if "const" in prop and value.get(key) == prop["const"]:
                return branch
    return None


def _first_broken_rule(definition: dict, value: Any) -> str:
    """The rule `value` breaks, checked in the order a person reads them: type, range, multiple, then the rest."""
    type_ok = _has_type(definition.get("type"), value)
    if not type_ok:
        return _expectation(definition)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        low, high = definition.get("minimum"), definition.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            return _expectation(definition)
        if ("exclusiveMinimum" in definition and value <= definition["exclusiveMinimum"]) or (
            "exclusiveMaximum" in definition and value >= definition["exclusiveMaximum"]
        ):
            return _expectation(definition)
        if "multipleOf" in definition and value % definition["multipleOf"]:
            return f"must be a multiple of {definition['multipleOf']}"
    if "errorMessage" in definition:
        return definition["errorMessage"]
    if "const" in definition:
        return f"must be {json.dumps(definition['const'])}"
    if "enum" in definition:
        return f"must be one of {', '.join(map(str, definition['enum']))}"
    if isinstance(value, str) and "pattern" in definition:
        return f"must match {definition['pattern']}"
    return _expectation(definition)


def _expectation(definition: dict) -> str:
    """`must be an integer >= 1 and <= 60`: the type and range a definition asks for."""
    kind = definition.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    nullable = "null" in kinds
    kinds = [k for k in kinds if k and k != "null"]
    if "errorMessage" in definition and not kinds:
        return definition["errorMessage"]
    names = {"integer": "an integer", "number": "a number", "string": "a string", "boolean": "a boolean",
             "object": "an object", "array": "an array"}
    text = " or ".join(names.get(k, k) for k in kinds) or "a valid value"
    bounds = []
    if definition.get("exclusiveMinimum") is not None and definition.get("exclusiveMaximum") is not None:
        low, high = definition["exclusiveMinimum"], definition["exclusiveMaximum"]
        return f"must be {text} between {low} and {high} (exclusive)"
    if definition.get("minimum") is not None:
        bounds.append(f">= {definition['minimum']}")
    if definition.get("exclusiveMinimum") is not None:
        bounds.append(f"> {definition['exclusiveMinimum']}")
    if definition.get("maximum") is not None and definition["maximum"] < MAX_SAFE_INTEGER:
        bounds.append(f"<= {definition['maximum']}")
    if definition.get("exclusiveMaximum") is not None:
        bounds.append(f"< {definition['exclusiveMaximum']}")
    if kinds == ["string"] and definition.get("minLength"):
        text = "a non-empty string"
    if "enum" in definition and kinds == ["string"]:
        text = f"one of {', '.join(definition['enum'])}"
    if "const" in definition:
        text = json.dumps(definition["const"])
    return f"must be {text}{' ' + ' and '.join(bounds) if bounds else ''}{' or null' if nullable else ''}"


def _has_type(kind: Any, value: Any) -> bool:
    if kind is None:
        return True
    kinds = kind if isinstance(kind, list) else [kind]
    checks = {
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "null": lambda v: v is None,
    }
    return any(checks.get(k, lambda v: True)(value) for k in kinds)
