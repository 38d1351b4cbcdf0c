"""Load and validate the locked presets file: the only place a video shape is named."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# CogVideoX needs sides divisible by the VAE's 8x spatial compression times the transformer's 2x2 patch, and
# frame counts of 4k+1 for its 4x temporal compression (the first frame is kept on its own).
SIDE_MULTIPLE = 16
TEMPORAL_COMPRESSION = 4

# Step caches a preset may ask for (diffusers hooks, see step_cache.py), with the field each one is tuned by.
CACHE_KINDS = {"first_block": "threshold", "taylorseer": "interval"}
# Kernel precision a preset runs at: full (the lossless kernels, within 1% of stock) or fp8 (turbo.py: FP8
# attention and linears, a little fidelity traded for speed).
PRECISIONS = ("full", "fp8")


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

    @property
    def names(self) -> list[str]:
        return list(self.presets)

    def get(self, name: str) -> Preset:
        if name not in self.presets:
            raise ValueError(f"preset: unknown preset {name!r} (known: {', '.join(self.presets)})")
        return self.presets[name]


def load_presets(path: str | Path) -> PresetTable:
    """Read and validate a presets file; errors name the file and the offending field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ValueError(f"PRESETS_FILE: cannot read {path}: {error}") from error
    except json.JSONDecodeError as error:
        raise ValueError(f"PRESETS_FILE: {path} is not valid JSON: {error}") from error
    return parse_presets(data)


def parse_presets(data: Any) -> PresetTable:
    if not isinstance(data, dict):
        raise ValueError("presets file: the top level must be an object")
    raw_presets = data.get("presets")
    if not isinstance(raw_presets, dict) or not raw_presets:
        raise ValueError("presets: must be a non-empty object of name -> preset")

    presets = {name: parse_preset(name, raw) for name, raw in raw_presets.items()}

    default = data.get("default", next(iter(presets)))
    if default not in presets:
        raise ValueError(f"default: {default!r} is not one of the presets ({', '.join(presets)})")
    return PresetTable(default=default, presets=presets)


def parse_preset(name: str, raw: Any) -> Preset:
    where = f"presets.{name}"
    if not name:
        raise ValueError("presets: a preset name must be non-empty")
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: must be an object")

    width = _positive_int(raw, where, "width")
    height = _positive_int(raw, where, "height")
    frames = _positive_int(raw, where, "frames")
    fps = _positive_int(raw, where, "fps")
    steps = _positive_int(raw, where, "steps")
    guidance = raw.get("guidance")

    if width % SIDE_MULTIPLE:
        raise ValueError(f"{where}.width must be a multiple of {SIDE_MULTIPLE}, got {width}")
    if height % SIDE_MULTIPLE:
        raise ValueError(f"{where}.height must be a multiple of {SIDE_MULTIPLE}, got {height}")
    if (frames - 1) % TEMPORAL_COMPRESSION:
        raise ValueError(f"{where}.frames must be {TEMPORAL_COMPRESSION}k+1 (e.g. 9, 49), got {frames}")
    if isinstance(guidance, bool) or not isinstance(guidance, (int, float)) or guidance < 0:
        raise ValueError(f"{where}.guidance must be a number >= 0, got {guidance!r}")

    description = raw.get("description", "")
    if not isinstance(description, str):
        raise ValueError(f"{where}.description must be a string, got {description!r}")
    cache = parse_cache(raw.get("cache"), f"{where}.cache")
    precision = raw.get("precision", "full")
    if precision not in PRECISIONS:
        raise ValueError(f"{where}.precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    return Preset(name, width, height, frames, fps, steps, float(guidance), description, cache, precision)


def parse_cache(raw: Any, where: str) -> StepCache | None:
    """The optional `cache` object: {"kind": "first_block", "threshold": 0.1} or {"kind": "taylorseer", "interval": 2}."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be an object, got {raw!r}")
    kind = raw.get("kind")
    if kind not in CACHE_KINDS:
        raise ValueError(f"{where}.kind must be one of {', '.join(CACHE_KINDS)}, got {kind!r}")
    allowed = {"kind", CACHE_KINDS[kind]}
    if extra := sorted(set(raw) - allowed):
        raise ValueError(f"{where}: unknown field(s) {', '.join(extra)} for kind {kind} (allowed: {', '.join(sorted(allowed))})")
    if kind == "first_block":
        threshold = raw.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
            raise ValueError(f"{where}.threshold must be a number between 0 and 1 (exclusive), got {threshold!r}")
        return StepCache(kind, threshold=float(threshold))
    interval = raw.get("interval")
    if isinstance(interval, bool) or not isinstance(interval, int) or interval < 2:
        raise ValueError(f"{where}.interval must be an integer >= 2, got {interval!r}")
    return StepCache(kind, interval=interval)


def _positive_int(raw: dict, where: str, field: str) -> int:
    value = raw.get(field)
    # bool is an int in Python, but `true` is never a size
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}.{field} must be an integer >= 1, got {value!r}")
    return value
