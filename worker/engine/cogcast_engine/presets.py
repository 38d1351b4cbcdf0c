"""The locked presets, validated by the contract's rules (config/presets.ts, exported to contract.schema.json).

Shapes are named only in the presets file; the rules (sides a multiple of 16, 4k+1 frames, step caches and their
fidelity flag) are written once, in the worker's zod schema, and read here from the generated JSON Schema.
"""

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import contract


@dataclass(frozen=True)
class StepCache:
    """Reuse work across denoising steps: faster, and no longer the same frames as without it."""

    kind: str  # first_block | taylorseer
    # first_block: the other blocks are skipped while the first block's output changes less than this (relative)
    threshold: float | None = None
    # taylorseer: every `interval`-th step runs in full, the steps between are extrapolated from those
    interval: int | None = None


@dataclass(frozen=True)
class Preset:
    name: str
    width: int
    height: int
    frames: int
    fps: int
    steps: int
    guidance: float
    description: str = ""
    cache: StepCache | None = None
    precision: str = "full"  # full | fp8

    @property
    def shape_key(self) -> tuple[int, int, int, bool]:
        """Presets with the same key run the same transformer graph (classifier-free guidance doubles the batch)."""
        return (self.width, self.height, self.frames, self.guidance > 1.0)

    @property
    def warmup_key(self) -> tuple:
        """Warm-up runs one preset per key: each graph shape, each step cache on it (its hooks run once too), and
        each precision (fp8 runs graphs of its own)."""
        return (*self.shape_key, self.cache, self.precision)


@dataclass(frozen=True)
class PresetTable:
    default: str
    presets: dict[str, Preset]
    document: dict = field(default_factory=dict, compare=False)  # the validated file, as the settings carry it

    @property
    def names(self) -> list[str]:
        return list(self.presets)

    def get(self, name: str) -> Preset:
        if name not in self.presets:
            raise ValueError(f"preset: unknown preset {name!r} (known: {', '.join(self.presets)})")
        return self.presets[name]


def load_presets(path: str | Path) -> PresetTable:
    """Read and validate a presets file (benchmarks; the worker hands the presets inside the engine's settings)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"PRESETS_FILE: cannot read {path}: {error}") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"PRESETS_FILE: {path} is not valid JSON: {error}") from error
    return parse_presets(data)


def parse_presets(data: Any, where: str = "") -> PresetTable:
    """Validate a presets document by the contract's rules (config/presets.ts); errors name the field."""
    data = contract.validate("presets", None, copy.deepcopy(data), where)
    presets = {name: _preset(name, raw) for name, raw in data["presets"].items()}
    # The one rule JSON Schema cannot say (config/presets.ts has the same refine)
    default = data["default"]
    if default not in presets:
        raise ValueError(f"{'.'.join(filter(None, [where, 'default']))}: {default!r} is not one of the presets ({', '.join(presets)})")
    return PresetTable(default=default, presets=presets, document=data)


def _preset(name: str, raw: dict) -> Preset:
    cache = raw.get("cache")
    step_cache = None if cache is None else StepCache(cache["kind"], threshold=cache.get("threshold"), interval=cache.get("interval"))
    return Preset(
        name, raw["width"], raw["height"], raw["frames"], raw["fps"], raw["steps"], float(raw["guidance"]),
        raw["description"], step_cache, raw.get("precision", "full"),
    )


def parse_cache(raw: Any, where: str) -> StepCache | None:
    """One `cache` object ({"kind": "taylorseer", "interval": 2}, ...), by the presets' rules (benchmarks use it)."""
    if raw is None:
        return None
    node = contract.subschema("presets")["properties"]["presets"]["additionalProperties"]["properties"]["cache"]
    cache = contract.validate_node(node, copy.deepcopy(raw), where)
    return StepCache(cache["kind"], threshold=cache.get("threshold"), interval=cache.get("interval"))
