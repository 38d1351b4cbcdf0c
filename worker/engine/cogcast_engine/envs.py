"""The engine's settings: one JSON document in COGCAST_ENGINE_SETTINGS, validated against the contract, as EngineConfig.

The worker builds the document from its own configuration (config/env.ts, the only registry of the variables and
their defaults) and validates it with the same schema; the engine reads no other variable of its own.
"""

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import contract
from .presets import PresetTable, parse_presets

SETTINGS_VAR = "COGCAST_ENGINE_SETTINGS"


@dataclass(frozen=True)
class EngineConfig:
    model: str  # a directory, or a hub id in the local cache
    model_name: str  # the catalogue's name for it (config/models.ts), e.g. cogvideox-5b-i2v
    pipeline: str  # the diffusers class its model_index.json must name: CogVideoXPipeline | CogVideoXImageToVideoPipeline
    native_dtype: str  # the precision it was trained in: what dtype `auto` means on a GPU
    presets: PresetTable
    device: str
    dtype: str
    memory_profile: str
    warmup: bool
    compile: str
    log_level: str
    compile_cache_dir: Path
    cfg_parallel: bool = False

    @classmethod
    def from_settings(cls, document: Mapping[str, Any]) -> "EngineConfig":
        """Validate a settings document (worker/engine-client/engine-protocol.ts, engineSettingsSchema)."""
        settings = contract.validate("settings", None, json.loads(json.dumps(document)), where="settings")
        return cls(
            model=settings["model"],
            model_name=settings["model_name"],
            pipeline=settings["pipeline"],
            native_dtype=settings["native_dtype"],
            presets=parse_presets(settings["presets"], where="settings.presets"),
            device=settings["device"],
            dtype=settings["dtype"],
            memory_profile=settings["memory_profile"],
            warmup=settings["warmup"],
            compile=settings["compile"],
            log_level=settings["log_level"],
            compile_cache_dir=Path(settings["compile_cache_dir"]),
            cfg_parallel=settings["cfg_parallel"],
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "EngineConfig":
        raw = environ.get(SETTINGS_VAR, "")
        if not raw.strip():
            raise ValueError(f"{SETTINGS_VAR}: not set (the worker passes the engine's settings as one JSON document)")
        try:
            document = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(f"{SETTINGS_VAR}: not valid JSON: {error}") from error
        return cls.from_settings(document)

    def to_settings(self, **changes: Any) -> dict:
        """The document again (for CFG parallelism's second rank, which differs in `device`)."""
        return {
            "model": self.model,
            "model_name": self.model_name,
            "pipeline": self.pipeline,
            "native_dtype": self.native_dtype,
            "presets": self.presets.document,
            "device": self.device,
            "dtype": self.dtype,
            "memory_profile": self.memory_profile,
            "warmup": self.warmup,
            "compile": self.compile,
            "log_level": self.log_level,
            "compile_cache_dir": str(self.compile_cache_dir),
            "cfg_parallel": self.cfg_parallel,
            **changes,
        }


def settings_env(document: Mapping[str, Any]) -> dict[str, str]:
    """The environment entry that hands `document` to an engine process."""
    return {SETTINGS_VAR: json.dumps(document, separators=(",", ":"))}
