"""The FA3, FP8 (turbo), fused-GELU and VAE tunings on CPU: each degrades to today's path, and their logic holds."""

import pytest
import torch
import torch.nn.functional as F

from cogcast_engine import fa3_attention
from cogcast_engine.envs import EngineConfig
from engine_process import tiny_settings
from cogcast_engine.fused_ff import fuse_feed_forward
from cogcast_engine.generate import generate
from cogcast_engine.pipeline_loader import load_pipeline
from cogcast_engine.presets import load_presets, parse_presets
from cogcast_engine.tuning import configure_allocator
from cogcast_engine.turbo import FP8_LINEARS, is_fp8_linear, why_not_turbo
from conftest import REPO_ROOT

BASE = {"description": "d", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 2, "guidance": 6.0}
TURBO = {**BASE, "precision": "fp8", "tradesFidelity": True}


def table(**presets):
    return parse_presets({"default": next(iter(presets)), "presets": presets})
CPU = torch.device("cpu")


def sdpa_in_fa3_layout(q, k, v, q_descale=None, k_descale=None, v_descale=None):
    """A stand-in for fa3-fwd's flash_attn_func on (batch, seq, heads, dim), dequantizing FP8 inputs like FA3 does."""
    def dequantize(t, descale):
        return t.float() if descale is None else t.float() * descale[:, None, :, None]

    q, k, v = dequantize(q, q_descale), dequantize(k, k_descale), dequantize(v, v_descale)
    return F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)).transpose(1, 2)


@pytest.fixture
def stand_in_fa3(monkeypatch):
    monkeypatch.setattr(fa3_attention, "_flash_attn_func", sdpa_in_fa3_layout)


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_pipeline(EngineConfig.from_settings(tiny_settings(tiny_model_dir)))


def tiny_transformer():
    from diffusers import CogVideoXTransformer3DModel

    torch.manual_seed(0)
    return CogVideoXTransformer3DModel(
        num_attention_heads=2, attention_head_dim=8, in_channels=4, out_channels=4, time_embed_dim=8, text_embed_dim=16,
        num_layers=2, sample_width=8, sample_height=8, sample_frames=5, patch_size=2, temporal_compression_ratio=4,
        max_text_seq_length=4,
    ).eval()


def test_fa3_is_unavailable_on_cpu_and_its_processor_refuses_without_the_wheel(monkeypatch):
    assert fa3_attention.available(CPU) is False
    monkeypatch.setattr(fa3_attention, "_flash_attn_func", None)
    monkeypatch.setattr(fa3_attention, "_interface", lambda: None)
    with pytest.raises(RuntimeError, match="fa3-fwd is not installed"):
        fa3_attention.CogVideoXFlashAttention3Processor("fa3")


@torch.no_grad()
def test_fa3_processor_computes_what_diffusers_processor_does(stand_in_fa3, monkeypatch):
    # The kernel exact (no bf16 cast): only the processor's layout handling is under test.
    monkeypatch.setitem(fa3_attention.ATTENTION_FUNCTIONS, "fa3", lambda q, k, v: sdpa_in_fa3_layout(q, k, v))
    transformer = tiny_transformer()
    transformer.fuse_qkv_projections()
    inputs = (torch.randn(2, 2, 4, 8, 8), torch.randn(2, 4, 16), torch.tensor([10, 10]))
    expected = transformer(*inputs, return_dict=False)[0]
    fa3_attention.set_processors(transformer, "fa3")
    assert fa3_attention.processors_kind(transformer) == "fa3"
    actual = transformer(*inputs, return_dict=False)[0]
    assert torch.allclose(actual, expected, rtol=1e-5, atol=1e-6)
    fa3_attention.set_processors(transformer, None)
    assert fa3_attention.processors_kind(transformer) is None
    assert torch.equal(transformer(*inputs, return_dict=False)[0], expected)


def test_fp8_attention_is_close_and_blind_to_shifts_of_k_and_v(stand_in_fa3):
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 64, 2, 16, generator=generator) for _ in range(3))
    exact = sdpa_in_fa3_layout(q, k, v)
    approx = fa3_attention.attention_fp8(q, k, v)
    assert ((approx - exact).norm() / exact.norm()).item() < 0.08, "FP8 (e4m3) inputs: a few percent at most"
    # Centring makes a per-(batch, head) offset of k (softmax-invariant) and of v (added back) cost nothing in FP8.
    offset = torch.randn(2, 1, 2, 16, generator=generator) * 20
    shifted = fa3_attention.attention_fp8(q, k + offset, v + offset)
    assert ((shifted - (approx + offset)).norm() / exact.norm()).item() < 1e-2


