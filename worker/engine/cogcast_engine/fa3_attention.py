"""FlashAttention-3 (the fa3-fwd wheel) for CogVideoX's attention: a bf16 kernel (lossless) and an FP8 one (turbo).

Optional everywhere: `available()` is False on CPU, on cards older than Hopper (FA3 is sm_90 code) and where the
wheel is not installed (requirements-gpu.txt); the engine then keeps SDPA. The processors replace diffusers'
CogVideoX processors one for one and run inside the compiled blocks (fa3-fwd registers its kernel as a torch
custom op, so torch.compile traces it with fullgraph=True). FA3 works on (batch, sequence, heads, head_dim), the
layout the fused q/k/v projection already produces: no transposes in or out.
"""

import logging

import torch

logger = logging.getLogger(__name__)

# The largest finite float8_e4m3fn value: a tensor is scaled so that its absolute maximum lands here.
FP8_MAX = 448.0
FP8_DTYPE = getattr(torch, "float8_e4m3fn", None)


_flash_attn_func = None  # fa3_fwd_interface.flash_attn_func once loaded: a plain global the compiled graphs read


def _interface():
    """fa3-fwd's flash_attn_func, or None when the wheel is not importable here."""
    global _flash_attn_func
    if _flash_attn_func is None:
        try:
            import fa3_fwd_interface  # the wheel's top-level module; importing it loads the CUDA kernels
        except Exception as error:  # ImportError, or an OSError from a CUDA library that does not match
            logger.info("fa3-fwd not usable here: %s", error)
            return None
        _flash_attn_func = fa3_fwd_interface.flash_attn_func
    return _flash_attn_func


def available(device: torch.device) -> bool:
    """FA3 runs here: a Hopper (sm_90) CUDA device and the fa3-fwd wheel importable."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return False
    if torch.cuda.get_device_capability(device) != (9, 0):  # FA3's kernels are built for sm_90 alone
        return False
    return _interface() is not None


def attention_bf16(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v on (batch, seq, heads, dim), computed in bf16; returns q's dtype."""
    out = _flash_attn_func(q.to(torch.bfloat16), k.to(torch.bfloat16), v.to(torch.bfloat16))
    return out.to(q.dtype)


