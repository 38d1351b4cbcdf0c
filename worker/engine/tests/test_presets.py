"""The presets file is validated at start-up, and every error names the field to fix."""

import copy
import json

import pytest

from cogcast_engine.presets import load_presets, parse_presets
from conftest import REPO_ROOT

VALID = {
    "default": "tiny",
    "presets": {
        "tiny": {"description": "d", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 2, "guidance": 6.0},
        "tiny-slow": {"description": "d", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 12, "guidance": 6.0},
        "wide": {"description": "d", "width": 96, "height": 32, "frames": 9, "fps": 8, "steps": 2, "guidance": 6.0},
    },
}


def with_field(field: str, value):
    data = copy.deepcopy(VALID)
    if value is None:
        del data["presets"]["tiny"][field]
    else:
        data["presets"]["tiny"][field] = value
    return data


def test_real_and_tiny_presets_files_load():
    real = load_presets(REPO_ROOT / "config" / "presets.json")
    assert real.default == "standard"
    assert (real.get("standard").width, real.get("standard").height, real.get("standard").frames) == (720, 480, 49)
    tiny = load_presets(REPO_ROOT / "test" / "fixtures" / "presets.tiny.json")
    assert tiny.names == ["tiny", "tiny-slow"]
    assert tiny.get("tiny-slow").steps == 12


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("frames", 48, "presets.tiny.frames: must be 4k+1"),
        ("frames", 0, "presets.tiny.frames: must be an integer >= 1"),
        ("width", 100, "presets.tiny.width: must be a multiple of 16"),
        ("height", 40, "presets.tiny.height: must be a multiple of 16"),
        ("height", None, "presets.tiny.height: must be an integer"),
        ("steps", 0, "presets.tiny.steps: must be an integer >= 1"),
        ("steps", True, "presets.tiny.steps: must be an integer >= 1"),
        ("steps", 2.5, "presets.tiny.steps: must be an integer >= 1"),
        ("fps", -8, "presets.tiny.fps: must be an integer >= 1"),
        ("guidance", "6", "presets.tiny.guidance: must be a number >= 0"),
        ("guidance", -1, "presets.tiny.guidance: must be a number >= 0"),
    ],
)
def test_invalid_preset_field_is_named(field, value, expected):
    with pytest.raises(ValueError, match=expected.replace(".", r"\.").replace("+", r"\+")):
        parse_presets(with_field(field, value))


def test_default_must_name_a_preset():
    with pytest.raises(ValueError, match="default: 'nope'"):
        parse_presets({**VALID, "default": "nope"})


def test_presets_must_be_a_non_empty_object():
    with pytest.raises(ValueError, match="presets: must be a non-empty object"):
        parse_presets({"default": "tiny", "presets": {}})


def test_unreadable_file_names_presets_file(tmp_path):
    bad = tmp_path / "presets.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="PRESETS_FILE"):
        load_presets(bad)
    with pytest.raises(ValueError, match="PRESETS_FILE"):
        load_presets(tmp_path / "missing.json")


def test_unknown_preset_lookup_names_the_known_ones():
    table = parse_presets(VALID)
    with pytest.raises(ValueError, match="preset: unknown preset 'huge'.*tiny, tiny-slow, wide"):
        table.get("huge")


def test_presets_of_one_shape_share_a_graph_key():
    table = parse_presets(json.loads(json.dumps(VALID)))
    assert table.get("tiny").shape_key == table.get("tiny-slow").shape_key
    assert table.get("tiny").shape_key != table.get("wide").shape_key
