"""Speed-ups applied to a loaded pipeline on CUDA (attention kernel, fused projections, compiled blocks), in one place.

Everything here is optional: on CPU, or when a step is unavailable, the pipeline stays eager and correct. Choices
that depend on the card (which attention kernel is fastest) are made by measuring on it, at start-up.
Measured on an H200 with the full-size CogVideoX-2b (bench/engine_bench.py, bench/results/h200-engine-2026-12-02.json).
"""

import contextlib
import logging
import os
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from diffusers import CogVideoXPipeline
from torch.nn.attention import SDPBackend, sdpa_kernel

from . import fa3_attention
from .envs import EngineConfig
from .fused_ff import fuse_feed_forward
from .presets import Preset
from .vae_decode import tune_vae_decode

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
# Candidates beside SDPA's: FlashAttention-3 in bf16 (fa3_attention.py), put on the blocks as their processor. The
# picker keeps it only when it is faster than every SDPA kernel and within ATTENTION_MAX_RELATIVE_ERROR of cuDNN
# (H200: 9.0 ms against cuDNN's 11.0, 0.18 % apart; a forward 0.445 s against cuDNN-compiled 0.55, stock 0.65).
PROCESSOR_CANDIDATES = ("fa3",)
# The feed-forward's first linear with its tanh-GELU in cuBLASLt's epilogue (fused_ff.py): one pass fewer over its
# 4x-wide output: 1.97 -> 1.74 ms a block on an H200, closer to fp32 too (bench/results/h200-kernels-2026-12-02.json).
FUSE_FEED_FORWARD_GELU = True


@dataclass
class TuningReport:
    fused_qkv: bool = False
    fused_gelu: bool = False
    compiled: bool = False
    attention_backend: str = "default"  # an SDPA kernel (ATTENTION_CANDIDATES) or a processor (PROCESSOR_CANDIDATES)
    sdpa_backend: str = "default"  # the fastest SDPA kernel: every attention a processor does not take
    attention_ms: dict[str, float] = field(default_factory=dict)  # candidate -> median ms on the model's shape
    vae_decode: str = "eager"
    compile_cache_dir: str | None = None
    notes: list[str] = field(default_factory=list)
    # Each compiled block and its eager forward, kept so a failed compilation at warm-up can fall back to eager.
    eager_forwards: list[tuple[torch.nn.Module, object]] = field(default_factory=list)
    # The tuned transformer, so that attention() can put the processor matching attention_backend on it (CFG
    # parallelism may replace the choice with the leader's after tuning; the first job then installs it).
    transformer_ref: object = None

    @contextlib.contextmanager
    def attention(self) -> Iterator[None]:
        """Run the enclosed work (a whole job, warm-up included, so compiled graphs see the same) on the chosen kernel."""
        transformer = self.transformer_ref() if self.transformer_ref is not None else None
        if transformer is not None:
            wanted = self.attention_backend if self.attention_backend in PROCESSOR_CANDIDATES else None
            if fa3_attention.processors_kind(transformer) != wanted:
                fa3_attention.set_processors(transformer, wanted)
        backend = ATTENTION_CANDIDATES.get(self.attention_backend, ATTENTION_CANDIDATES.get(self.sdpa_backend))
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
            "fused_gelu": self.fused_gelu,
            "compiled": self.compiled,
            "attention": self.attention_backend,
            "attention_ms": self.attention_ms,
            "vae_decode": self.vae_decode,
            "notes": self.notes,
        }


def wants_compile(config: EngineConfig, device: torch.device) -> bool:
    if device.type != "cuda":
        if config.compile == "1":
            logger.warning("ENGINE_COMPILE=1 ignored: torch.compile is only used on cuda (device is %s)", device)
        return False
    return config.compile in ("1", "auto")


def apply_tuning(pipe: CogVideoXPipeline, config: EngineConfig, device: torch.device) -> TuningReport:
    """Tune `pipe` in place for `device`; returns what was applied.

    Every step hooks the transformer alone, the same class (CogVideoXTransformer3DModel) in the text- and the
    image-to-video pipelines: the image's latents only widen the patch embedding's input, which none of them touch.
    """
    report = TuningReport()
    if device.type != "cuda":
        wants_compile(config, device)  # logs when compile was asked for on CPU
        report.notes.append(f"eager on {device.type}")
        return report
    transformer = pipe.transformer
    report.transformer_ref = weakref.ref(transformer)
    # Measured and left out: CUDA graphs (kernels already fill 99% of a step: nothing left for graphs to hide).

    # 1. Fuse the attention's q/k/v projections into one matmul (one larger GEMM instead of three)
    if hasattr(transformer, "fuse_qkv_projections"):
        try:
            transformer.fuse_qkv_projections()
            report.fused_qkv = True
        except Exception as error:  # an attention processor without fused support: stay unfused
            logger.warning("fuse_qkv_projections failed, keeping separate projections: %s", error)

    # 2. Attention kernel: time each candidate on the model's own attention shape, keep the fastest that agrees
    try:
        shape = attention_shape(transformer, config.presets.presets.values(), pipe.vae_scale_factor_spatial)
        report.attention_backend, report.attention_ms = pick_attention_backend(
            *shape, dtype=transformer.dtype, device=device
        )
        sdpa_ms = {name: ms for name, ms in report.attention_ms.items() if name in ATTENTION_CANDIDATES}
        report.sdpa_backend = min(sdpa_ms, key=sdpa_ms.__getitem__) if sdpa_ms else "default"
    except Exception as error:  # never worth a failed start: SDPA's own choice is correct, just slower
        logger.warning("attention kernel measurement failed, keeping SDPA's default: %s", error)
    if report.attention_backend in PROCESSOR_CANDIDATES:
        fa3_attention.set_processors(transformer, report.attention_backend)

    # 3. The feed-forward's GELU in its first GEMM's epilogue
    if FUSE_FEED_FORWARD_GELU:
        report.fused_gelu = fuse_feed_forward(transformer) > 0

    # 4. Compile each transformer block (not the whole model): one graph serves all 30 blocks, compiles in a
    #    fraction of the whole-model time, and leaves the block boundaries in Python, where diffusers' step-cache
    #    hooks (the `fast` preset) wrap them without ever entering (and recompiling) the graph.
    if wants_compile(config, device):
        report.compile_cache_dir = configure_compile_cache(config.compile_cache_dir)
        compile_blocks(transformer, report)
        # 5. The VAE decoder: compiled, its 3D convolutions channels-last, cuDNN's autotuner on (vae_decode.py)
        report.vae_decode = tune_vae_decode(pipe.vae, report)
    return report


