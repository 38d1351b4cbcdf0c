"""The engine's environment variables, their defaults and their meaning, parsed once into an EngineConfig."""

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# name -> (default, meaning); PROTOCOL.md documents the same table for the worker.
ENV_VARS: dict[str, tuple[str, str]] = {
    "ENGINE_MODEL": ("THUDM/CogVideoX-2b", "local directory in the diffusers layout, or a hub id"),
    "PRESETS_FILE": ("config/presets.json", "the locked presets file"),
    "ENGINE_DEVICE": ("auto", "auto, cuda, cuda:N or cpu (auto: cuda when available)"),
    "ENGINE_DTYPE": ("auto", "auto, float16, bfloat16, float32 (auto: fp16 on cuda, fp32 on cpu)"),
    "ENGINE_MEMORY_PROFILE": ("auto", "auto, resident, lowvram (auto: from free VRAM)"),
    "ENGINE_WARMUP": ("1", "1 to run every preset shape once before ready, 0 to skip"),
    "ENGINE_COMPILE": ("auto", "auto, 1, 0: torch.compile the transformer (cuda only)"),
    "ENGINE_COMPILE_CACHE_DIR": ("var/compile-cache", "torch.compile's on-disk cache: restarts reuse compiled kernels"),
    "ENGINE_LOG_LEVEL": ("WARNING", "python logging level of the stderr log"),
    "ENGINE_CFG_PARALLEL": ("0", "1: each clip's guidance halves on two GPUs (this one and the next), see cfg_parallel.py"),
}

DTYPES = ("auto", "float16", "bfloat16", "float32")
MEMORY_PROFILES = ("auto", "resident", "lowvram")
COMPILE_MODES = ("auto", "1", "0")


@dataclass(frozen=True)
class EngineConfig:
    model: str
    presets_file: Path
    device: str
    dtype: str
    memory_profile: str
    warmup: bool
    compile: str
    log_level: str
    compile_cache_dir: Path = Path(ENV_VARS["ENGINE_COMPILE_CACHE_DIR"][0])
    cfg_parallel: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "EngineConfig":
        def get(name: str) -> str:
            value = environ.get(name, "").strip()
            return value or ENV_VARS[name][0]

        config = cls(
            model=get("ENGINE_MODEL"),
            presets_file=Path(get("PRESETS_FILE")),
            device=get("ENGINE_DEVICE").lower(),
            dtype=get("ENGINE_DTYPE").lower(),
            memory_profile=get("ENGINE_MEMORY_PROFILE").lower(),
            warmup=_parse_flag("ENGINE_WARMUP", get("ENGINE_WARMUP")),
            compile=get("ENGINE_COMPILE").lower(),
            log_level=get("ENGINE_LOG_LEVEL").upper(),
            compile_cache_dir=Path(get("ENGINE_COMPILE_CACHE_DIR")),
            cfg_parallel=_parse_flag("ENGINE_CFG_PARALLEL", get("ENGINE_CFG_PARALLEL")),
        )
        config.check_inputs()
        return config

    def check_inputs(self) -> None:
        if not (self.device in ("auto", "cpu", "cuda") or _is_cuda_index(self.device)):
            raise ValueError(f"ENGINE_DEVICE must be auto, cpu, cuda or cuda:N, got {self.device!r}")
        if self.dtype not in DTYPES:
            raise ValueError(f"ENGINE_DTYPE must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.memory_profile not in MEMORY_PROFILES:
            raise ValueError(
                f"ENGINE_MEMORY_PROFILE must be one of {', '.join(MEMORY_PROFILES)}, got {self.memory_profile!r}"
            )
        if self.compile not in COMPILE_MODES:
            raise ValueError(f"ENGINE_COMPILE must be one of {', '.join(COMPILE_MODES)}, got {self.compile!r}")
        if not isinstance(logging.getLevelName(self.log_level), int):
            raise ValueError(f"ENGINE_LOG_LEVEL must be a python logging level, got {self.log_level!r}")


def _parse_flag(name: str, value: str) -> bool:
    if value not in ("0", "1"):
        raise ValueError(f"{name} must be 0 or 1, got {value!r}")
    return value == "1"


def _is_cuda_index(device: str) -> bool:
    prefix, _, index = device.partition(":")
    return prefix == "cuda" and index.isdigit()
