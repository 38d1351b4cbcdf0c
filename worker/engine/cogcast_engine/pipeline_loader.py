"""Load the model's CogVideoX pipeline (text- or image-to-video) onto its device with the chosen dtype and memory
profile, then tune it."""

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from diffusers import CogVideoXImageToVideoPipeline, CogVideoXPipeline, DiffusionPipeline
from diffusers.utils import logging as diffusers_logging

from .envs import EngineConfig
from .presets import Preset
from .tuning import TuningReport, apply_tuning, compile_blocks, configure_allocator
from .turbo import build_turbo_transformer, why_not_turbo

logger = logging.getLogger(__name__)

GIB = 1024**3
# CogVideoX-2b in fp16 keeps T5-XXL (~9.5 GB), the transformer (~3.4 GB) and the VAE resident, and decodes
# 49 frames at 720x480 without tiling: comfortable from 40 GiB usable.
RESIDENT_MIN_FREE_BYTES = 40 * GIB

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
# The diffusers classes the engine runs, by the name a model_index.json gives (settings.pipeline is one of them).
PIPELINES: dict[str, type] = {
    "CogVideoXPipeline": CogVideoXPipeline,
    "CogVideoXImageToVideoPipeline": CogVideoXImageToVideoPipeline,
}
CogVideoXAnyPipeline = CogVideoXPipeline | CogVideoXImageToVideoPipeline


@dataclass
class LoadedPipeline:
    pipe: CogVideoXAnyPipeline
    device: torch.device
    dtype: torch.dtype
    memory_profile: str  # resident | lowvram
    tuning: TuningReport
    load_seconds: float
    turbo: torch.nn.Module | None = None  # fp8 presets' transformer (turbo.py), built by the first fp8 job
    turbo_unavailable: str | None = None  # why fp8 presets run the lossless kernels here, once known

    @contextlib.contextmanager
    def transformer_for(self, preset: Preset, cfg_parallel: bool = False) -> Iterator[torch.nn.Module]:
        """`pipe.transformer` is the one `preset` runs on for the enclosed job: fp8 presets get the turbo copy."""
        if preset.precision != "fp8" or self._turbo(cfg_parallel) is None:
            yield self.pipe.transformer
            return
        lossless = self.pipe.transformer
        self.pipe.transformer = self.turbo
        try:
            yield self.turbo
        finally:
            self.pipe.transformer = lossless

    def _turbo(self, cfg_parallel: bool) -> torch.nn.Module | None:
        if cfg_parallel:  # the guidance split hooks only the lossless transformer (cfg_parallel.py)
            return None
        if self.turbo is None and self.turbo_unavailable is None:
            self.turbo_unavailable = why_not_turbo(self.device, self.memory_profile)
            if self.turbo_unavailable is None:
                try:
                    self.turbo = build_turbo_transformer(self.pipe.transformer)
                except Exception as error:  # never worth a failed start: the lossless kernels serve the preset
                    logger.exception("building the fp8 transformer failed")
                    self.turbo_unavailable = f"fp8 presets run the lossless kernels: {type(error).__name__}: {error}"
                else:
                    if self.tuning.compiled:  # compiled like the lossless blocks (unless those fell back to eager)
                        compile_blocks(self.turbo, self.tuning)
                    self.tuning.notes.append("fp8 presets: FA3 FP8 attention, torchao FP8 rowwise linears, bf16")
            if self.turbo_unavailable is not None:
                logger.warning(self.turbo_unavailable)
                self.tuning.notes.append(self.turbo_unavailable)
        return self.turbo

    @property
    def takes_image(self) -> bool:
        """An image-to-video model: every job brings the photo it animates (and a text-to-video one takes none)."""
        return isinstance(self.pipe, CogVideoXImageToVideoPipeline)

    @property
    def gpu_name(self) -> str | None:
        return torch.cuda.get_device_name(self.device) if self.device.type == "cuda" else None

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).removeprefix("torch.")

    @contextlib.contextmanager
    def text_encoder_on_device(self) -> Iterator[None]:
        """In lowvram, T5 lives on the CPU and visits the GPU only while it encodes.

        Its weights never change, so the visit is one copy in (from pinned memory: ~0.5 s for T5-XXL's 9.5 GB,
        where pageable copies both ways took 8 s on an H100) and none back: the GPU copies are just dropped.
        """
        text_encoder = self.pipe.text_encoder
        if self.memory_profile != "lowvram" or text_encoder.device == self.device:
            yield
            return
        tensors = [*text_encoder.parameters(), *text_encoder.buffers()]
        on_host = [tensor.data for tensor in tensors]
        for tensor, host in zip(tensors, on_host):
            tensor.data = host.to(self.device, non_blocking=True)
        try:
            yield
        finally:
            for tensor, host in zip(tensors, on_host):
                tensor.data = host


