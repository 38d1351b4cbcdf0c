"""The engine's new kernels one at a time on CogVideoX-2b's shapes (random weights): time and error, JSON out.

    python bench/kernel_probe.py --out bench/results/h200-kernels-YYYY-MM-DD.json

Attention (cuDNN, FA3 bf16, FA3 FP8) on plain and peaked softmaxes; the feed-forward's GELU in or out of the GEMM's
epilogue; one transformer block compiled with each attention/FF variant (and Inductor's coordinate-descent tuning);
the turbo block; the VAE decode eager and tuned. Needs a Hopper GPU with fa3-fwd and torchao; never run as a test.
engine_bench.py imports the attention part for its own JSON.
"""

import argparse
import copy
import json
import sys
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "worker" / "engine"))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402

from bench_tools import Deadline, Results, psnr, rel_err  # noqa: E402

# How far q is scaled up for the peaked-softmax check: random weights give logits of standard deviation ~1 (nearly
# flat attention maps, which flatter FP8); a trained model's heads are much sharper.
PEAK_SCALES = (1.0, 4.0, 8.0)


def bench_ms(fn, reps: int = 20) -> float:
    """Median ms of `fn` (CUDA events, after warm-up)."""
    from triton.testing import do_bench

    return round(float(do_bench(fn, warmup=25, rep=max(50, reps * 10), return_mode="median")), 3)


def softmax_peak(q: torch.Tensor, k: torch.Tensor, rows: int = 256) -> float:
    """Mean largest attention weight over a sample of query rows (1/seq when flat, 1 when one-hot)."""
    qs = q[0, :rows, 0].float()
    logits = qs @ k[0, :, 0].float().T / q.shape[-1] ** 0.5
    return round(float(logits.softmax(-1).amax(-1).mean()), 4)


@torch.no_grad()
def attention_probe(batch: int = 2, seq: int = 17776, heads: int = 30, dim: int = 64) -> dict:
    """cuDNN (fp16), FA3 bf16 and FA3 FP8 at the model's attention shape: ms, TFLOP/s, error against fp32."""
    from cogcast_engine import fa3_attention

    out = {"shape_bshd": [batch, seq, heads, dim], "fa3_available": fa3_attention.available(torch.device("cuda")),
           "by_peak_scale": {}}
    flops = 4 * batch * heads * seq * seq * dim
    generator = torch.Generator(device="cuda").manual_seed(0)
    for alpha in PEAK_SCALES:
        # (batch, seq, heads, dim) like the projections make them; k and v get an offset like real activations
        q = torch.randn(batch, seq, heads, dim, device="cuda", generator=generator) * alpha
        k = torch.randn(batch, seq, heads, dim, device="cuda", generator=generator) + 0.5
        v = torch.randn(batch, seq, heads, dim, device="cuda", generator=generator) + 0.5
        q16, k16, v16 = (t.half() for t in (q, k, v))
        with sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION]):
            reference = F.scaled_dot_product_attention(*(t.transpose(1, 2) for t in (q, k, v))).transpose(1, 2)
        row = {"softmax_max_weight_mean": softmax_peak(q, k)}
        with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
            bhsd = [t.transpose(1, 2).contiguous() for t in (q16, k16, v16)]
            y_cudnn = F.scaled_dot_product_attention(*bhsd).transpose(1, 2)
            row["cudnn_fp16"] = {"rel_err_vs_fp32": rel_err(y_cudnn, reference)}
            if alpha == 1.0:
                row["cudnn_fp16"]["ms"] = bench_ms(lambda: F.scaled_dot_product_attention(*bhsd))
        if out["fa3_available"]:
            for name, fn in fa3_attention.ATTENTION_FUNCTIONS.items():
                y = fn(q16, k16, v16)
                row[name] = {"rel_err_vs_fp32": rel_err(y, reference), "rel_err_vs_cudnn_fp16": rel_err(y, y_cudnn)}
                if alpha == 1.0:
                    row[name]["ms"] = bench_ms(lambda fn=fn: fn(q16, k16, v16))
            # FP8 with a plain cast (no centring), to show what the centring buys
            row["fa3-fp8-plain-cast"] = {"rel_err_vs_fp32": rel_err(fa3_plain_fp8(q16, k16, v16), reference)}
        for name, cell in row.items():
            if isinstance(cell, dict) and "ms" in cell:
                cell["tflops"] = round(flops / (cell["ms"] / 1000) / 1e12, 1)
        out["by_peak_scale"][str(alpha)] = row
        del q, k, v, q16, k16, v16, reference, y_cudnn, bhsd
        torch.cuda.empty_cache()
    return out


