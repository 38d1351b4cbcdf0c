"""The feed-forward's first linear and its tanh-GELU as one cuBLASLt GEMM (the GELU in the GEMM's epilogue).

CogVideoX's feed-forward widens 1920 -> 7680 channels, applies GELU (tanh approximation), then narrows again.
Apart, the GELU is one more pass over the widest tensor of the block (545 MB a block at 720x480x49 with CFG):
read and written once more, 30 times a step. cuBLASLt applies bias and GELU to the accumulator before it is
stored, so that pass disappears. A custom op keeps Inductor from splitting it back into a GEMM and a pointwise
kernel. On CPU (and wherever the op is not wanted) the blocks keep diffusers' own module.
"""

import torch

_OP_NAME = "cogcast::linear_gelu_tanh"


@torch.library.custom_op(_OP_NAME, mutates_args=(), device_types="cuda")
def linear_gelu_tanh(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """gelu(x @ weight.T + bias, approximate="tanh") with the activation in the GEMM's epilogue (CUDA only)."""
    flat = x.reshape(-1, x.shape[-1])
    out = torch._addmm_activation(bias, flat, weight.t(), use_gelu=True)
    return out.view(*x.shape[:-1], weight.shape[0])


@linear_gelu_tanh.register_fake
def _(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return x.new_empty(*x.shape[:-1], weight.shape[0])


class LinearGeluTanh(torch.nn.Module):
    """Drop-in for diffusers' GELU(approximate="tanh") module (its `proj` linear, then the activation)."""

    def __init__(self, proj: torch.nn.Linear):
        super().__init__()
        self.proj = proj  # same parameters, same state-dict keys

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        return linear_gelu_tanh(hidden_states, self.proj.weight, self.proj.bias)


def fuse_feed_forward(transformer: torch.nn.Module) -> int:
    """Swap each block's GELU(tanh) projection for LinearGeluTanh, on CUDA; returns how many were swapped."""
    from diffusers.models.activations import GELU

    swapped = 0
    for block in getattr(transformer, "transformer_blocks", []):
        first = block.ff.net[0]
        if (
            isinstance(first, GELU)
            and first.approximate == "tanh"
            and first.proj.bias is not None
            and first.proj.weight.is_cuda
            and first.proj.weight.dtype in (torch.float16, torch.bfloat16)
        ):
            block.ff.net[0] = LinearGeluTanh(first.proj)
            swapped += 1
    return swapped


def unfuse_feed_forward(transformer: torch.nn.Module) -> None:
    """diffusers' own GELU modules back (the bench's stock and FP8 copies)."""
    from diffusers.models.activations import GELU

    for block in getattr(transformer, "transformer_blocks", []):
        first = block.ff.net[0]
        if isinstance(first, LinearGeluTanh):
            gelu = GELU(first.proj.in_features, first.proj.out_features, approximate="tanh", bias=True)
            gelu.proj = first.proj
            block.ff.net[0] = gelu