def offload_text_encoder(text_encoder: torch.nn.Module, device: torch.device) -> None:
    """lowvram: T5 to the CPU, in pinned (page-locked) memory when there is a GPU to copy it to quickly."""
    text_encoder.to("cpu")
    if device.type == "cuda":
        for tensor in [*text_encoder.parameters(), *text_encoder.buffers()]:
            tensor.data = tensor.data.pin_memory()


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"ENGINE_DEVICE: {name} asked for, but torch sees no CUDA device")
        # "cuda" means the current device; naming it ("cuda:0") keeps ready/stats unambiguous
        device = torch.device("cuda", device.index if device.index is not None else torch.cuda.current_device())
    return device


def resolve_dtype(name: str, device: torch.device, native: str = "float16") -> torch.dtype:
    if name == "auto":
        # The precision the model was trained in (fp16 for CogVideoX-2b, bf16 for the 5b family); CPU kernels are
        # fp32-first.
        return DTYPES[native] if device.type == "cuda" else torch.float32
    return DTYPES[name]


def choose_memory_profile(usable_bytes: int, resident_min_bytes: int = RESIDENT_MIN_FREE_BYTES) -> str:
    """resident where everything fits with room for the untiled decode; lowvram (24 GiB cards) below that."""
    return "resident" if usable_bytes >= resident_min_bytes else "lowvram"


def usable_vram_bytes(device: torch.device) -> int:
    """Free VRAM this process may still take: the device's free memory, within any per-process cap set on it."""
    free_bytes, total_bytes = torch.cuda.mem_get_info(device)
    fraction = getattr(torch.cuda, "get_per_process_memory_fraction", lambda _device: 1.0)(device)
    capped = int(fraction * total_bytes) - torch.cuda.memory_reserved(device)
    return max(0, min(free_bytes, capped))


def resolve_memory_profile(name: str, device: torch.device) -> str:
    if name != "auto":
        return name
    if device.type != "cuda":
        return "resident"
    usable = usable_vram_bytes(device)
    profile = choose_memory_profile(usable)
    logger.info("memory profile auto -> %s (%.1f GiB usable)", profile, usable / GIB)
    return profile


def pipeline_class(config: EngineConfig) -> type:
    """The class the model's model_index.json names, which must be the one the settings expect (settings.pipeline).

    The worker identified the model by the same file; a directory swapped since (or a hub id of another model)
    fails the start here, in one sentence, instead of loading weights that cannot serve its presets.
    """
    try:
        index = DiffusionPipeline.load_config(config.model)
    except OSError as error:
        raise ValueError(f"settings.model: cannot read the model_index.json of {config.model}: {error}") from error
    found = index.get("_class_name")
    if found not in PIPELINES or found != config.pipeline:
        raise ValueError(
            f"settings.model: {config.model} holds a {found} (its model_index.json), but settings.pipeline expects "
            f"{config.pipeline} for {config.model_name}"
        )
    return PIPELINES[found]


def load_pipeline(config: EngineConfig) -> LoadedPipeline:
    """Load the model named by ENGINE_MODEL with the class its model_index.json names, then place and tune it."""
    start = time.perf_counter()
    cls = pipeline_class(config)  # before torch touches the GPU: a wrong model fails in a second
    device = resolve_device(config.device)
    diffusers_logging.disable_progress_bar()  # "Loading pipeline components" bars are not log lines
    configure_allocator(device)  # before the weights take their memory
    pipe = cls.from_pretrained(config.model, dtype=resolve_dtype(config.dtype, device, config.native_dtype))
    return prepare_pipeline(pipe, config, start)


def prepare_pipeline(pipe: CogVideoXAnyPipeline, config: EngineConfig, start: float | None = None) -> LoadedPipeline:
    """Place `pipe` by memory profile and tune it for its device: what every engine does after loading weights.

    The benchmark calls this on a pipeline built in memory, so it measures exactly the worker's path.
    """
    start = time.perf_counter() if start is None else start

    # 1. Decide where and how
    device = resolve_device(config.device)
    dtype = resolve_dtype(config.dtype, device, config.native_dtype)
    memory_profile = resolve_memory_profile(config.memory_profile, device)
    if pipe.transformer.dtype != dtype:
        pipe.to(dtype=dtype)
    pipe.set_progress_bar_config(disable=True)  # progress goes through the protocol, not tqdm

    # 2. Place by memory profile
    if memory_profile == "resident":
        pipe.to(device)
    else:
        # lowvram: T5 stays on the CPU between encodes (see text_encoder_on_device); the VAE decodes in tiles
        # and one video at a time, trading a little decode speed for a much lower peak.
        offload_text_encoder(pipe.text_encoder, device)
        pipe.transformer.to(device)
        pipe.vae.to(device)
        pipe.vae.enable_tiling()
        pipe.vae.enable_slicing()
        if device.type == "cuda":
            torch.cuda.empty_cache()  # hand the encoder's VRAM back when it was built on the GPU (benchmark)

    # 3. Tune (attention kernel, fused projections, compile): eager on CPU
    tuning = apply_tuning(pipe, config, device)

    return LoadedPipeline(
        pipe=pipe,
        device=device,
        dtype=dtype,
        memory_profile=memory_profile,
        tuning=tuning,
        load_seconds=round(time.perf_counter() - start, 3),
    )
