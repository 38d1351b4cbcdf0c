"""Several GPUs, in one run: a clip's latency on 1 GPU vs CFG-parallel on 2, and queue throughput of 1 vs 2 engines.

    python bench/multi_gpu_bench.py --out bench/results/h200x2-YYYY-MM-DD.json

Needs 2 CUDA GPUs (about 70 GB free on each: two engines share each GPU while warming up) and the engine's Python packages; no Node, no Redis. It builds
CogVideoX-2b's full-size architecture with random weights (bench/random_cogvideox.py), saves it in the diffusers
layout, and from then on runs real engines, `python -m cogcast_engine`, exactly as the worker starts them:
  engine gpu0 (CUDA_VISIBLE_DEVICES=0), engine gpu1 (CUDA_VISIBLE_DEVICES=1), and engine cfg
  (CUDA_VISIBLE_DEVICES=0,1, ENGINE_CFG_PARALLEL=1: it starts its own rank 1 on the second GPU).
All three load and warm up at once (their torch.compile warm-ups overlap); then each part runs with the others idle:
  (a) latency: the `standard` preset on gpu0, then on cfg (same prompt and seed), and how far the frames differ;
  (b) throughput: --jobs `draft` jobs through gpu0 alone, then through gpu0 and gpu1 pulling from one queue.
A Python dispatcher speaking PROTOCOL.md stands in for BullMQ (bench/engine_fleet.py). The JSON is rewritten
after every part, and a one-line JSON summary is printed last. `--tiny` runs the same on the CPU with the tiny
test pipeline (gloo instead of NCCL) in well under a minute: it checks the script; its numbers mean nothing.
Never run as a test.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "bench"))
sys.path.insert(0, str(REPO_ROOT / "worker" / "engine"))

import numpy as np  # noqa: E402

from engine_fleet import MULTI_GPU_ENV, EngineFailed, EngineProcess, run_queue  # noqa: E402

os.environ.update(MULTI_GPU_ENV)  # this process and everything it starts

PRESETS_FILE = REPO_ROOT / "config" / "presets.json"
TINY_MODEL = REPO_ROOT / "var" / "fixtures" / "tiny-cogvideox"
TINY_PRESETS = {
    "default": "standard",
    "presets": {
        "standard": {"description": "tiny", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 6, "guidance": 6.0},
        "draft": {"description": "tiny, fewer steps", "width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 3,
                  "guidance": 6.0},
    },
}
LATENCY_PROMPT, LATENCY_SEED = "a red fox runs through fresh snow at sunset, cinematic", 42
QUEUE_PROMPTS = [
    "a blue bird flies over a green forest in the rain",
    "a cat walks slowly on a city street at night",
    "fish swim in a river under the mountain, day light",
    "the sea at sunset, a dog runs on the snow",
]
TARGETS = {"latency_speedup": 1.8, "throughput_speedup": 1.9}


# ---------------------------------------------------------------- set-up


def bench_presets(args, work_dir: Path) -> Path:
    """standard and draft only: one shape, so each engine warms up (and compiles) once."""
    if args.tiny:
        presets = TINY_PRESETS
    else:
        full = json.loads(PRESETS_FILE.read_text())
        presets = {"default": "standard", "presets": {name: full["presets"][name] for name in ("standard", "draft")}}
    path = work_dir / "presets.json"
    path.write_text(json.dumps(presets))
    return path


def prepare_model(args, results) -> Path:
    """--model as given; --tiny: the test fixture; else CogVideoX-2b with random weights, saved by a child process."""
    if args.model:
        return Path(args.model)
    if args.tiny:
        model = Path(args.model_dir or TINY_MODEL)
        if not (model / "model_index.json").exists():
            subprocess.run([sys.executable, str(REPO_ROOT / "worker/engine/make_tiny_pipeline.py"), str(model)], check=True)
        return model
    model = Path(args.model_dir)
    if (model / "model_index.json").exists():
        results["model"] = {"dir": str(model), "reused": True}
        return model
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--part", "save-model", "--model-dir", str(model), "--out", "-"], check=True)
    results["model"] = {"dir": str(model), "build_and_save_s": round(time.perf_counter() - start, 1),
                        "weights": "random fp16, CogVideoX-2b's configs (bench/random_cogvideox.py)"}
    return model


def save_random_model(model_dir: Path) -> int:
    """Child process: build the full-size pipeline on GPU 0 and save it in the diffusers layout."""
    import torch
    from random_cogvideox import build_pipeline

    pipe = build_pipeline(torch.device("cuda", 0))
    pipe.save_pretrained(model_dir)
    return 0


def engine_env(args, model: Path, presets: Path, cache_dir: Path, gpus: str, cfg_parallel: bool) -> dict[str, str]:
    # The engine's settings as the worker hands them over: one document (worker/engine/PROTOCOL.md).
    settings = {
        "model": str(model),
        "model_name": "cogvideox-2b",  # the random-weights CogVideoX-2b (bench/random_cogvideox.py): its presets only
        "pipeline": "CogVideoXPipeline",
        "native_dtype": "float16",
        "presets": json.loads(Path(presets).read_text()),
        "device": "cpu" if args.tiny else "cuda",
        "dtype": "auto",
        "memory_profile": "auto" if args.tiny else "resident",  # two engines share each GPU while warming
        "compile": args.compile,
        "compile_cache_dir": str(cache_dir),
        "warmup": True,
        "log_level": "WARNING",
        "cfg_parallel": cfg_parallel,
    }
    return {"COGCAST_ENGINE_SETTINGS": json.dumps(settings), "CUDA_VISIBLE_DEVICES": gpus}


def gpu_names() -> list[str]:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    out = subprocess.run([smi, "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


# ---------------------------------------------------------------- measuring


def read_frames(path: str) -> np.ndarray:
    return np.fromfile(path, np.uint8)


def compare_frames(a: np.ndarray, b: np.ndarray) -> dict:
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
    mse = float(np.mean(diff.astype(np.float64) ** 2))
    return {"psnr_db": "inf" if mse == 0 else round(10 * np.log10(255.0**2 / mse), 2),
            "max_abs_diff": int(diff.max()), "mean_abs_diff": round(float(diff.mean()), 4)}


def clips(engine: EngineProcess, count: int, work_dir: Path, timeout: float) -> dict:
    runs = [engine.run(f"{engine.name}-clip{i + 1}", LATENCY_PROMPT, "standard", LATENCY_SEED, work_dir, timeout)
            for i in range(count)]
    walls = sorted(r["wall_s"] for r in runs)
    return {"clip_wall_s": walls[len(walls) // 2], "runs": [{k: r[k] for k in ("wall_s", "seconds", "peak_vram_bytes")}
                                                              for r in runs], "frames_path": runs[0]["frames_path"]}


def ratio(a, b) -> float | None:
    return round(a / b, 3) if a and b else None


def summarize(results: dict) -> dict:
    latency, throughput = results.get("latency", {}), results.get("throughput", {})
    one, cfg = latency.get("one_gpu", {}), latency.get("cfg_parallel_two_gpus", {})
    q1, q2 = throughput.get("one_engine", {}), throughput.get("two_engines", {})
    stage = lambda part, name: (part.get("runs") or [{}])[0].get("seconds", {}).get(name)  # noqa: E731
    summary = {
        "mode": "tiny (CPU, numbers meaningless)" if results["config"]["tiny"] else "gpu",
        "clip_s_one_gpu": one.get("clip_wall_s"),
        "clip_s_cfg_parallel_two_gpus": cfg.get("clip_wall_s"),
        "latency_speedup": ratio(one.get("clip_wall_s"), cfg.get("clip_wall_s")),
        "denoise_speedup": ratio(stage(one, "denoise"), stage(cfg, "denoise")),
        "vae_decode_s": stage(cfg, "vae_decode"),
        "frames_psnr_db": latency.get("frames_one_vs_cfg", {}).get("psnr_db"),
        "frames_max_abs_diff": latency.get("frames_one_vs_cfg", {}).get("max_abs_diff"),
        "jobs_per_minute_one_engine": q1.get("jobs_per_minute"),
        "jobs_per_minute_two_engines": q2.get("jobs_per_minute"),
        "throughput_speedup": ratio(q2.get("jobs_per_minute"), q1.get("jobs_per_minute")),
        "cfg_attention": ((results.get("ready") or {}).get("cfg") or {}).get("tuning", {}).get("notes"),
        "errors": sorted(results.get("errors", {})),
        "skipped": sorted(results.get("skipped", {})),
        "wall_s": round(time.perf_counter() - START, 1),
    }
    for name, target in TARGETS.items():
        summary[f"{name}_target"] = target
        summary[f"{name}_met"] = None if summary[name] is None else summary[name] >= target
    return summary


# ---------------------------------------------------------------- the run

START = time.perf_counter()


def main_run(args) -> int:
    from bench_tools import Deadline, Results

    deadline = Deadline(args.deadline_s)
    results = Results(Path(args.out))
    work_dir = Path(tempfile.mkdtemp(prefix="cogcast-multi-gpu-"))
    args.model_dir = args.model_dir or (None if args.tiny else str(work_dir / "model"))
    results["config"] = {
        "tiny": args.tiny, "jobs": args.jobs, "clips": args.clips, "compile": args.compile, "parts": args.parts, "stagger": args.stagger,
        "gpus": gpu_names(), "env": MULTI_GPU_ENV, "deadline_s": args.deadline_s,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "dispatcher": "no Node or Redis here: a Python dispatcher speaking the engine's JSON-lines protocol "
                      "(PROTOCOL.md) to `python -m cogcast_engine` processes, one thread per engine pulling the next "
                      "job from one shared queue when idle, stands in for BullMQ workers (concurrency 1 each)",
        "timing": "clip_wall_s and wall_s are the dispatcher's: generate line written -> result line read (frames "
                  "written); engines are warm (ready) before anything is timed",
    }
    results.save()
    engines: dict[str, EngineProcess] = {}
    try:
        measure(args, results, engines, work_dir, deadline)
    finally:
        code = finish(results, engines, work_dir, args)
    return code


def engine_alive(engine: EngineProcess) -> bool:
    return engine.process.poll() is None


def wait_ready(engines: dict, name: str, ready: dict, results, deadline) -> None:
    engine = engines[name]
    # cfg does what the others do (on half batches): past their time and a margin, it is stuck, not slow
    timeout = deadline.left() if name != "cfg" else min(deadline.left(), 90 + 0.5 * (time.perf_counter() - START))
    try:
        ready[name] = engine.ready(timeout=max(10, timeout))
    except EngineFailed as error:
        results.setdefault("errors", {})[f"start_{name}"] = str(error)
        engine.close(timeout=10)  # a half-started engine must not share the GPUs with what is measured


def measure(args, results, engines: dict, work_dir: Path, deadline) -> None:
    from bench_tools import part

    # 1. The model, the presets, and three engines loading and warming up at once
    ready: dict[str, dict] = {}
    results["ready"] = ready
    with part(results, "start"):
        model = prepare_model(args, results)
        presets, cache_dir = bench_presets(args, work_dir), work_dir / "compile-cache"
        wanted = [("gpu0", "0", False), ("gpu1", "1", False), ("cfg", "0,1", True)]
        if args.parts == ["latency"]:
            wanted = [w for w in wanted if w[0] != "gpu1"]
        for name, gpus, cfg in wanted:
            engines[name] = EngineProcess(name, engine_env(args, model, presets, cache_dir, gpus, cfg), work_dir)
            if args.stagger:  # the next engine starts once this one is ready: no two warm-ups share a GPU
                wait_ready(engines, name, ready, results, deadline)
        for name, engine in engines.items():
            if name in ready or not engine_alive(engine):
                continue
            wait_ready(engines, name, ready, results, deadline)
    latency, throughput = {}, {}
    results.update(latency=latency, throughput=throughput)
    job_timeout = max(30, deadline.left())
    gpu0, gpu1, cfg = engines.get("gpu0"), engines.get("gpu1"), engines.get("cfg")

    # 2. (a) One standard clip on one GPU, then the same prompt and seed on two (CFG-parallel)
    with part(results, "latency_one_gpu", deadline, needs_s=0 if args.tiny else 25 * args.clips) as ok:
        if ok and "gpu0" in ready:
            latency["one_gpu"] = clips(gpu0, args.clips, work_dir, job_timeout)
    with part(results, "latency_cfg_parallel", deadline, needs_s=0 if args.tiny else 15 * args.clips) as ok:
        if ok and "cfg" in ready:
            latency["cfg_parallel_two_gpus"] = clips(cfg, args.clips, work_dir, job_timeout)
            if "one_gpu" in latency:
                latency["frames_one_vs_cfg"] = compare_frames(read_frames(latency["one_gpu"]["frames_path"]),
                                                              read_frames(latency["cfg_parallel_two_gpus"]["frames_path"]))
    if cfg is not None:
        cfg.close()  # its GPUs are gpu0's and gpu1's: nothing of it may run during (b)

    # 3. (b) --jobs draft jobs through one engine, then the same jobs through two pulling from one queue
    jobs = [(QUEUE_PROMPTS[i % len(QUEUE_PROMPTS)], 1000 + i) for i in range(args.jobs)]
    if "throughput" not in args.parts:
        return
    with part(results, "throughput_one_engine", deadline, needs_s=0 if args.tiny else 11 * args.jobs) as ok:
        if ok and "gpu0" in ready:
            throughput["one_engine"] = run_queue([gpu0], jobs, "draft", work_dir, job_timeout)
    with part(results, "throughput_two_engines", deadline, needs_s=0 if args.tiny else 6 * args.jobs) as ok:
        if ok and "gpu0" in ready and "gpu1" in ready:
            throughput["two_engines"] = run_queue([gpu0, gpu1], jobs, "draft", work_dir, job_timeout)


def finish(results, engines: dict, work_dir: Path, args) -> int:
    for name, engine in engines.items():
        code = engine.close()
        if code not in (0, None):
            results.setdefault("engine_exit", {})[name] = {"code": code, "stderr_tail": engine.stderr_tail()}
    results["summary"] = summarize(results)
    results.save()
    if not args.keep:
        shutil.rmtree(work_dir, ignore_errors=True)
    print(json.dumps(results["summary"]), flush=True)
    return 1 if results.get("errors") else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON (rewritten after every part)")
    parser.add_argument("--jobs", type=int, default=4, help="draft jobs in each throughput run")
    parser.add_argument("--clips", type=int, default=1, help="standard clips timed per latency run (median)")
    parser.add_argument("--compile", choices=["1", "0", "auto"], default=None,
                        help="ENGINE_COMPILE of every engine (default 1, what production runs on a GPU; 0 with --tiny)")
    parser.add_argument("--model", default="", help="an existing diffusers-layout model (default: random weights)")
    parser.add_argument("--model-dir", default="", help="where to save (or reuse) the random-weights model")
    parser.add_argument("--deadline-s", type=float, default=400, help="skip later parts past this many seconds")
    parser.add_argument("--parts", type=lambda v: v.split(","), default=["latency", "throughput"],
                        help="comma list of latency,throughput (default both)")
    parser.add_argument("--stagger", action="store_true",
                        help="start the engines one after another (no warm-up, hence no attention timing, shares a GPU)")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (frames, engine stderr, model)")
    parser.add_argument("--tiny", action="store_true", help="the tiny test pipeline on the CPU: checks this script")
    parser.add_argument("--part", choices=["main", "save-model"], default="main", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.compile = args.compile or ("0" if args.tiny else "1")
    if args.part == "save-model":
        return save_random_model(Path(args.model_dir))
    if not args.tiny:
        import torch

        if torch.cuda.device_count() < 2:
            print("multi_gpu_bench needs 2 CUDA GPUs (or --tiny)", file=sys.stderr)
            return 2
    return main_run(args)


if __name__ == "__main__":
    sys.exit(main())
