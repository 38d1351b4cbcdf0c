"""The `turbo` presets' transformer (precision fp8): FP8 attention and FP8 linears, a little fidelity for speed.

A second copy of the tuned transformer, made on the first fp8 job (the warm-up): the model in bf16, attention
through FlashAttention-3 in FP8 with per-(batch, head) scales and k, v centred (fa3_attention.attention_fp8), and
torchao's FP8 rowwise (dynamic per-token activations, per-channel weights) on the blocks' large linears: the fused
q/k/v projection and the feed-forward's two. The attention's output projection stays bf16 (1920x1920 ran slower in
FP8: 0.49 ms against 0.37 on an H200, the quantization costs more than the smaller GEMM saves).
It needs a Hopper GPU, the fa3-fwd wheel and torchao (requirements-gpu.txt), and room for the copy (resident
profile); wherever it cannot be built, fp8 presets run on the lossless transformer and `ready`'s notes say why.
H200: 0.376 s a step against 0.454 lossless; frames 45.4 dB PSNR from `standard` on random weights, and FP8
attention is 7-12 % off fp32 where the softmax is peaked (bench/results/h200-engine-2026-12-02.json, `attention`).
"""

import copy
import logging

import torch

from . import fa3_attention
from .fused_ff import unfuse_feed_forward

logger = logging.getLogger(__name__)

# Linears quantized to FP8, by their name inside a block (diffusers' CogVideoXBlock).
FP8_LINEARS = ("attn1.to_qkv", "attn1.to_q", "attn1.to_k", "attn1.to_v", "ff.net.0.proj", "ff.net.2")
TURBO_DTYPE = torch.bfloat16  # torchao's PerRow scaling wants bf16 weights; FA3's FP8 kernel returns bf16


def why_not_turbo(device: torch.device, memory_profile: str) -> str | None:
    """None where the turbo transformer can be built here, else the reason (for `ready`'s notes)."""
    if device.type != "cuda":
        return f"fp8 presets run the lossless kernels: no FP8 on {device.type}"
    if memory_profile != "resident":
        return "fp8 presets run the lossless kernels: no room for a second transformer in lowvram"
    if not fa3_attention.available(device):
        return "fp8 presets run the lossless kernels: FA3 needs a Hopper GPU and the fa3-fwd wheel"
    try:
        import torchao.quantization  # noqa: F401
    except Exception as error:  # ImportError, or a torchao built for another torch
        return f"fp8 presets run the lossless kernels: torchao not usable ({type(error).__name__})"
    return None


def is_fp8_linear(module: torch.nn.Module, fqn: str) -> bool:
    return isinstance(module, torch.nn.Linear) and "transformer_blocks." in fqn and fqn.endswith(FP8_LINEARS)


@torch.no_grad()
def build_turbo_transformer(transformer: torch.nn.Module) -> torch.nn.Module:
    """A bf16 copy of `transformer` with FP8 attention and FP8 large linears, eager (the caller compiles it)."""
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, quantize_

    turbo = copy.deepcopy(transformer)
    for block in turbo.transformer_blocks:
        vars(block).pop("forward", None)  # a compiled forward copied along still belongs to the original block
    unfuse_feed_forward(turbo)  # the GELU epilogue op takes plain weights, not torchao's FP8 tensors
    turbo.to(TURBO_DTYPE)
    fa3_attention.set_processors(turbo, "fa3-fp8")
    # set_inductor_config=False: torchao would otherwise turn on Inductor's coordinate-descent tuning for the whole
    # process (minutes more compiling, and every other graph, the lossless ones too, would change under us).
    config = Float8DynamicActivationFloat8WeightConfig(granularity=PerRow(), set_inductor_config=False)
    quantize_(turbo, config, filter_fn=is_fp8_linear)
    return turbo.eval()
