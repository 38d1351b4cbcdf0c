"""Stock diffusers vs cogcast's engine on CogVideoX-2b's full-size architecture (random weights): one run, JSON out.

    python bench/engine_bench.py --out bench/results/h200-engine-YYYY-MM-DD.json

Needs a CUDA GPU (about 40 GB free) and the engine's Python packages (and requirements-gpu.txt for FA3 and FP8).
In one process, on the same weights, seed and preset: stock diffusers (eager fp16, default attention, CFG batch 2,
720x480x49), the attention kernels on plain and peaked softmaxes, then the engine's own path (cogcast_engine's
prepare_pipeline, Engine warm-up from a cold compile cache, generate: exactly what the worker runs): one forward of
the lossless and the fp8 (turbo) transformer against stock, short runs of both against stock's frames, then 5
back-to-back jobs of mixed presets (standard, turbo, fast on one seed, then standard and turbo on another) through
the engine's request loop; then a child process restarts the engine from this run's compile cache (warm warm-up),
and with --lowvram another on the lowvram profile under a VRAM cap. `--tiny` runs the same script on the CPU test
pipeline in seconds (to check the script; its numbers mean nothing). Never run as a test.
"""

import argparse
import copy
import dataclasses
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from types import SimpleNamespace

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "worker" / "engine"))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402

from bench_tools import (  # noqa: E402
    CUDA, GIB, Deadline, GpuTimeline, RecordingWriter, Results, empty_cache, gib, median, now, part, peak_allocated,
    peak_reserved, psnr, rel_err, reset_peaks, ssim, top_kernels,
)
from cogcast_engine.engine import Engine  # noqa: E402
from cogcast_engine.envs import EngineConfig  # noqa: E402
from cogcast_engine.generate import _decode, generate  # noqa: E402
from cogcast_engine.pipeline_loader import prepare_pipeline, resolve_memory_profile, usable_vram_bytes  # noqa: E402
from cogcast_engine.presets import StepCache, load_presets, parse_cache  # noqa: E402
from cogcast_engine.tuning import attention_shape, compile_count  # noqa: E402

DEVICE = torch.device("cuda") if CUDA else torch.device("cpu")
PRESETS_FILE = REPO_ROOT / "config" / "presets.json"
# The model this benchmark measures (its standard/fast/turbo presets); the others' configs are in random_cogvideox.py
BENCH_MODEL = "cogvideox-2b"
TINY_PRESETS = {
    "default": "standard",
    "presets": {
        "standard": {"description": "tiny", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 6,
                     "guidance": 6.0},
        "fast": {"description": "tiny, cached", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 6,
                 "guidance": 6.0, "tradesFidelity": True, "cache": {"kind": "taylorseer", "interval": 2}},
        "turbo": {"description": "tiny, fp8", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 6,
                  "guidance": 6.0, "tradesFidelity": True, "precision": "fp8"},
    },
}
NUMERICS_PROMPT, NUMERICS_SEED = "a red fox runs through fresh snow at sunset, cinematic", 42
STREAM_JOBS = [
    ("a red fox runs through fresh snow at sunset, cinematic", 1001),
    ("a blue bird flies over a green forest in the rain", 1002),
    ("a cat walks slowly on a city street at night", 1003),
    ("fish swim in a river under the mountain, day light", 1004),
    ("the sea at sunset, a dog runs on the snow", 1005),
]
# The mixed stream: one prompt and seed through standard, turbo and fast (so their frames compare), then another
# through standard and turbo; every graph was built at warm-up, so none of these may recompile.
MIXED_STREAM = [
    ("standard", *STREAM_JOBS[0]),
    ("turbo", *STREAM_JOBS[0]),
    ("fast", *STREAM_JOBS[0]),
    ("standard", *STREAM_JOBS[1]),
    ("turbo", *STREAM_JOBS[1]),
]
# worker/mp4-encoder.ts's encoding, as one ffmpeg command line
FFMPEG_ARGS = ("-f rawvideo -pix_fmt rgb24 -s {w}x{h} -r {fps} -i {src} -c:v libx264 -pix_fmt yuv420p "
               "-movflags +faststart -crf 18 -preset medium -r {fps} -an -f mp4 -y {dst}")


# ---------------------------------------------------------------- set-up


def engine_config(memory_profile: str, cache_dir: str, presets_file: Path) -> EngineConfig:
    """The settings document a worker would give the engine on this machine."""
    return EngineConfig.from_settings({
        "model": "random-weights (bench/random_cogvideox.py)",
        "model_name": BENCH_MODEL,  # the pipeline is built in memory (prepare_pipeline): no model_index.json to read
        "pipeline": "CogVideoXPipeline",
        "native_dtype": "float16",
        "presets": json.loads(Path(presets_file).read_text()),
        "device": DEVICE.type,
        "dtype": "float16" if CUDA else "float32",
        "memory_profile": memory_profile,
        "compile": "1" if CUDA else "0",
        "compile_cache_dir": cache_dir,
        "warmup": True,
        "log_level": "WARNING",
        "cfg_parallel": False,
    })