def attention_shape(
    transformer: torch.nn.Module, presets: Iterable[Preset] = (), spatial_scale: int = 8
) -> tuple[int, int, int, int]:
    """(batch, heads, sequence, head_dim) of the transformer's attention, with CFG, on the longest of `presets`
    (the shapes it will serve), else at its native sample size.

    CogVideoX1.5's config says 300x300 latents (2400 px), a sequence no preset comes near: only the presets tell.
    """
    cfg = transformer.config
    patch_t = cfg.get("patch_size_t") or 1
    latent_sizes = [(p.frames, p.height // spatial_scale, p.width // spatial_scale) for p in presets]
    latent_sizes = latent_sizes or [(cfg.sample_frames, cfg.sample_height, cfg.sample_width)]

    def patches(frames: int, height: int, width: int) -> int:
        latent_frames = (frames - 1) // cfg.temporal_compression_ratio + 1
        # 1.5 pads the latent frames to whole temporal patches
        return -(-latent_frames // patch_t) * (height // cfg.patch_size) * (width // cfg.patch_size)

    longest = max(patches(*size) for size in latent_sizes)
    return 2, cfg.num_attention_heads, cfg.max_text_seq_length + longest, cfg.attention_head_dim


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
                out, ms = time_attention(lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v), repeats)
        except RuntimeError as error:  # "No available kernel": this card or shape does not support it
            logger.info("attention candidate %s unavailable: %s", name, str(error).splitlines()[0])
            continue
        if reference is None:
            reference = out.float()
        error = ((out.float() - reference).norm() / reference.norm()).item()
        if not error <= ATTENTION_MAX_RELATIVE_ERROR:  # NaN fails too
            logger.warning("attention candidate %s disagrees with the others (relative error %.2e): not used", name, error)
            continue
        timings[name] = ms
    if reference is not None and fa3_attention.available(device):
        try:
            q, k, v = (t.transpose(1, 2).contiguous() for t in (q, k, v))  # FA3's (batch, seq, heads, dim)
            out, ms = time_attention(lambda: fa3_attention.attention_bf16(q, k, v), repeats)
            error = ((out.transpose(1, 2).float() - reference).norm() / reference.norm()).item()
            if error <= ATTENTION_MAX_RELATIVE_ERROR:
                timings["fa3"] = ms
            else:
                logger.warning("attention candidate fa3 disagrees with SDPA (relative error %.2e): not used", error)
        except Exception as error:  # a kernel that cannot run this shape: SDPA stays
            logger.warning("attention candidate fa3 failed: %s", error)
    if not timings:
        return "default", timings
    best = min(timings, key=timings.__getitem__)
    logger.info("attention kernel %s (median ms per call: %s)", best, timings)
    return best, timings


def time_attention(call, repeats: int) -> tuple[torch.Tensor, float]:
    """`call`'s output and its best time in ms over `repeats` (the least disturbed by other work on the GPU)."""
    out = call()  # first call: kernel set-up
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        call()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return out, round(min(times), 3)


def configure_allocator(device: torch.device) -> str | None:
    """Expandable segments for PyTorch's CUDA allocator, unless PYTORCH_CUDA_ALLOC_CONF says otherwise.

    Measured on an H200 over a stream of mixed presets: the same time (65.6 s against 65.8 s) with 2 GiB less
    reserved at the peak (39.6 against 41.6 GiB): segments grow in place instead of fragmenting between shapes.
    """
    if device.type != "cuda" or "PYTORCH_CUDA_ALLOC_CONF" in os.environ:
        return os.environ.get("PYTORCH_CUDA_ALLOC_CONF")
    settings = "expandable_segments:True"
    try:
        torch.cuda.memory._set_allocator_settings(settings)
    except Exception as error:  # an allocator that does not know the setting: the default one serves
        logger.warning("allocator setting %s not applied: %s", settings, error)
        return None
    return settings


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
    """Undo compilation (it failed, e.g. no C compiler for Triton): the engine still serves, slower."""
    for block, _eager_forward in report.eager_forwards:
        vars(block).pop("forward", None)  # the class's forward again
    report.eager_forwards.clear()
    report.compiled = False
    if report.vae_decode != "eager":  # eager convolutions are slower channels-last (5.4 s against 2.3 s a decode)
        for module in pipe.vae.decoder.modules():
            if isinstance(module, torch.nn.Conv3d):
                module.to(memory_format=torch.contiguous_format)
        report.vae_decode = "eager"
    report.notes.append("compile failed: eager")


def compile_count() -> int:
    """Graphs torch.compile has built in this process; any growth after warm-up is a recompile while serving."""
    from torch._dynamo.utils import counters

    return int(counters["stats"]["unique_graphs"])
