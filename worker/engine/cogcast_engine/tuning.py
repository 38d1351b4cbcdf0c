"""Speed-ups applied to a loaded pipeline on CUDA (attention kernel, fused projections, compiled blocks), in one place.

Everything here is optional: on CPU, or when a step is unavailable, the pipeline stays eager and correct. Choices
that depend on the card (which attention kernel is fastest) are made by measuring on it, at start-up.
Measured on an H100 with the full-size CogVideoX-2b (bench/engine_bench.py, README "Benchmarks").
"""

import contextlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from diffusers import CogVideoXPipeline
from torch.nn.attention import SDPBackend, sdpa_kernel

from .envs import EngineConfig

logger = logging.getLogger(__name__)

# Attention kernels tried at start-up, by name. cuDNN's fused attention is usually the fastest on Hopper for
# CogVideoX's head_dim 64; flash is the safe default elsewhere. The winner is put first in SDPA's priority list,
# the others stay behind it, so that shapes it cannot run (the VAE's head_dim 512) still find a kernel.
ATTENTION_CANDIDATES: dict[str, SDPBackend] = {
    "cudnn": SDPBackend.CUDNN_ATTENTION,
    "flash": SDPBackend.FLASH_ATTENTION,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
}
FALLBACK_ORDER = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.MATH]
# A kernel whose output differs more than this from the first working one is not used (fp16 noise is ~1e-3).
ATTENTION_MAX_RELATIVE_ERROR = 1e-2


@dataclass
class TuningReport:
    fused_qkv: bool = False
    compiled: bool = False
    attention_backend: str = "default"
    attention_ms: dict[str, float] = field(default_factory=dict)  # candidate -> median ms on the model's shape
    compile_cache_dir: str | None = None
    notes: list[str] = field(default_factory=list)
    # Each compiled block and its eager forward, kept so a failed compilation at warm-up can fall back to eager.
    eager_forwards: list[tuple[torch.nn.Module, object]] = field(default_factory=list)

    @contextlib.contextmanager
    def attention(self) -> Iterator[None]:
        """Run the enclosed work (a whole job, warm-up included, so compiled graphs see the same) on the chosen kernel."""
        backend = ATTENTION_CANDIDATES.get(self.attention_backend)
        if backend is None:
            yield
            return
        priority = [backend] + [b for b in FALLBACK_ORDER if b != backend]
        with sdpa_kernel(priority, set_priority=True):
            yield

    def summary(self) -> dict:
        """What `ready` reports about the tuning (PROTOCOL.md)."""
        return {
            "fused_qkv": self.fused_qkv,
            "compiled": self.compiled,
            "attention": self.attention_backend,
            "attention_ms": self.attention_ms,
            "notes": self.notes,
        }


def wants_compile(config: EngineConfig, device: torch.device) -> bool:
    if device.type != "cuda":
        if config.compile == "1":
            logger.warning("ENGINE_COMPILE=1 ignored: torch.compile is only used on cuda (device is %s)", device)
        return False
    return config.compile in ("1", "auto")


def apply_tuning(pipe: CogVideoXPipeline, config: EngineConfig, device: torch.device) -> TuningReport:
    """Tune `pipe` in place for `device`; returns what was applied."""
    report = TuningReport()
    if device.type != "cuda":
        wants_compile(config, device)  # logs when compile was asked for on CPU
        report.notes.append(f"eager on {device.type}")
        return report
    transformer = pipe.transformer
    # Measured and left out: cudnn.benchmark for the VAE's 3D convolutions (2.29 s decode either way, plus a
    # re-benchmark on every new thread and tile shape), channels-last-3d VAE weights (5.4 s instead of 2.3 s),
    # CUDA graphs (kernels already fill 99% of a 0.55 s step: nothing left for graphs to hide).

    # 1. Fuse the attention's q/k/v projections into one matmul (one larger GEMM instead of three)
    if hasattr(transformer, "fuse_qkv_projections"):
        try:
            transformer.fuse_qkv_projections()
            report.fused_qkv = True
        except Exception as error:  # an attention processor without fused support: stay unfused
            logger.warning("fuse_qkv_projections failed, keeping separate projections: %s", error)

    # 2. Attention kernel: time each candidate on the model's own attention shape, keep the fastest that agrees
    try:
        report.attention_backend, report.attention_ms = pick_attention_backend(
            *attention_shape(transformer), dtype=transformer.dtype, device=device
        )
    except Exception as error:  # never worth a failed start: SDPA's own choice is correct, just slower
        logger.warning("attention kernel measurement failed, keeping SDPA's default: %s", error)

    # 3. Compile each transformer block (not the whole model): one graph serves all 30 blocks, compiles in a
    #    fraction of the whole-model time, and leaves the block boundaries in Python, where diffusers' step-cache
    #    hooks (the `fast` preset) wrap them without ever entering (and recompiling) the graph.
    if wants_compile(config, device):
        report.compile_cache_dir = configure_compile_cache(config.compile_cache_dir)
        compile_blocks(transformer, report)
    return report


