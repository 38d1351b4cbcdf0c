"""Stock diffusers vs cogcast's engine on CogVideoX-2b's full-size architecture (random weights): one run, JSON out.

    python bench/engine_bench.py --out bench/results/h100-YYYY-MM-DD.json

Needs a CUDA GPU (about 40 GB free) and the engine's Python packages. In one process, on the same weights, seed
and preset: stock diffusers (eager fp16, default attention, CFG batch 2, 720x480x49), then the engine's own path
(cogcast_engine's prepare_pipeline, Engine warm-up, generate: exactly what the worker runs), 5 back-to-back jobs
through the engine's request loop, the `fast` preset and other step caches; then a child process on the lowvram
profile under a VRAM cap, which also restarts from this run's compile cache. `--tiny` runs the same script on the
CPU test pipeline in seconds (to check the script; its numbers mean nothing). Never run as a test.
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
    peak_reserved, psnr, rel_err, reset_peaks, top_kernels,
)
from cogcast_engine.engine import Engine  # noqa: E402
from cogcast_engine.envs import EngineConfig  # noqa: E402
from cogcast_engine.generate import _decode, generate  # noqa: E402
from cogcast_engine.pipeline_loader import prepare_pipeline, resolve_memory_profile, usable_vram_bytes  # noqa: E402
from cogcast_engine.presets import StepCache, load_presets, parse_cache  # noqa: E402
from cogcast_engine.tuning import attention_shape, compile_count  # noqa: E402

DEVICE = torch.device("cuda") if CUDA else torch.device("cpu")
PRESETS_FILE = REPO_ROOT / "config" / "presets.json"
TINY_PRESETS = {
    "default": "standard",
    "presets": {
        "standard": {"description": "tiny", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 6,
                     "guidance": 6.0},
        "fast": {"description": "tiny, cached", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 6,
                 "guidance": 6.0, "tradesFidelity": True, "cache": {"kind": "taylorseer", "interval": 2}},
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
# worker/mp4-encoder.ts's encoding, as one ffmpeg command line
FFMPEG_ARGS = ("-f rawvideo -pix_fmt rgb24 -s {w}x{h} -r {fps} -i {src} -c:v libx264 -pix_fmt yuv420p "
               "-movflags +faststart -crf 18 -preset medium -r {fps} -an -f mp4 -y {dst}")


# ---------------------------------------------------------------- set-up


def engine_config(memory_profile: str, cache_dir: str, presets_file: Path) -> EngineConfig:
    """The settings document a worker would give the engine on this machine."""
    return EngineConfig.from_settings({
        "model": "random-weights (bench/random_cogvideox.py)",
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
    if not args.tiny:
        return PRESETS_FILE
    path = Path(tempfile.gettempdir()) / "cogcast-bench-tiny-presets.json"
    path.write_text(json.dumps(TINY_PRESETS))
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


def serve_jobs(engine: Engine, writer: RecordingWriter, preset: str, jobs, work_dir: Path) -> dict:
    """Back-to-back jobs through the engine's request loop (on this, the main thread, as in the engine process),
    each sent by a feeder thread (the worker's part) as soon as the previous `result` arrives."""
    read_fd, write_fd = os.pipe()
    requests = os.fdopen(write_fd, "w", buffering=1)
    record = {"sent": [], "done": [], "results": [], "stats": {}, "error": None}
    wall_offset = time.time() - time.perf_counter()

    def feed():
        try:
            for index, (prompt, seed) in enumerate(jobs):
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
        "preset": preset,
        "jobs": [
            {"job_id": r["job_id"], "prompt": p, "seed": r["seed"], "seconds": r["seconds"],
             "per_step_s": median(r["step_seconds"][1:]), "peak_vram_gib": gib(r["peak_vram_bytes"]),
             "gpu_util_mean": r["gpu_util_mean"], "recompiles": r["recompiles"]}
            for r, (p, _) in zip(results, jobs)
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

    stock, numerics, tuned = {}, {}, {}
    results.update(stock=stock, numerics=numerics, tuned=tuned)

    # 2. Stock diffusers: text encode, per step, decode, one forward (and its fp32 reference), where time goes
    with part(results, "stock"):
        stock["text_encode_s"] = time_text_encode(pipe, NUMERICS_PROMPT)
        run = run_stock(pipe, standard, NUMERICS_PROMPT, NUMERICS_SEED, args.stock_steps)
        stock_frames = run.pop("frames")
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

    with part(results, "explore", deadline, needs_s=60) as ok:
        if ok and CUDA and args.explore:
            results["explore"] = {"attention_ms_by_layout": attention_layouts(pipe.transformer)}

    # 3. The engine's path on the same pipeline: place + tune (prepare_pipeline), warm up (Engine.start)
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
        del y_tuned, y_ref, y_stock
        output = generate(loaded, standard, NUMERICS_PROMPT, seed=NUMERICS_SEED, steps=args.stock_steps)
        numerics[f"psnr_{args.stock_steps}_steps_tuned_vs_stock_db"] = psnr(output.frames, stock_frames)
        tuned[f"run_{args.stock_steps}_steps"] = {"seconds": output.seconds, "per_step_s": median(output.step_seconds[1:])}

    # 4. Back-to-back standard jobs through the engine's request loop
    stream = {}
    with part(results, "stream", deadline, needs_s=170) as ok:
        if ok:
            stream = serve_jobs(engine, writer, "standard", STREAM_JOBS[: args.jobs], work_dir)
            results["stream"] = stream
            tuned["standard_clip"] = {**stream["jobs"][0], "note": "job 1 of the stream: a whole 50-step standard clip"}

    # 5. MP4 encoding of a decoded clip with the worker's ffmpeg arguments
    with part(results, "mp4"):
        if stream:
            results["mp4"] = time_mp4(stream["frames_paths"][0], standard, work_dir)

    # 6. Step caches: the `fast` preset and the candidates, on job 1's prompt and seed, against its frames
    with part(results, "fast", deadline, needs_s=40) as ok:
        if ok and stream:
            reference = read_frames(stream["frames_paths"][0], standard)
            candidates = [p.cache for p in presets.presets.values() if p.cache is not None]
            candidates += [c for c in (parse_cache(raw, "--cache") for raw in args.cache_candidates) if c not in candidates]
            rows = cached_preset_runs(loaded, standard, candidates, reference, *STREAM_JOBS[0],
                                      full_step_s=stream["jobs"][0]["per_step_s"])
            fast = presets.presets.get("fast")
            results["fast"] = {"preset": dataclasses.asdict(fast) if fast else None, "runs": rows,
                               "note": "random weights: how often a cache skips, and what it costs in PSNR, are "
                                       "not the real model's"}
    results["recompiles_after_all_jobs"] = engine.recompiles
    results.save()

    # 7. lowvram in a child process under a VRAM cap; it also restarts from this run's compile cache
    with part(results, "lowvram", deadline, needs_s=90) as ok:
        del engine, loaded, pipe, inputs
        gc.collect()
        empty_cache()
        if ok:
            child_out = work_dir / "lowvram.json"
            subprocess.run(
                [sys.executable, __file__, "--part", "lowvram", "--out", str(child_out), "--cap-gib", str(args.cap_gib),
                 "--compile-cache-dir", cache_dir, "--reference-frames", stream["frames_paths"][0] if stream else ""]
                + (["--tiny"] if args.tiny else []),
                check=False, timeout=max(30, deadline.left() - 5),
            )
            results["lowvram"] = json.loads(child_out.read_text()) if child_out.exists() else {"error": "no output"}

    timeline.__exit__(None, None, None)
    windows = results.get("part_windows", {})
    results["gpu_timeline_by_part"] = {name: timeline.between(*window) for name, window in windows.items()}
    if stream:
        stream["gpu_busy_nvml"] = timeline.between(*stream["window_wall"])
    results["summary"] = summarize(results)
    results.save()
    print_summary(results)
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
    clip = tuned.get("standard_clip", {})
    seconds = clip.get("seconds", {})
    mp4 = results.get("mp4", {}).get("seconds")
    lowvram = results.get("lowvram", {})
    return {
        "stock_per_step_s": stock.get("per_step_s"),
        "tuned_per_step_s": clip.get("per_step_s"),
        "stock_vae_decode_s": stock.get("vae_decode_s"),
        "tuned_vae_decode_s": seconds.get("vae_decode"),
        "text_encode_s": seconds.get("text_encode"),
        "stock_clip_s_estimate": stock.get("clip_s_estimate"),
        "tuned_clip_engine_s": seconds.get("total"),
        "mp4_encode_s": mp4,
        "stock_peak_vram_gib": stock.get("peak_vram_gib"),
        "tuned_peak_vram_gib": clip.get("peak_vram_gib"),
        "warmup_cold_s": tuned.get("warmup_total_s"),
        "warmup_restart_lowvram_s": lowvram.get("warmup_total_s"),
        "tuned_vs_stock_rel_err": results.get("numerics", {}).get("tuned_vs_stock_rel_err"),
        "gpu_busy_nvml": (stream.get("gpu_busy_nvml") or {}).get("util_mean"),
        "gpu_busy_stages": stream.get("gpu_busy_stage_fraction"),
        "max_gap_s": stream.get("max_gap_s"),
        "recompiles_while_serving": results.get("recompiles_after_all_jobs"),
        "lowvram_peak_reserved_gib": lowvram.get("standard_clip", {}).get("peak_reserved_gib"),
        "lowvram_clip_s": sum(lowvram.get("standard_clip", {}).get("seconds", {}).values()) or None,
        "fast": [(r["cache"], r["effective_per_step_s"], r["psnr_vs_standard_db"])
                 for r in results.get("fast", {}).get("runs", [])],
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
    parser.add_argument("--part", choices=["main", "lowvram"], default="main", help=argparse.SUPPRESS)
    parser.add_argument("--stock-steps", type=int, default=10, help="steps of the stock run (and of the PSNR run)")
    parser.add_argument("--jobs", type=int, default=5, help="back-to-back jobs in the stream part")
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
    return lowvram_run(args) if args.part == "lowvram" else main_run(args)


if __name__ == "__main__":
    sys.exit(main())
