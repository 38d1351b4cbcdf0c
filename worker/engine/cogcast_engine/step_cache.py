"""Per-job step caching (diffusers' cache hooks on the transformer): on for presets that ask for it, off after.

The hooks wrap the transformer blocks from the outside, around their compiled forwards (tuning.compile_blocks), so
turning a cache on or off never changes (or recompiles) a graph. Enabled per job, they also start each job with
empty state: a cache never carries one job's features into the next.
"""

import contextlib
from collections.abc import Iterator

import torch

from .presets import StepCache

# TaylorSeer: the first steps always run in full (they set the trend the others are extrapolated from).
TAYLORSEER_FULL_STEPS_FIRST = 3


def diffusers_cache_config(spec: StepCache):
    """The diffusers config object for a preset's `cache` field."""
    from diffusers.hooks import FirstBlockCacheConfig, TaylorSeerCacheConfig

    if spec.kind == "first_block":
        return FirstBlockCacheConfig(threshold=spec.threshold)
    if spec.kind == "taylorseer":
        # Lite mode: only the final projection's output is extrapolated (a few MB), the blocks are skipped outright;
        # the full mode would keep two feature maps per block (~8 GB at 720x480x49), too much beside lowvram.
        return TaylorSeerCacheConfig(
            cache_interval=spec.interval,
            disable_cache_before_step=TAYLORSEER_FULL_STEPS_FIRST,
            max_order=1,
            taylor_factors_dtype=torch.float32,
            use_lite_mode=True,
        )
    raise ValueError(f"unknown step cache kind {spec.kind!r}")


@contextlib.contextmanager
def step_cache(transformer: torch.nn.Module, spec: StepCache | None) -> Iterator[None]:
    """Enable `spec` on `transformer` for the enclosed denoising loop; always disabled again on the way out."""
    if spec is None:
        yield
        return
    transformer.enable_cache(diffusers_cache_config(spec))
    try:
        yield
    finally:
        transformer.disable_cache()