def presets_file(args) -> Path:
    """The presets an engine of BENCH_MODEL is given: as the worker does, only that model's (config/presets.ts)."""
    if args.tiny:
        presets = TINY_PRESETS
    else:
        full = json.loads(PRESETS_FILE.read_text())
        mine = {name: p for name, p in full["presets"].items() if p.get("model", BENCH_MODEL) == BENCH_MODEL}
        presets = {**full, "presets": mine}
    path = Path(tempfile.gettempdir()) / f"cogcast-bench-{'tiny' if args.tiny else BENCH_MODEL}-presets.json"
    path.write_text(json.dumps(presets))
    return path


def make_pipe(args):
    if args.tiny:
        import make_tiny_pipeline

        pipe = make_tiny_pipeline.make_pipeline()
        for module in (pipe.text_encoder, pipe.transformer, pipe.vae):
            module.eval()  # built, not loaded: still in training mode (T5's dropout would make every run differ)
        return pipe.to(DEVICE)
    from random_cogvideox import build_pipeline

    return build_pipeline(DEVICE)


def inductor_cache_counters() -> dict:
    from torch._dynamo.utils import counters

    return {k: int(v) for k, v in counters["inductor"].items() if "cache" in k} | {
        f"aot_{k}": int(v) for k, v in counters["aot_autograd"].items() if "cache" in k
    }


# ---------------------------------------------------------------- stock diffusers


@torch.no_grad()
def run_stock(pipe, preset, prompt: str, seed: int, steps: int) -> dict:
    """diffusers' own __call__ (eager, default attention), timed per step, then its decode."""
    step_ends: list[float] = []

    def on_step_end(_pipe, _index, _timestep, _kwargs):
        step_ends.append(now())
        return {}

    reset_peaks()
    start = now()
    latents = pipe(
        prompt=prompt,
        negative_prompt="",
        height=preset.height,
        width=preset.width,
        num_frames=preset.frames,
        num_inference_steps=steps,
        guidance_scale=preset.guidance,
        generator=torch.Generator(device=DEVICE).manual_seed(seed),
        output_type="latent",
        callback_on_step_end=on_step_end,
        max_sequence_length=pipe.transformer.config.max_text_seq_length,  # 226: the default, said for --tiny
    ).frames
    steps_s = [b - a for a, b in zip([start] + step_ends[:-1], step_ends)]
    decode_start = now()
    frames = _decode(SimpleNamespace(pipe=pipe), latents)  # decode_latents + postprocess to uint8 on the host
    decode_s = now() - decode_start
    return {
        "frames": frames,
        "latents": latents,
        "step_seconds": [round(s, 4) for s in steps_s],
        # step 1 also encodes the prompt and prepares the latents: left out of the per-step figure
        "per_step_s": median(steps_s[1:]),
        "vae_decode_s": round(decode_s, 3),
        "peak_vram_gib": gib(peak_allocated()),
        "peak_reserved_gib": gib(peak_reserved()),
        "latents_finite": bool(torch.isfinite(latents).all()),
    }


@torch.no_grad()
def time_text_encode(pipe, prompt: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats + 1):
        start = now()
        pipe.encode_prompt(prompt, "", do_classifier_free_guidance=True, device=DEVICE, dtype=pipe.transformer.dtype,
                           max_sequence_length=pipe.transformer.config.max_text_seq_length)
        times.append(now() - start)
    return median(times[1:])


