"""Pure choices behind the tuned engine: memory profile from usable VRAM, preset step caches, warm-up keys."""

import copy

import pytest

from cogcast_engine.pipeline_loader import GIB, RESIDENT_MIN_FREE_BYTES, choose_memory_profile
from cogcast_engine.presets import StepCache, load_presets, parse_presets
from conftest import REPO_ROOT

BASE = {"description": "d", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 2, "guidance": 6.0}


def table(**preset_fields):
    # A cached preset must say it trades fidelity (config/presets.ts), so every cache case here does.
    fidelity = {"tradesFidelity": True} if "cache" in preset_fields else {}
    return parse_presets({"default": "a", "presets": {"a": {**BASE, **fidelity, **preset_fields}}})


@pytest.mark.parametrize(
    "usable, expected",
    [(80 * GIB, "resident"), (RESIDENT_MIN_FREE_BYTES, "resident"), (RESIDENT_MIN_FREE_BYTES - 1, "lowvram"),
     (22 * GIB, "lowvram"), (0, "lowvram")],
)
def test_memory_profile_from_usable_vram(usable, expected):
    assert choose_memory_profile(usable) == expected


def test_a_24_gib_card_is_lowvram_and_an_h100_resident():
    assert choose_memory_profile(23 * GIB) == "lowvram"
    assert choose_memory_profile(78 * GIB) == "resident"


def test_cache_kinds_parse_with_their_field():
    assert table(cache={"kind": "first_block", "threshold": 0.1}).get("a").cache == StepCache("first_block", threshold=0.1)
    assert table(cache={"kind": "taylorseer", "interval": 3}).get("a").cache == StepCache("taylorseer", interval=3)
    assert table().get("a").cache is None


@pytest.mark.parametrize(
    "cache, message",
    [
        ("fast", "presets.a.cache: must be an object"),
        ({"kind": "teacache"}, "presets.a.cache.kind: must be one of first_block, taylorseer"),
        ({"kind": "first_block"}, "presets.a.cache.threshold: must be a number between 0 and 1"),
        ({"kind": "first_block", "threshold": 1.0}, "presets.a.cache.threshold: must be a number between 0 and 1"),
        ({"kind": "first_block", "threshold": True}, "presets.a.cache.threshold"),
        ({"kind": "taylorseer", "interval": 1}, "presets.a.cache.interval: must be an integer >= 2"),
        ({"kind": "taylorseer", "interval": 2.5}, "presets.a.cache.interval: must be an integer >= 2"),
        ({"kind": "taylorseer", "interval": 2, "threshold": 0.1}, "presets.a.cache: unknown field(s) threshold"),
    ],
)
def test_bad_caches_name_the_field(cache, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        table(cache=cache)


def test_shipped_fast_preset_shares_standards_graph_but_warms_its_cache():
    presets = load_presets(REPO_ROOT / "config" / "presets.json")
    standard, fast = presets.get("standard"), presets.get("fast")
    assert fast.cache is not None and standard.cache is None
    assert fast.shape_key == standard.shape_key, "one compiled graph for both"
    assert fast.warmup_key != standard.warmup_key, "the cache's hooks are warmed too"
    assert presets.get("draft").warmup_key == standard.warmup_key


def test_diffusers_config_for_each_kind():
    from diffusers.hooks import FirstBlockCacheConfig, TaylorSeerCacheConfig

    from cogcast_engine.step_cache import diffusers_cache_config

    first_block = diffusers_cache_config(StepCache("first_block", threshold=0.2))
    assert isinstance(first_block, FirstBlockCacheConfig) and first_block.threshold == 0.2
    taylorseer = diffusers_cache_config(StepCache("taylorseer", interval=3))
    assert isinstance(taylorseer, TaylorSeerCacheConfig) and taylorseer.cache_interval == 3
    assert taylorseer.use_lite_mode, "lite: no per-block feature maps kept (lowvram cards)"