def fa3_plain_fp8(q, k, v):
    from cogcast_engine import fa3_attention

    fp8 = fa3_attention.FP8_DTYPE
    one = torch.ones(q.shape[0], q.shape[2], device=q.device, dtype=torch.float32)
    return fa3_attention._flash_attn_func(q.to(fp8), k.to(fp8), v.to(fp8), q_descale=one, k_descale=one,
                                          v_descale=one).to(q.dtype)


@torch.no_grad()
def feed_forward_probe(tokens: int = 2 * 17776, dim: int = 1920, inner: int = 7680) -> dict:
    """linear + tanh-GELU: compiled apart (Inductor) against the cuBLASLt epilogue op (fused_ff.py)."""
    from cogcast_engine.fused_ff import linear_gelu_tanh

    x = torch.randn(2, tokens // 2, dim, device="cuda", dtype=torch.float16)
    w = torch.randn(inner, dim, device="cuda", dtype=torch.float16) / dim**0.5
    b = torch.randn(inner, device="cuda", dtype=torch.float16) * 0.1
    apart = torch.compile(lambda x: F.gelu(F.linear(x, w, b), approximate="tanh"), dynamic=False)
    fused = torch.compile(lambda x: linear_gelu_tanh(x, w, b), dynamic=False)
    reference = F.gelu(F.linear(x.float(), w.float(), b.float()), approximate="tanh")
    return {
        "apart_ms": bench_ms(lambda: apart(x)),
        "fused_ms": bench_ms(lambda: fused(x)),
        "eager_fused_ms": bench_ms(lambda: linear_gelu_tanh(x, w, b)),
        "apart_rel_err": rel_err(apart(x), reference),
        "fused_rel_err": rel_err(fused(x), reference),
    }


@torch.no_grad()
def block_probe(transformer, deadline: Deadline) -> dict:
    """One block compiled per variant: forward ms and error against the stock eager block (fp16, cuDNN)."""
    from cogcast_engine import fa3_attention, turbo
    from cogcast_engine.fused_ff import fuse_feed_forward
    from cogcast_engine.tuning import compile_count

    cfg = transformer.config
    dim = cfg.num_attention_heads * cfg.attention_head_dim
    generator = torch.Generator(device="cuda").manual_seed(1)
    hidden = torch.randn(2, 17550, dim, device="cuda", dtype=torch.float16, generator=generator)
    text = torch.randn(2, 226, dim, device="cuda", dtype=torch.float16, generator=generator)
    temb = torch.randn(2, cfg.time_embed_dim, device="cuda", dtype=torch.float16, generator=generator)
    stock_block = copy.deepcopy(transformer.transformer_blocks[0])
    with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
        reference = stock_block(hidden, text, temb)[0]
        rows = {"stock_eager": {"ms": bench_ms(lambda: stock_block(hidden, text, temb))}}

    def variant(name, attention, fuse_gelu, cdt=False, fp8=False):
        if deadline.left() < 60:
            rows[name] = {"skipped": "out of time"}
            return
        import torch._inductor.config as inductor_config

        holder = copy.deepcopy(transformer) if fp8 else None
        try:
            if fp8:
                holder.transformer_blocks = torch.nn.ModuleList([holder.transformer_blocks[0]])
                holder = turbo.build_turbo_transformer(holder)
                block = holder.transformer_blocks[0]
                inputs = [t.to(turbo.TURBO_DTYPE) for t in (hidden, text, temb)]
            else:
                block = copy.deepcopy(stock_block)
                block.attn1.fuse_projections(fuse=True)
                holder = torch.nn.Module()
                holder.transformer_blocks = torch.nn.ModuleList([block])
                fa3_attention.set_processors(holder, None if attention == "sdpa" else attention)
                if fuse_gelu:
                    fuse_feed_forward(holder)
                inputs = [hidden, text, temb]
            inductor_config.coordinate_descent_tuning = cdt
            before, start = compile_count(), time.perf_counter()
            compiled = torch.compile(block.forward, fullgraph=True, dynamic=False)
            with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
                y = compiled(*inputs)[0]
                compile_s = round(time.perf_counter() - start, 1)
                rows[name] = {"ms": bench_ms(lambda: compiled(*inputs)), "compile_s": compile_s,
                              "graphs": compile_count() - before, "rel_err_vs_stock_eager": rel_err(y, reference)}
        except Exception:
            rows[name] = {"error": traceback.format_exc(limit=6)}
        finally:
            inductor_config.coordinate_descent_tuning = False
        print(f"[probe] block {name}: {rows[name]}", flush=True)

    variant("compiled_sdpa_cudnn", "sdpa", False)
    variant("compiled_fa3", "fa3", False)
    variant("compiled_fa3_fused_gelu", "fa3", True)
    variant("turbo_fp8", None, False, fp8=True)
    variant("compiled_fa3_fused_gelu_coordinate_descent", "fa3", True, cdt=True)
    return rows


@torch.no_grad()
def vae_probe(vae, deadline: Deadline) -> dict:
    """The VAE decode of one clip's latents, eager against vae_decode.py's tuning: seconds and PSNR between them."""
    import numpy as np

    from cogcast_engine.tuning import TuningReport
    from cogcast_engine.vae_decode import tune_vae_decode

    generator = torch.Generator(device="cuda").manual_seed(2)
    latents = torch.randn(1, 16, 13, 60, 90, device="cuda", dtype=torch.float16, generator=generator)

    def decode():
        torch.cuda.synchronize()
        start = time.perf_counter()
        video = vae.decode(latents).sample
        torch.cuda.synchronize()
        frames = ((video[0].float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu().numpy()
        return frames, round(time.perf_counter() - start, 3)

    eager_frames, eager_s = decode()
    _, eager_s2 = decode()
    out = {"eager_s": [eager_s, eager_s2]}
    if deadline.left() < 90:
        out["tuned"] = "skipped: out of time"
        return out
    report = TuningReport()
    out["applied"] = tune_vae_decode(vae, report)
    frames, first_s = decode()
    times = [decode()[1] for _ in range(2)]
    out.update(tuned_first_call_s=first_s, tuned_s=times, psnr_tuned_vs_eager_db=psnr(frames, eager_frames),
               max_abs_diff=int(np.abs(frames.astype(int) - eager_frames.astype(int)).max()))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--deadline-s", type=float, default=400)
    args = parser.parse_args(argv)
    deadline = Deadline(args.deadline_s)
    results = Results(Path(args.out))
    import diffusers

    results["meta"] = {"command": "python " + " ".join(sys.argv), "gpu": torch.cuda.get_device_name(),
                       "torch": torch.__version__, "diffusers": diffusers.__version__,
                       "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
    for name in ("fa3_fwd_interface", "torchao"):
        try:
            module = __import__(name)
            results["meta"][name] = getattr(module, "__version__", "imported")
        except Exception as error:
            results["meta"][name] = f"{type(error).__name__}: {error}"
    results.save()
    from random_cogvideox import build_pipeline

    from cogcast_engine.tuning import attention_shape, pick_attention_backend

    pipe = build_pipeline(torch.device("cuda"))
    for name, fn in (
        ("picker", lambda: dict(zip(("choice", "ms"), pick_attention_backend(
            *attention_shape(pipe.transformer), dtype=torch.float16, device=torch.device("cuda"))))),
        ("attention", attention_probe),
        ("feed_forward", feed_forward_probe),
        ("vae_decode", lambda: vae_probe(pipe.vae, deadline)),
        ("block", lambda: block_probe(pipe.transformer, deadline)),
    ):
        start = time.perf_counter()
        try:
            results[name] = fn()
        except Exception:
            results[name] = {"error": traceback.format_exc(limit=8)}
        results.setdefault("part_seconds", {})[name] = round(time.perf_counter() - start, 1)
        print(f"[probe] {name}: {json.dumps(results[name], default=str)[:1500]}", flush=True)
        results.save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