def attention_shape(transformer: torch.nn.Module) -> tuple[int, int, int, int]:
    """(batch, heads, sequence, head_dim) of the transformer's attention at its native sample size, with CFG."""
    cfg = transformer.config
    patch_t = cfg.get("patch_size_t") or 1
    latent_frames = (cfg.sample_frames - 1) // cfg.temporal_compression_ratio + 1
    patches = (latent_frames // patch_t) * (cfg.sample_height // cfg.patch_size) * (cfg.sample_width // cfg.patch_size)
    return 2, cfg.num_attention_heads, cfg.max_text_seq_length + patches, cfg.attention_head_dim


def pick_attention_backend(
    batch: int, heads: int, seq: int, head_dim: int, dtype: torch.dtype, device: torch.device, repeats: int = 5
) -> tuple[str, dict[str, float]]:
    """Median milliseconds of each candidate SDPA kernel on this shape; returns the fastest that runs and agrees."""
    generator = torch.Generator(device=device).manual_seed(0)
    q, k, v = (torch.randn(batch, heads, seq, head_dim, device=device, dtype=dtype, generator=generator) for _ in range(3))
    timings: dict[str, float] = {}
    reference = None
    for name, backend in ATTENTION_CANDIDATES.items():
        try:
            with sdpa_kernel([backend]):
                out = torch.nn.functional.scaled_dot_product_attention(q, k, v)  # first call: kernel set-up
                times = []
                for _ in range(repeats):
                    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    start.record()
                    torch.nn.functional.scaled_dot_product_attention(q, k, v)
                    end.record()
                    end.synchronize()
                    times.append(start.elapsed_time(end))
        except RuntimeError as error:  # "No available kernel": this card or shape does not support it
            logger.info("attention candidate %s unavailable: %s", name, str(error).splitlines()[0])
            continue
        if reference is None:
            reference = out.float()
        error = ((out.float() - reference).norm() / reference.norm()).item()
        if not error <= ATTENTION_MAX_RELATIVE_ERROR:  # NaN fails too
            logger.warning("attention candidate %s disagrees with the others (relative error %.2e): not used", name, error)
            continue
        timings[name] = round(min(times), 3)  # the best of the repeats: least disturbed by other work on the GPU
    if not timings:
        return "default", timings
    best = min(timings, key=timings.__getitem__)
    logger.info("attention kernel %s (median ms per call: %s)", best, timings)
    return best, timings


def configure_compile_cache(cache_dir: Path) -> str:
    """Point Inductor's (and so Triton's) on-disk caches at `cache_dir`: a restart reuses the compiled kernels."""
    path = os.path.abspath(cache_dir)
    os.makedirs(path, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = path  # read when Inductor first needs it, i.e. at the first compile
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    os.environ.setdefault("TORCHINDUCTOR_AUTOGRAD_CACHE", "1")
    import torch._inductor.config as inductor_config

    inductor_config.fx_graph_cache = True
    return path


def compile_blocks(transformer: torch.nn.Module, report: TuningReport) -> None:
    """Replace each block's forward with a compiled one; static shapes (presets are locked), no graph breaks."""
    for block in transformer.transformer_blocks:
        report.eager_forwards.append((block, block.forward))
        block.forward = torch.compile(block.forward, fullgraph=True, dynamic=False)
    report.compiled = True


def fall_back_to_eager(pipe: CogVideoXPipeline, report: TuningReport) -> None:
    """Undo step 3 (compilation failed, e.g. no C compiler for Triton): the engine still serves, slower."""
    for block, _eager_forward in report.eager_forwards:
        vars(block).pop("forward", None)  # the class's forward again
    report.eager_forwards.clear()
    report.compiled = False
    report.notes.append("compile failed: eager")


def compile_count() -> int:
    """Graphs torch.compile has built in this process; any growth after warm-up is a recompile while serving."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])