@torch.no_grad()
def forward_inputs(pipe, preset, prompt: str) -> dict:
    """One transformer call's inputs, as the pipeline makes them for the preset (CFG batch 2, t=500)."""
    generator = torch.Generator(device=DEVICE).manual_seed(7)
    cfg, dtype = pipe.transformer.config, pipe.transformer.dtype
    shape = (2, (preset.frames - 1) // 4 + 1, cfg.in_channels, preset.height // 8, preset.width // 8)
    latents = torch.randn(shape, generator=generator, device=DEVICE, dtype=dtype)
    positive, negative = pipe.encode_prompt(prompt, "", True, max_sequence_length=cfg.max_text_seq_length,
                                            device=DEVICE, dtype=dtype)
    timestep = torch.full((2,), 500, device=DEVICE, dtype=torch.long)
    return {"hidden_states": latents, "encoder_hidden_states": torch.cat([negative, positive]), "timestep": timestep}


@torch.no_grad()
def forward(transformer, inputs: dict) -> torch.Tensor:
    return transformer(**inputs, return_dict=False)[0]


@torch.no_grad()
def fp32_reference(transformer, inputs: dict) -> torch.Tensor:
    """The same forward in float32 (memory-efficient attention: fp32 has no flash kernel, math would need 75 GB)."""
    reference = copy.deepcopy(transformer).float()
    with sdpa_kernel([SDPBackend.EFFICIENT_ATTENTION if CUDA else SDPBackend.MATH]):
        out = forward(reference, {k: (v.float() if v.is_floating_point() else v) for k, v in inputs.items()})
    del reference
    empty_cache()
    return out


@torch.no_grad()
def attention_layouts(transformer, repeats: int = 5) -> dict:
    """cuDNN attention's ms per call on the model's shape, by how q/k/v lie in memory (eager, compiled, packed)."""
    batch, heads, seq, dim = attention_shape(transformer)
    qkv = torch.randn(batch, seq, 3 * heads * dim, device=DEVICE, dtype=torch.float16)
    q, k, v = (t.view(batch, seq, heads, dim).transpose(1, 2) for t in qkv.split(heads * dim, dim=-1))
    layouts = {
        "bhsd_contiguous": (q.contiguous(), k.contiguous(), v.contiguous()),
        "eager_qk_bhsd_v_strided": (q.contiguous(), k.contiguous(), v),
        "all_strided_from_fused_qkv": (q, k, v),
    }
    out = {}
    with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
        for name, (qq, kk, vv) in layouts.items():
            torch.nn.functional.scaled_dot_product_attention(qq, kk, vv)
            times = []
            for _ in range(repeats):
                start = now()
                torch.nn.functional.scaled_dot_product_attention(qq, kk, vv)
                times.append((now() - start) * 1000)
            out[name] = median(times)
    out["tflops_bhsd"] = round(4 * batch * heads * seq * seq * dim / (out["bhsd_contiguous"] / 1000) / 1e12, 1)
    return out


# ---------------------------------------------------------------- the engine


def serve_jobs(engine: Engine, writer: RecordingWriter, jobs, work_dir: Path) -> dict:
    """Back-to-back jobs through the engine's request loop (on this, the main thread, as in the engine process),
    each sent by a feeder thread (the worker's part) as soon as the previous `result` arrives."""
    read_fd, write_fd = os.pipe()
    requests = os.fdopen(write_fd, "w", buffering=1)
    record = {"sent": [], "done": [], "results": [], "stats": {}, "error": None}
    wall_offset = time.time() - time.perf_counter()

    def feed():
        try:
            for index, (preset, prompt, seed) in enumerate(jobs):
                job_id = f"stream-{index + 1}"
                record["sent"].append(time.perf_counter())
                requests.write(json.dumps({"type": "generate", "job_id": job_id, "prompt": prompt, "seed": seed,
                                           "negative_prompt": "", "preset": preset,
                                           "output_dir": str(work_dir / job_id)}) + "\n")
                stamp, message = writer.until("result", "error", "cancelled")
                if message["type"] != "result":
                    raise RuntimeError(f"job {job_id}: {message}")
                record["done"].append(stamp)
                record["results"].append(message)
            requests.write(json.dumps({"type": "stats"}) + "\n")
            record["stats"] = writer.until("stats")[1]
        except Exception:
            record["error"] = traceback.format_exc()
        finally:
            requests.write(json.dumps({"type": "shutdown"}) + "\n")
            requests.close()

    feeder = threading.Thread(target=feed, name="worker-side", daemon=True)
    feeder.start()
    engine.serve(os.fdopen(read_fd, "rb"))
    feeder.join(timeout=60)
    if record["error"]:
        raise RuntimeError(record["error"])

    sent, done, results = record["sent"], record["done"], record["results"]
    window = done[-1] - sent[0]
    stage_s = [sum(r["seconds"][k] for k in ("text_encode", "denoise", "vae_decode")) for r in results]
    # Between two jobs' GPU stages: all of the time from one result to the next that is not the next job's stages
    gaps = [round((done[i + 1] - done[i]) - stage_s[i + 1], 4) for i in range(len(results) - 1)]
    return {
        "jobs": [
            {"job_id": r["job_id"], "preset": r["preset"], "prompt": p, "seed": r["seed"], "seconds": r["seconds"],
             "per_step_s": median(r["step_seconds"][1:]),
             "effective_per_step_s": round(r["seconds"]["denoise"] / r["steps"], 4),
             "peak_vram_gib": gib(r["peak_vram_bytes"]), "gpu_util_mean": r["gpu_util_mean"],
             "recompiles": r["recompiles"]}
            for r, (_, p, _) in zip(results, jobs)
        ],
        "window_s": round(window, 3),
        "window_wall": (sent[0] + wall_offset, done[-1] + wall_offset),
        "gpu_busy_stage_fraction": round(sum(stage_s) / window, 4),
        "gaps_between_jobs_s": gaps,
        "max_gap_s": max(gaps) if gaps else None,
        "recompiles_in_results": [r["recompiles"] for r in results],
        "recompiles_in_stats": record["stats"].get("recompiles"),
        "frames_paths": [r["frames_path"] for r in results],
    }


def read_frames(path: str, preset) -> np.ndarray:
    return np.fromfile(path, dtype=np.uint8).reshape(preset.frames, preset.height, preset.width, 3)


def time_mp4(frames_path: str, preset, work_dir: Path) -> dict:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return {"measured": False, "why": "no ffmpeg on this machine"}
    dst = work_dir / "clip.mp4"
    args = FFMPEG_ARGS.format(w=preset.width, h=preset.height, fps=preset.fps, src=frames_path, dst=dst).split()
    start = time.perf_counter()
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", *args], check=True)
    return {"measured": True, "seconds": round(time.perf_counter() - start, 3), "bytes": dst.stat().st_size,
            "cpus": os.cpu_count()}


def cached_preset_runs(loaded, standard, candidates: list[StepCache], reference_frames, prompt, seed,
                       full_step_s: float) -> list:
    """Each step cache on the standard preset, same prompt and seed as a standard job: speed, PSNR against it."""
    rows = []
    for cache in candidates:
        preset = dataclasses.replace(standard, name=f"standard+{cache.kind}", cache=cache)
        output = generate(loaded, preset, prompt, seed=seed)
        full = 1 + sum(1 for s in output.step_seconds[1:] if s > 0.5 * full_step_s)  # skipped steps take ~20 ms
        rows.append({
            "cache": dataclasses.asdict(cache),
            "seconds": output.seconds,
            "effective_per_step_s": round(output.seconds["denoise"] / preset.steps, 4),
            "full_steps": full,
            "steps": preset.steps,
            "psnr_vs_standard_db": psnr(output.frames, reference_frames),
            "peak_vram_gib": gib(output.peak_vram_bytes),
        })
        print(f"[bench]   {cache}: {rows[-1]['effective_per_step_s']} s/step, {full}/{preset.steps} full steps, "
              f"PSNR {rows[-1]['psnr_vs_standard_db']} dB", flush=True)
    return rows


# ---------------------------------------------------------------- the run


@torch.no_grad()  # as the engine's generate: a compiled graph traced with grad on would keep every activation
def main_run(args) -> int:
    results = Results(Path(args.out))
    deadline = Deadline(args.deadline_s)
    presets = load_presets(presets_file(args))
    standard = presets.get("standard")
    cache_dir = args.compile_cache_dir or tempfile.mkdtemp(prefix="cogcast-compile-cache-")
    work_dir = Path(tempfile.mkdtemp(prefix="cogcast-bench-"))
    timeline = GpuTimeline(work_dir / "gpu-timeline.csv").__enter__()
    import diffusers
    import transformers

    results["meta"] = {
        "command": "python " + " ".join(sys.argv),
        "gpu": torch.cuda.get_device_name() if CUDA else None,
        "gpu_memory_gib": gib(torch.cuda.mem_get_info()[1]) if CUDA else None,
        "cpus": os.cpu_count(),
        "torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
        "diffusers": diffusers.__version__, "transformers": transformers.__version__,
        "weights": "random, fp16 (bench/random_cogvideox.py: CogVideoX-2b's own configs)" if not args.tiny else "tiny",
        "preset": dataclasses.asdict(standard),
        "ffmpeg": shutil.which("ffmpeg"),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    results.save()

    # 1. Build (random weights, on the GPU)
    with part(results, "build"):
        start = time.perf_counter()
        pipe = make_pipe(args)
        pipe.set_progress_bar_config(disable=True)
        results["build_s"] = round(time.perf_counter() - start, 2)
    if "errors" in results:
        return 1

    stock, numerics, tuned, turbo = {}, {}, {}, {}
    results.update(stock=stock, numerics=numerics, tuned=tuned, turbo=turbo)

    # 2. Stock diffusers: text encode, per step, decode, one forward (and its fp32 reference), where time goes
    with part(results, "stock"):
        stock["text_encode_s"] = time_text_encode(pipe, NUMERICS_PROMPT)
        run = run_stock(pipe, standard, NUMERICS_PROMPT, NUMERICS_SEED, args.stock_steps)
        stock_frames, stock_latents = run.pop("frames"), run.pop("latents")
        stock.update(run, timed_steps=args.stock_steps,
                     note=f"a {args.stock_steps}-step run timed; per_step_s is the median of steps 2..{args.stock_steps}")
        stock["clip_s_estimate"] = round(
            stock["text_encode_s"] + standard.steps * stock["per_step_s"] + stock["vae_decode_s"], 2)
        inputs = forward_inputs(pipe, standard, NUMERICS_PROMPT)
        y_stock = forward(pipe.transformer, inputs)
        start = now()
        forward(pipe.transformer, inputs)
        stock["one_forward_s"] = round(now() - start, 4)
        stock["top_kernels"] = top_kernels(lambda: forward(pipe.transformer, inputs))
        y_ref = fp32_reference(pipe.transformer, inputs)
        numerics["stock_fp16_vs_fp32_rel_err"] = rel_err(y_stock, y_ref)
        numerics["output_finite"] = bool(torch.isfinite(y_stock).all())

    # 3. The attention kernels alone, on random (flat) and peaked softmaxes (kernel_probe.py)
    with part(results, "attention", deadline, needs_s=400) as ok:
        if ok and CUDA:
            from kernel_probe import attention_probe

            results["attention"] = attention_probe(*(attention_shape(pipe.transformer)[i] for i in (0, 2, 1, 3)))

    with part(results, "explore", deadline, needs_s=60) as ok:
        if ok and CUDA and args.explore:
            results["explore"] = {"attention_ms_by_layout": attention_layouts(pipe.transformer)}

    # 4. The engine's path on the same pipeline: place + tune (prepare_pipeline), warm up every preset (Engine.start)
    writer = RecordingWriter()
    config = engine_config("resident", cache_dir, presets_file(args))
    with part(results, "tuned_warmup"):
        before = compile_count()
        start = time.perf_counter()
        loaded = prepare_pipeline(pipe, config)
        tuned["prepare_s"] = round(time.perf_counter() - start, 2)
        engine = Engine(config, presets, writer)
        start = time.perf_counter()
        engine.start(loaded)
        tuned["warmup_total_s"] = round(time.perf_counter() - start, 2)
        tuned["ready"] = writer.until("ready")[1]
        tuned["graphs_compiled_at_warmup"] = compile_count() - before
        tuned["compile_cache_counters_cold"] = inductor_cache_counters()
    if "tuned_warmup" in results.get("errors", {}):
        return 1

    # 5. One forward of each tuned transformer against stock; short runs against stock's frames; the VAE alone
    turbo_preset = presets.presets.get("turbo")
    with part(results, "tuned_numerics"):
        with loaded.tuning.attention():
            y_tuned = forward(pipe.transformer, inputs)
            start = now()
            forward(pipe.transformer, inputs)
            tuned["one_forward_s"] = round(now() - start, 4)
            tuned["top_kernels"] = top_kernels(lambda: forward(pipe.transformer, inputs))
        numerics["tuned_vs_stock_rel_err"] = rel_err(y_tuned, y_stock)
        numerics["tuned_vs_fp32_rel_err"] = rel_err(y_tuned, y_ref)
        numerics["within_1_percent"] = numerics["tuned_vs_stock_rel_err"] <= 0.01
        del y_tuned
        output = generate(loaded, standard, NUMERICS_PROMPT, seed=NUMERICS_SEED, steps=args.stock_steps)
        numerics[f"psnr_{args.stock_steps}_steps_tuned_vs_stock_db"] = psnr(output.frames, stock_frames)
        numerics[f"ssim_{args.stock_steps}_steps_tuned_vs_stock"] = ssim(output.frames, stock_frames)
        tuned[f"run_{args.stock_steps}_steps"] = {"seconds": output.seconds, "per_step_s": median(output.step_seconds[1:])}
        # The tuned VAE (vae_decode.py) on stock's own latents: is it the same decode?
        start = now()
        vae_frames = _decode(loaded, stock_latents)
        tuned["vae_decode_on_stock_latents_s"] = round(now() - start, 3)
        numerics["vae_tuned_vs_stock_psnr_db"] = psnr(vae_frames, stock_frames)
        numerics["vae_tuned_vs_stock_max_abs_diff"] = int(np.abs(vae_frames.astype(int) - stock_frames.astype(int)).max())
        del vae_frames

    with part(results, "turbo_numerics") as _:
        if turbo_preset is not None:
            with loaded.tuning.attention(), loaded.transformer_for(turbo_preset) as transformer:
                turbo_inputs = {k: (v.to(transformer.dtype) if v.is_floating_point() else v) for k, v in inputs.items()}
                y_turbo = forward(transformer, turbo_inputs)
                start = now()
                forward(transformer, turbo_inputs)
                turbo["one_forward_s"] = round(now() - start, 4)
                turbo["dtype"] = str(transformer.dtype)
                turbo["top_kernels"] = top_kernels(lambda: forward(transformer, turbo_inputs))
            turbo["built"] = loaded.turbo is not None
            turbo["unavailable"] = loaded.turbo_unavailable
            numerics["turbo_vs_stock_rel_err"] = rel_err(y_turbo, y_stock)
            numerics["turbo_vs_fp32_rel_err"] = rel_err(y_turbo, y_ref)
            del y_turbo, turbo_inputs
            output = generate(loaded, turbo_preset, NUMERICS_PROMPT, seed=NUMERICS_SEED, steps=args.stock_steps)
            numerics[f"psnr_{args.stock_steps}_steps_turbo_vs_stock_db"] = psnr(output.frames, stock_frames)
            numerics[f"ssim_{args.stock_steps}_steps_turbo_vs_stock"] = ssim(output.frames, stock_frames)
            turbo[f"run_{args.stock_steps}_steps"] = {"seconds": output.seconds,
                                                      "per_step_s": median(output.step_seconds[1:])}
    del stock_latents
    empty_cache()

    # 6. Back-to-back jobs of mixed presets through the engine's request loop
    stream = {}
    jobs = [job for job in MIXED_STREAM if job[0] in presets.presets][: args.jobs]
    with part(results, "stream", deadline, needs_s=120) as ok:
        if ok:
            stream = serve_jobs(engine, writer, jobs, work_dir)
            results["stream"] = stream
            first_of = {}
            for job, path in zip(stream["jobs"], stream["frames_paths"]):
                first_of.setdefault(job["preset"], (job, path))
            tuned["standard_clip"] = {**first_of["standard"][0], "note": "the stream's first standard job (50 steps)"}
            reference = read_frames(first_of["standard"][1], standard)
            for name in ("turbo", "fast"):
                if name in first_of:
                    job, path = first_of[name]
                    frames = read_frames(path, presets.get(name))
                    results.setdefault(name, {})["clip"] = {
                        **job, "psnr_vs_standard_db": psnr(frames, reference), "ssim_vs_standard": ssim(frames, reference),
                        "note": f"the stream's first {name} job: same prompt and seed as its first standard job"}

    # 7. MP4 encoding of a decoded clip with the worker's ffmpeg arguments
    with part(results, "mp4"):
        if stream:
            results["mp4"] = time_mp4(stream["frames_paths"][0], standard, work_dir)

    # 8. Other step caches on request (--cache), against the standard clip
    with part(results, "caches", deadline, needs_s=60) as ok:
        if ok and stream and args.cache_candidates:
            candidates = [parse_cache(raw, "--cache") for raw in args.cache_candidates]
            results["caches"] = cached_preset_runs(loaded, standard, candidates, read_frames(stream["frames_paths"][0], standard),
                                                   *STREAM_JOBS[0], full_step_s=stream["jobs"][0]["per_step_s"])
    results["recompiles_after_all_jobs"] = engine.recompiles
    results.save()

    # 9. After serving (its graphs are not the engine's): the lossless kernels on a bf16 model (ENGINE_DTYPE=bfloat16)
    with part(results, "lossless_bf16", deadline, needs_s=150) as ok:
        if ok and CUDA and not args.tiny:
            results["lossless_bf16"] = bf16_variant(loaded, inputs, y_stock, y_ref)
    del y_ref, y_stock

    # 9. Child processes: a restart from this run's (now warm) compile cache; lowvram under a VRAM cap on request
    del engine, loaded, pipe, inputs
    gc.collect()
    empty_cache()
    for name, needs_s, wanted in (("restart", 60, True), ("lowvram", 90, args.lowvram)):
        with part(results, name, deadline, needs_s=needs_s) as ok:
            if ok and wanted:
                child_out = work_dir / f"{name}.json"
                subprocess.run(
                    [sys.executable, __file__, "--part", name, "--out", str(child_out), "--cap-gib", str(args.cap_gib),
                     "--compile-cache-dir", cache_dir,
                     "--reference-frames", stream["frames_paths"][0] if stream else ""]
                    + (["--tiny"] if args.tiny else []),
                    check=False, timeout=max(30, deadline.left() - 5),
                )
                results[name] = json.loads(child_out.read_text()) if child_out.exists() else {"error": "no output"}

    timeline.__exit__(None, None, None)
    windows = results.get("part_windows", {})
    results["gpu_timeline_by_part"] = {name: timeline.between(*window) for name, window in windows.items()}
    if stream:
        stream["gpu_busy_nvml"] = timeline.between(*stream["window_wall"])
    results["summary"] = summarize(results)
    results.save()
    print_summary(results)
    return 0


@torch.no_grad()
def bf16_variant(loaded, inputs: dict, y_stock: torch.Tensor, y_ref: torch.Tensor) -> dict:
    """One forward of the tuned transformer cast to bf16 (FA3 then needs no casts): time and error against stock."""
    from cogcast_engine.tuning import TuningReport, compile_blocks

    variant = copy.deepcopy(loaded.pipe.transformer)
    for block in variant.transformer_blocks:
        vars(block).pop("forward", None)  # the copied compiled forwards belong to the original blocks
    variant.to(torch.bfloat16)
    compile_blocks(variant, TuningReport())
    bf16_inputs = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v) for k, v in inputs.items()}
    with loaded.tuning.attention():
        start = time.perf_counter()
        y = forward(variant, bf16_inputs)
        compile_s = round(now() - start, 2)
        times = []
        for _ in range(3):
            start = now()
            forward(variant, bf16_inputs)
            times.append(now() - start)
    out = {"one_forward_s": median(times), "compile_and_first_forward_s": compile_s,
           "vs_stock_rel_err": rel_err(y, y_stock), "vs_fp32_rel_err": rel_err(y, y_ref)}
    del variant
    empty_cache()
    return out