def _quantize(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """x (batch, seq, heads, dim) -> fp8 and its per-(batch, head) descale (float32, (batch, heads)), x ~ fp8 * descale."""
    amax = x.abs().amax(dim=(1, 3)).float().clamp(min=1e-6)  # (batch, heads)
    scale = amax / FP8_MAX
    fp8 = (x.float() / scale[:, None, :, None]).to(FP8_DTYPE)
    return fp8, scale


def attention_fp8(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The same attention with q, k, v in FP8 (e4m3), one scale per (batch, head) each; returns q's dtype.

    k and v are centred on their mean over the sequence first, both exact: softmax(q (k - m)^T) = softmax(q k^T)
    (each query's row moves by one constant), and softmax rows sum to 1, so attending to v - m_v and adding m_v
    back gives the same output. Centred, they use the few FP8 levels on what varies between tokens.
    """
    k = k - k.mean(dim=1, keepdim=True)
    v_mean = v.mean(dim=1, keepdim=True)
    v = v - v_mean
    q8, q_descale = _quantize(q)
    k8, k_descale = _quantize(k)
    v8, v_descale = _quantize(v)
    out = _flash_attn_func(q8, k8, v8, q_descale=q_descale, k_descale=k_descale, v_descale=v_descale)
    return (out.float() + v_mean.float()).to(q.dtype)


ATTENTION_FUNCTIONS = {"fa3": attention_bf16, "fa3-fp8": attention_fp8}


class CogVideoXFlashAttention3Processor:
    """diffusers' (Fused)CogVideoXAttnProcessor2_0 with FlashAttention-3 in place of SDPA; same inputs and outputs."""

    def __init__(self, kind: str = "fa3"):
        if _interface() is None:
            raise RuntimeError("fa3-fwd is not installed (worker/engine/requirements-gpu.txt)")
        self.kind = kind
        self.attention = ATTENTION_FUNCTIONS[kind]

    def __call__(
        self,
        attn,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        image_rotary_emb: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if attention_mask is not None:
            raise ValueError("attention_mask: CogVideoX's self-attention has none; FA3 here runs without masks")
        text_seq_length = encoder_hidden_states.size(1)
        dtype = hidden_states.dtype
        # bf16 where set_processors put the attention in bf16 (an fp16 model on the bf16 kernel): no casts around it
        compute_dtype = attn.to_out[0].weight.dtype
        hidden_states = torch.cat([encoder_hidden_states, hidden_states], dim=1).to(compute_dtype)
        batch_size, sequence_length, _ = hidden_states.shape

        # 1. q, k, v as (batch, seq, heads, head_dim): views of the projection's output
        if getattr(attn, "fused_projections", False):
            query, key, value = attn.to_qkv(hidden_states).chunk(3, dim=-1)
        else:
            query, key, value = attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states)
        head_dim = key.shape[-1] // attn.heads
        query, key, value = (t.view(batch_size, sequence_length, attn.heads, head_dim) for t in (query, key, value))
        if attn.norm_q is not None:  # LayerNorm over head_dim: the same in either layout
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)

        # 2. Rotary positions (CogVideoX-5b; the 2b model has none) on the video tokens, in diffusers' layout
        if image_rotary_emb is not None:
            from diffusers.models.embeddings import apply_rotary_emb

            def rotate(t: torch.Tensor) -> torch.Tensor:
                t = t.transpose(1, 2)
                video = apply_rotary_emb(t[:, :, text_seq_length:], image_rotary_emb)
                return torch.cat([t[:, :, :text_seq_length], video], dim=2).transpose(1, 2)

            query = rotate(query)
            if not attn.is_cross_attention:
                key = rotate(key)

        # 3. Attention, then the output projection on (batch, seq, heads * head_dim): a view, no copy
        hidden_states = self.attention(query, key, value).reshape(batch_size, sequence_length, attn.heads * head_dim)
        hidden_states = attn.to_out[1](attn.to_out[0](hidden_states)).to(dtype)
        encoder_hidden_states, hidden_states = hidden_states.split(
            [text_seq_length, hidden_states.size(1) - text_seq_length], dim=1
        )
        return hidden_states, encoder_hidden_states


def set_processors(transformer: torch.nn.Module, kind: str | None) -> None:
    """Put FA3 (`kind` fa3 or fa3-fp8) on every block's attention; None puts diffusers' own processors back.

    In an fp16 model, `fa3` also puts the attention's own layers (q/k/v projection, q/k norms, output projection)
    in bf16: FA3 reads and writes bf16, so its inputs come out of the projection in bf16 and its output goes into
    the next one as is, instead of two casting passes over (batch, seq, 1920) a block. q, k and v are bf16 either
    way; measured on an H200: 0.4499 -> 0.4448 s a forward, 0.22 % from stock both ways.
    """
    from diffusers.models.attention_processor import CogVideoXAttnProcessor2_0, FusedCogVideoXAttnProcessor2_0

    for block in transformer.transformer_blocks:
        attn = block.attn1
        model_dtype = block.norm1.linear.weight.dtype
        attention_dtype = torch.bfloat16 if kind == "fa3" and model_dtype == torch.float16 else model_dtype
        for layer in (attn.to_q, attn.to_k, attn.to_v, getattr(attn, "to_qkv", None), attn.norm_q, attn.norm_k,
                      attn.to_out[0]):
            if layer is not None:
                layer.to(attention_dtype)
        if kind is not None:
            attn.set_processor(CogVideoXFlashAttention3Processor(kind))
        elif getattr(attn, "fused_projections", False):
            attn.set_processor(FusedCogVideoXAttnProcessor2_0())
        else:
            attn.set_processor(CogVideoXAttnProcessor2_0())


def processors_kind(transformer: torch.nn.Module) -> str | None:
    """Which FA3 kernel the blocks' attention runs (None: diffusers' SDPA processors)."""
    processor = transformer.transformer_blocks[0].attn1.processor
    return processor.kind if isinstance(processor, CogVideoXFlashAttention3Processor) else None