def test_fused_gelu_is_left_out_on_cpu():
    assert fuse_feed_forward(tiny_transformer()) == 0


def test_turbo_says_why_it_is_not_built_on_cpu(loaded):
    assert "no FP8 on cpu" in why_not_turbo(CPU, "resident")
    presets = table(turbo=TURBO, standard=BASE)
    with loaded.transformer_for(presets.get("turbo")) as transformer:
        assert transformer is loaded.pipe.transformer and loaded.turbo is None
    assert any("no FP8 on cpu" in note for note in loaded.tuning.notes)


def test_an_fp8_preset_on_cpu_makes_the_lossless_frames(loaded):
    presets = table(turbo=TURBO, standard=BASE)
    turbo = generate(loaded, presets.get("turbo"), "a red fox", seed=5)
    standard = generate(loaded, presets.get("standard"), "a red fox", seed=5)
    assert (turbo.frames == standard.frames).all()


def test_cpu_tuning_stays_eager(loaded):
    summary = loaded.tuning.summary()
    assert (summary["compiled"], summary["fused_gelu"], summary["vae_decode"]) == (False, False, "eager")
    assert summary["attention"] == "default"
    assert configure_allocator(CPU) is None or "PYTORCH_CUDA_ALLOC_CONF" in __import__("os").environ


def test_fp8_linears_are_the_blocks_large_ones():
    linear = torch.nn.Linear(4, 4)
    assert is_fp8_linear(linear, "transformer_blocks.3.ff.net.2")
    assert is_fp8_linear(linear, "transformer_blocks.0.attn1.to_qkv")
    assert not is_fp8_linear(linear, "transformer_blocks.0.attn1.to_out.0"), "1920x1920 ran slower in FP8"
    assert not is_fp8_linear(linear, "transformer_blocks.0.norm1.linear")
    assert not is_fp8_linear(linear, "proj_out") and "ff.net.0.proj" in FP8_LINEARS
    assert not is_fp8_linear(torch.nn.LayerNorm(4), "transformer_blocks.0.ff.net.2")


def test_precision_parses_and_a_bad_one_names_the_field():
    presets = table(a=TURBO, b=BASE)
    assert (presets.get("a").precision, presets.get("b").precision) == ("fp8", "full")
    assert presets.get("a").shape_key == presets.get("b").shape_key
    assert presets.get("a").warmup_key != presets.get("b").warmup_key, "fp8 runs graphs of its own: warmed apart"
    with pytest.raises(ValueError, match=r"presets\.a\.precision"):
        table(a={**BASE, "precision": "int4", "tradesFidelity": True})
    with pytest.raises(ValueError, match="an fp8 preset must say tradesFidelity: true"):
        table(a={**BASE, "precision": "fp8"})


def test_shipped_turbo_preset_is_fp8_at_standards_shape_and_steps():
    presets = load_presets(REPO_ROOT / "config" / "presets.json")
    standard, turbo = presets.get("standard"), presets.get("turbo")
    assert turbo.precision == "fp8" and standard.precision == "full" and turbo.cache is None
    assert (turbo.shape_key, turbo.steps) == (standard.shape_key, standard.steps)


@torch.no_grad()
def test_fa3_runs_an_fp16_models_attention_in_bf16_and_gives_it_back(stand_in_fa3):
    transformer = tiny_transformer().half()
    transformer.fuse_qkv_projections()
    inputs = (torch.randn(2, 2, 4, 8, 8).half(), torch.randn(2, 4, 16).half(), torch.tensor([10, 10]))
    expected = transformer(*inputs, return_dict=False)[0].float()
    fa3_attention.set_processors(transformer, "fa3")
    attn = transformer.transformer_blocks[0].attn1
    assert (attn.to_qkv.weight.dtype, attn.norm_q.weight.dtype, attn.to_out[0].weight.dtype) == (torch.bfloat16,) * 3
    assert transformer.transformer_blocks[0].ff.net[2].weight.dtype == torch.float16, "only the attention changes"
    actual = transformer(*inputs, return_dict=False)[0]
    assert actual.dtype == torch.float16
    assert ((actual.float() - expected).norm() / expected.norm()).item() < 2e-2
    fa3_attention.set_processors(transformer, None)
    assert attn.to_qkv.weight.dtype == torch.float16