@torch.no_grad()
def restart_run(args) -> int:
    """Child process: a fresh resident engine on the parent's compile cache: the warm-up a restarted worker sees."""
    results = Results(Path(args.out))
    presets = load_presets(presets_file(args))
    with part(results, "restart"):
        pipe = make_pipe(args)
        config = engine_config("resident", args.compile_cache_dir, presets_file(args))
        loaded = prepare_pipeline(pipe, config)
        writer = RecordingWriter()
        engine = Engine(config, presets, writer)
        start = time.perf_counter()
        engine.start(loaded)
        results["warmup_total_s"] = round(time.perf_counter() - start, 2)
        results["ready"] = writer.until("ready")[1]
        results["compile_cache_counters_restart"] = inductor_cache_counters()
        results["recompiles"] = engine.recompiles
    return 0


def lowvram_run(args) -> int:
    """Child process: a fresh engine on the lowvram profile, under a per-process VRAM cap, from the warm cache."""
    results = Results(Path(args.out))
    presets = load_presets(presets_file(args))
    standard = presets.get("standard")
    if CUDA:
        device = torch.device("cuda", torch.cuda.current_device())
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.cap_gib * GIB / torch.cuda.mem_get_info()[1]))
        results["cap_gib"] = args.cap_gib
        results["usable_gib_before_load"] = gib(usable_vram_bytes(device))
        results["auto_profile_under_cap"] = resolve_memory_profile("auto", device)
    with part(results, "lowvram"):
        pipe = make_pipe(args)
        config = engine_config("lowvram", args.compile_cache_dir, presets_file(args))
        loaded = prepare_pipeline(pipe, config)
        results["text_encoder_device"] = str(loaded.pipe.text_encoder.device)
        results["vae_tiling"] = bool(loaded.pipe.vae.use_tiling)
        writer = RecordingWriter()
        engine = Engine(config, presets, writer)
        start = time.perf_counter()
        engine.start(loaded)
        results["warmup_total_s"] = round(time.perf_counter() - start, 2)
        results["ready"] = writer.until("ready")[1]
        results["compile_cache_counters_restart"] = inductor_cache_counters()
        reset_peaks()
        prompt, seed = STREAM_JOBS[0]
        output = generate(loaded, standard, prompt, seed=seed)
        results["standard_clip"] = {"seconds": output.seconds, "per_step_s": median(output.step_seconds[1:]),
                                    "peak_vram_gib": gib(output.peak_vram_bytes),
                                    "peak_reserved_gib": gib(peak_reserved())}
        if args.reference_frames:
            results["psnr_vs_resident_db"] = psnr(output.frames, read_frames(args.reference_frames, standard))
        results["recompiles"] = engine.recompiles
    return 0


def summarize(results: dict) -> dict:
    stock, tuned, stream = results.get("stock", {}), results.get("tuned", {}), results.get("stream", {})
    numerics, turbo, fast = results.get("numerics", {}), results.get("turbo", {}), results.get("fast", {})
    clip = tuned.get("standard_clip", {})
    seconds = clip.get("seconds", {})
    mp4 = results.get("mp4", {}).get("seconds")
    peaked = (results.get("attention", {}).get("by_peak_scale") or {})
    turbo_clip, fast_clip = turbo.get("clip", {}), fast.get("clip", {})
    return {
        "stock_per_step_s": stock.get("per_step_s"),
        "lossless_per_step_s": clip.get("per_step_s"),
        "turbo_per_step_s": turbo_clip.get("per_step_s"),
        "fast_effective_per_step_s": fast_clip.get("effective_per_step_s"),
        "stock_vae_decode_s": stock.get("vae_decode_s"),
        "tuned_vae_decode_s": seconds.get("vae_decode"),
        "vae_tuned_vs_stock_psnr_db": numerics.get("vae_tuned_vs_stock_psnr_db"),
        "text_encode_s": seconds.get("text_encode"),
        "stock_clip_s_estimate": stock.get("clip_s_estimate"),
        "lossless_clip_engine_s": seconds.get("total"),
        "turbo_clip_engine_s": turbo_clip.get("seconds", {}).get("total"),
        "fast_clip_engine_s": fast_clip.get("seconds", {}).get("total"),
        "mp4_encode_s": mp4,
        "lossless_clip_with_mp4_s": round(seconds["total"] + mp4, 2) if seconds.get("total") and mp4 else None,
        "stock_peak_vram_gib": stock.get("peak_vram_gib"),
        "lossless_peak_vram_gib": clip.get("peak_vram_gib"),
        "turbo_peak_vram_gib": turbo_clip.get("peak_vram_gib"),
        "stock_one_forward_s": stock.get("one_forward_s"),
        "lossless_one_forward_s": tuned.get("one_forward_s"),
        "turbo_one_forward_s": turbo.get("one_forward_s"),
        "lossless_vs_stock_rel_err": numerics.get("tuned_vs_stock_rel_err"),
        "stock_fp16_vs_fp32_rel_err": numerics.get("stock_fp16_vs_fp32_rel_err"),
        "lossless_bf16_model_one_forward_s": results.get("lossless_bf16", {}).get("one_forward_s"),
        "lossless_bf16_model_vs_stock_rel_err": results.get("lossless_bf16", {}).get("vs_stock_rel_err"),
        "turbo_vs_stock_rel_err": numerics.get("turbo_vs_stock_rel_err"),
        "lossless_vs_stock_psnr_db_short_run": next((v for k, v in numerics.items() if k.startswith("psnr_") and "_tuned_" in k), None),
        "lossless_vs_stock_ssim_short_run": next((v for k, v in numerics.items() if k.startswith("ssim_") and "_tuned_" in k), None),
        "turbo_vs_stock_psnr_db_short_run": next((v for k, v in numerics.items() if k.startswith("psnr_") and "_turbo_" in k), None),
        "turbo_vs_stock_ssim_short_run": next((v for k, v in numerics.items() if k.startswith("ssim_") and "_turbo_" in k), None),
        "turbo_vs_standard_psnr_db": turbo_clip.get("psnr_vs_standard_db"),
        "turbo_vs_standard_ssim": turbo_clip.get("ssim_vs_standard"),
        "fast_vs_standard_psnr_db": fast_clip.get("psnr_vs_standard_db"),
        "fast_vs_standard_ssim": fast_clip.get("ssim_vs_standard"),
        "fp8_attention_rel_err_by_peak_scale": {
            scale: (row.get("fa3-fp8") or {}).get("rel_err_vs_cudnn_fp16") for scale, row in peaked.items()},
        "fa3_bf16_attention_rel_err_by_peak_scale": {
            scale: (row.get("fa3") or {}).get("rel_err_vs_cudnn_fp16") for scale, row in peaked.items()},
        "attention_choice": (tuned.get("ready") or {}).get("tuning", {}).get("attention"),
        "warmup_cold_s": tuned.get("warmup_total_s"),
        "warmup_warm_s": results.get("restart", {}).get("warmup_total_s"),
        "warmup_by_preset_cold_s": (tuned.get("ready") or {}).get("warmup_seconds"),
        "warmup_by_preset_warm_s": (results.get("restart", {}).get("ready") or {}).get("warmup_seconds"),
        "gpu_busy_nvml": (stream.get("gpu_busy_nvml") or {}).get("util_mean"),
        "max_gap_s": stream.get("max_gap_s"),
        "stream_presets": [job["preset"] for job in stream.get("jobs", [])],
        "recompiles_while_serving": results.get("recompiles_after_all_jobs"),
        "recompiles_in_results": stream.get("recompiles_in_results"),
        "allocator": os.environ.get("PYTORCH_CUDA_ALLOC_CONF"),
    }


def print_summary(results: dict) -> None:
    print("\n[bench] summary")
    for key, value in results["summary"].items():
        print(f"  {key:28s} {value}")
    for name, error in results.get("errors", {}).items():
        print(f"  ERROR in {name}: {error.strip().splitlines()[-1]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON")
    parser.add_argument("--part", choices=["main", "lowvram", "restart"], default="main", help=argparse.SUPPRESS)
    parser.add_argument("--stock-steps", type=int, default=10, help="steps of the stock run (and of the PSNR run)")
    parser.add_argument("--jobs", type=int, default=5, help="back-to-back jobs in the stream part (mixed presets)")
    parser.add_argument("--lowvram", action="store_true", help="also run a lowvram engine under --cap-gib")
    parser.add_argument("--cap-gib", type=float, default=22.0, help="VRAM cap of the lowvram child")
    parser.add_argument("--compile-cache-dir", default=None, help="compile cache (default: a fresh, cold one)")
    parser.add_argument("--cache", dest="cache_candidates", type=json.loads, action="append", default=[],
                        help='another step cache to measure, e.g. \'{"kind":"first_block","threshold":0.2}\'')
    parser.add_argument("--explore", action="store_true", help="also time cuDNN attention by q/k/v memory layout")
    parser.add_argument("--deadline-s", type=float, default=3000, help="skip later parts past this many seconds")
    parser.add_argument("--reference-frames", default="", help=argparse.SUPPRESS)
    parser.add_argument("--tiny", action="store_true", help="the tiny test pipeline: checks this script (CPU too)")
    args = parser.parse_args(argv)
    if not CUDA and not args.tiny:
        print("engine_bench needs a CUDA GPU (or --tiny)", file=sys.stderr)
        return 2
    return {"lowvram": lowvram_run, "restart": restart_run}.get(args.part, main_run)(args)


if __name__ == "__main__":
    sys.exit(main())
