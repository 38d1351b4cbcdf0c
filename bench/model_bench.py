"""The fleet's new models (CogVideoX-5b, -5b-I2V; CogVideoX-2b as reference) through the engine's path, full size with
random weights: load, warm-up/compile, per-step denoise, decode, whole clip and peak VRAM per model, JSON out.

    python bench/model_bench.py --model cogvideox-5b --model cogvideox-5b-i2v [--reference] \
        --out bench/results/h200-models-YYYY-MM-DD.json [--deadline-s 540]

Needs a CUDA GPU (about 60 GB free for a 5b model) and the engine's Python packages (and requirements-gpu.txt for
FA3). Each model, one after the other in this process, exactly as a worker holding it runs it:
  1. its full-size pipeline built on the GPU with random weights (bench/random_cogvideox.py: the models' own
     configs, so the kernels and shapes are the real ones; the frames are noise),
  2. prepare_pipeline (placement, attention pick, fused projections, compiled blocks and VAE) with the settings a
     worker gives an engine of that model: its model_name, pipeline class, native dtype (dtype `auto`), and only its
     preset from config/presets.json (cogvideox-5b: quality, cogvideox-5b-i2v: animate, cogvideox-2b: standard),
  3. Engine.start: the warm-up (a cold torch.compile, on a compile cache shared by the models of this run, as one
     worker's var/compile-cache would be),
  4. a 3-step probe clip (per-step estimate), then one timed clip of the preset's 50 steps, or of fewer where the
     deadline would not leave time for the models after it: then the whole 50-step clip is extrapolated from the
     timed steps and said separately (`steps_timed`, `clip_s_estimate`; `clip_s` is then null),
  5. freed (del, gc, empty_cache) before the next.
The image-to-video model animates a 720x480 RGB PNG made here, read through the engine's own load_image.
`--reference` adds CogVideoX-2b last, only if the deadline still leaves it `--reference-needs-s`.
The JSON is rewritten after every part; a summary table and a one-line JSON summary are printed last.
`--tiny` runs the same on the CPU tiny test pipelines (worker/engine/make_tiny_pipeline.py: t2v stands for
cogvideox-5b and cogvideox-2b, i2v for cogvideox-5b-i2v) in seconds: it checks the script; its numbers mean nothing.
Never run as a test.
"""

import argparse
import gc
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "worker" / "engine"))
sys.path.insert(0, str(REPO_ROOT / "bench"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from bench_tools import (  # noqa: E402
    CUDA, Deadline, GpuTimeline, RecordingWriter, Results, empty_cache, gib, median, part, peak_reserved,
)
from cogcast_engine.engine import Engine  # noqa: E402
from cogcast_engine.envs import EngineConfig  # noqa: E402
from cogcast_engine.generate import generate, load_image  # noqa: E402
from cogcast_engine.pipeline_loader import prepare_pipeline  # noqa: E402
from cogcast_engine.presets import parse_presets  # noqa: E402
from cogcast_engine.tuning import compile_count, configure_allocator  # noqa: E402
from engine_bench import inductor_cache_counters  # noqa: E402

DEVICE = torch.device("cuda") if CUDA else torch.device("cpu")
PRESETS_FILE = REPO_ROOT / "config" / "presets.json"
# Each model's preset of config/presets.json that this benchmark times (its engine is given that one alone)
MODEL_PRESETS = {"cogvideox-5b": "quality", "cogvideox-5b-i2v": "animate", "cogvideox-2b": "standard"}
REFERENCE_MODEL = "cogvideox-2b"
# --tiny: the tiny test pipeline of each model's layout (make_tiny_pipeline.py has no 5b text-to-video kind: t2v)
TINY_KINDS = {"cogvideox-5b": "t2v", "cogvideox-5b-i2v": "i2v", "cogvideox-2b": "t2v"}
TINY_SHAPE = {"width": 64, "height": 32, "frames": 9, "fps": 8, "steps": 6, "guidance": 6.0}
PROMPT, SEED = "a red fox runs through fresh snow at sunset, cinematic", 42
PROBE_STEPS = 3  # the probe clip: its steps 2..3 estimate a step, its decode the decode
DECODE_MARGIN_S = 15  # kept free beyond the estimated clip (text encode, first step, decode, freeing)


# ---------------------------------------------------------------- set-up


def model_presets(model: str, tiny: bool) -> dict:
    """The presets document a worker holding `model` gives its engine, cut to the one preset timed here."""
    name = MODEL_PRESETS[model]
    if tiny:
        preset = {"description": f"tiny stand-in for {name}", "model": model, **TINY_SHAPE}
    else:
        preset = json.loads(PRESETS_FILE.read_text())["presets"][name]
        if preset.get("model", REFERENCE_MODEL) != model:
            raise ValueError(f"config/presets.json: preset {name} is for {preset.get('model')}, not {model}")
    return {"default": name, "presets": {name: preset}}


def engine_config(model: str, spec, presets: dict, cache_dir: str) -> EngineConfig:
    """The settings document a worker would give an engine of `model` on this machine."""
    return EngineConfig.from_settings({
        "model": "random-weights (bench/random_cogvideox.py)",
        "model_name": model,  # the pipeline is built in memory (prepare_pipeline): no model_index.json to read
        "pipeline": spec.pipeline.__name__,
        "native_dtype": str(spec.dtype).removeprefix("torch."),
        "presets": presets,
        "device": DEVICE.type,
        "dtype": "auto",  # the worker's default: the model's native dtype on a GPU, float32 on the CPU
        "memory_profile": "resident",
        "compile": "1" if CUDA else "0",
        "compile_cache_dir": cache_dir,
        "warmup": True,
        "log_level": "WARNING",
        "cfg_parallel": False,
    })


def make_pipe(model: str, tiny: bool):
    if tiny:
        import make_tiny_pipeline

        pipe = make_tiny_pipeline.make_pipeline(TINY_KINDS[model])
        for module in (pipe.text_encoder, pipe.transformer, pipe.vae):
            module.eval()  # built, not loaded: still in training mode (T5's dropout would make every run differ)
        return pipe.to(DEVICE)
    from random_cogvideox import build_pipeline

    return build_pipeline(DEVICE, seed=0, model=model)


def write_photo(path: Path, width: int, height: int) -> Path:
    """A smooth colour gradient with some noise, RGB PNG: the photo the image-to-video model animates."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([255 * x / max(1, width - 1), 255 * y / max(1, height - 1), 128 + 64 * np.sin(x / 37.0)], axis=-1)
    rgb = np.clip(rgb + rng.normal(0, 12, rgb.shape), 0, 255).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(path)
    return path


def spec_of(model: str):
    from random_cogvideox import MODELS

    return MODELS[model]


def parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ---------------------------------------------------------------- one model


def clip_record(output, steps: int) -> dict:
    seconds = output.seconds
    return {
        "steps": steps,
        "seconds": seconds,
        "stages_total_s": round(sum(seconds[k] for k in ("text_encode", "denoise", "vae_decode")), 3),
        "first_step_s": output.step_seconds[0] if output.step_seconds else None,
        # step 1 also prepares the latents (and, image-to-video, VAE-encodes the photo): left out of per_step_s
        "per_step_s": median(output.step_seconds[1:]),
        "step_seconds": output.step_seconds,
        "peak_vram_gib": gib(output.peak_vram_bytes),
        "peak_reserved_gib": gib(peak_reserved()),
        "frames_shape": list(output.frames.shape),
    }


def steps_that_fit(seconds_left: float, probe: dict, full_steps: int) -> int:
    """The most steps (up to the preset's) whose clip ends with DECODE_MARGIN_S to spare."""
    per_step = probe["per_step_s"] or probe["first_step_s"]
    fixed = probe["seconds"]["text_encode"] + probe["first_step_s"] + probe["seconds"]["vae_decode"] + DECODE_MARGIN_S
    fit = 1 + math.floor((seconds_left - fixed) / per_step) if per_step else full_steps
    return max(PROBE_STEPS, min(full_steps, fit))


def bench_model(model: str, args, record: dict, cache_dir: str, work_dir: Path, timeline: GpuTimeline,
                seconds_for_me) -> None:
    """Build, prepare, warm up, probe and time one clip of `model`; fills `record` as it goes."""
    spec = spec_of(model)
    presets_doc = model_presets(model, args.tiny)
    presets = parse_presets(presets_doc)
    preset = presets.get(presets.default)
    config = engine_config(model, spec, presets_doc, cache_dir)
    record.update(preset=preset.name, preset_shape=f"{preset.width}x{preset.height}x{preset.frames}",
                  preset_steps=preset.steps, pipeline=config.pipeline, native_dtype=config.native_dtype)
    empty_cache()
    allocated_before = torch.cuda.memory_allocated() if CUDA else None

    # 1. Build (random weights, initialised on the device: stands for from_pretrained's load)
    start = time.perf_counter()
    pipe = make_pipe(model, args.tiny)
    record["build_s"] = round(time.perf_counter() - start, 2)
    record["parameters"] = {name: parameters(getattr(pipe, name)) for name in ("text_encoder", "transformer", "vae")}

    # 2. The engine's placement and tuning
    before_compiles, before_cache = compile_count(), inductor_cache_counters()
    start = time.perf_counter()
    loaded = prepare_pipeline(pipe, config)
    record["prepare_s"] = round(time.perf_counter() - start, 2)
    record["load_and_prepare_s"] = round(record["build_s"] + record["prepare_s"], 2)
    record["dtype"] = loaded.dtype_name
    record["memory_profile"] = loaded.memory_profile
    record["weights_resident_gib"] = gib(torch.cuda.memory_allocated() - allocated_before) if CUDA else None

    # 3. Warm-up through the engine (cold compile, unless an earlier model of this run built the same graphs)
    writer = RecordingWriter()
    engine = Engine(config, presets, writer)
    start = time.perf_counter()
    engine.start(loaded)
    record["warmup_s"] = round(time.perf_counter() - start, 2)
    ready = writer.until("ready", timeout=60)[1]
    record["warmup_by_preset_s"] = ready.get("warmup_seconds")
    record["tuning"] = ready.get("tuning")
    record["attention"] = (ready.get("tuning") or {}).get("attention")
    record["compiled"] = ready.get("compiled")
    record["graphs_compiled_at_warmup"] = compile_count() - before_compiles
    after_cache = inductor_cache_counters()
    record["compile_cache_counters"] = {k: v - before_cache.get(k, 0) for k, v in after_cache.items()}

    image = None
    if loaded.takes_image:
        photo = write_photo(work_dir / f"{model}-photo.png", preset.width, preset.height)
        image = load_image(str(photo), preset)  # the engine's own reading of a request's photo
        record["photo"] = f"{preset.width}x{preset.height} RGB PNG (gradient + noise)"

    # 4. Probe, then the timed clip: the preset's steps where they fit
    output = generate(loaded, preset, PROMPT, seed=SEED, steps=PROBE_STEPS, image=image)
    record["probe"] = probe = clip_record(output, PROBE_STEPS)
    left = seconds_for_me()
    steps = steps_that_fit(left, probe, preset.steps) if args.steps is None else min(args.steps, preset.steps)
    record["steps_budget"] = {"seconds_left_for_this_clip": round(left, 1), "steps_chosen": steps}
    print(f"[bench]   {model}: probe {probe['per_step_s']} s/step; timing {steps} of {preset.steps} steps "
          f"({left:.0f} s left for it)", flush=True)
    compiles = compile_count()
    wall_start, start = time.time(), time.perf_counter()
    output = generate(loaded, preset, PROMPT, seed=SEED, steps=steps, image=image)
    wall_s = round(time.perf_counter() - start, 3)
    clip = clip_record(output, steps)
    clip.update(wall_s=wall_s, recompiles=compile_count() - compiles, gpu=timeline.between(wall_start, time.time()),
                frames_finite=bool(np.isfinite(output.frames).all()))
    record["clip"] = clip
    record["per_step_s"] = clip["per_step_s"]
    record["decode_s"] = clip["seconds"]["vae_decode"]
    record["steps_timed"] = steps
    record["peak_vram_gib"] = clip["peak_vram_gib"]
    record["peak_reserved_gib"] = clip["peak_reserved_gib"]
    if steps == preset.steps:
        record["clip_s"] = clip["stages_total_s"]
        record["clip_s_is"] = f"measured: one {steps}-step clip (text encode + denoise + decode)"
    else:
        estimate = (clip["seconds"]["text_encode"] + clip["first_step_s"] + (preset.steps - 1) * clip["per_step_s"]
                    + clip["seconds"]["vae_decode"])
        record["clip_s"] = None
        record["clip_s_estimate"] = round(estimate, 2)  # for preset.steps (preset_steps)
        record["clip_s_is"] = (f"not measured: {steps} of {preset.steps} steps timed ({clip['stages_total_s']} s); "
                               f"the {preset.steps}-step clip extrapolated as text encode + first step + "
                               f"{preset.steps - 1} x median step + decode")
    record["recompiles_after_warmup"] = engine.recompiles
    del output, image, engine, loaded, pipe, writer


def free_memory(record: dict) -> None:
    gc.collect()
    empty_cache()
    if CUDA:
        record["after_free"] = {"allocated_gib": gib(torch.cuda.memory_allocated()),
                                "reserved_gib": gib(torch.cuda.memory_reserved())}


# ---------------------------------------------------------------- the run


def summary_row(model: str, record: dict) -> dict:
    return {
        "model": model,
        "preset": record.get("preset"),
        "per_step_s": record.get("per_step_s"),
        "steps_timed": record.get("steps_timed"),
        "clip_s": record.get("clip_s"),
        "clip_s_estimate": record.get("clip_s_estimate"),
        "decode_s": record.get("decode_s"),
        "peak_vram_gib": record.get("peak_vram_gib"),
        "load_and_prepare_s": record.get("load_and_prepare_s"),
        "warmup_s": record.get("warmup_s"),
        "attention": record.get("attention"),
        "error": record.get("error"),
    }


def print_summary(rows: list[dict]) -> None:
    print("\n[bench] summary")
    header = f"  {'model':18s} {'preset':9s} {'s/step':>7s} {'steps':>5s} {'clip s':>8s} {'est. s':>8s} " \
             f"{'decode':>7s} {'peak GiB':>8s} {'load s':>7s} {'warm s':>7s} attention"
    print(header)
    for r in rows:
        cells = [r["per_step_s"], r["steps_timed"], r["clip_s"], r["clip_s_estimate"], r["decode_s"],
                 r["peak_vram_gib"], r["load_and_prepare_s"], r["warmup_s"]]
        text = [("-" if c is None else str(c)) for c in cells]
        print(f"  {r['model']:18s} {str(r['preset']):9s} {text[0]:>7s} {text[1]:>5s} {text[2]:>8s} {text[3]:>8s} "
              f"{text[4]:>7s} {text[5]:>8s} {text[6]:>7s} {text[7]:>7s} {r['attention']}"
              + (f"  ERROR: {r['error']}" if r["error"] else ""))


@torch.no_grad()
def main_run(args) -> int:
    results = Results(Path(args.out))
    deadline = Deadline(args.deadline_s)
    cache_dir = args.compile_cache_dir or tempfile.mkdtemp(prefix="cogcast-compile-cache-")
    work_dir = Path(tempfile.mkdtemp(prefix="cogcast-model-bench-"))
    timeline = GpuTimeline(work_dir / "gpu-timeline.csv").__enter__()
    allocator = configure_allocator(DEVICE)  # what load_pipeline sets before the weights take their memory
    import diffusers
    import transformers

    models = list(dict.fromkeys(args.models))
    results["meta"] = {
        "command": "python " + " ".join(sys.argv),
        "gpu": torch.cuda.get_device_name() if CUDA else None,
        "gpu_memory_gib": gib(torch.cuda.mem_get_info()[1]) if CUDA else None,
        "cpus": os.cpu_count(),
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if CUDA else None,
        "diffusers": diffusers.__version__, "transformers": transformers.__version__,
        "fa3_fwd_importable": _importable("fa3_fwd_interface"), "torchao_importable": _importable("torchao"),
        "allocator": allocator,
        "weights": "tiny (make_tiny_pipeline.py)" if args.tiny else "random, full size (bench/random_cogvideox.py)",
        "models": models, "reference": args.reference, "deadline_s": args.deadline_s,
        "compile_cache": "one fresh (cold) cache dir shared by the models of this run, in this order",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    results["models"] = {}
    results.save()

    plan = [(model, True) for model in models]
    if args.reference and REFERENCE_MODEL not in models:
        plan.append((REFERENCE_MODEL, False))
    for index, (model, required) in enumerate(plan):
        later_required = sum(1 for _, r in plan[index + 1:] if r)
        record = results["models"].setdefault(model, {})
        needs = 0 if required else args.reference_needs_s

        def seconds_for_me(later=later_required):
            return deadline.left() - later * args.reserve_s

        with part(results, model, deadline, needs_s=needs) as ok:
            if ok:
                try:
                    bench_model(model, args, record, cache_dir, work_dir, timeline, seconds_for_me)
                except Exception as error:
                    record["error"] = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                    raise
                finally:
                    free_memory(record)
            else:
                record["skipped"] = results["skipped"][model]

    timeline.__exit__(None, None, None)
    rows = [summary_row(model, results["models"][model]) for model, _ in plan]
    results["summary"] = rows
    results.save()
    print_summary(rows)
    print(json.dumps({"summary": rows, "errors": list(results.get("errors", {}))}, separators=(",", ":")))
    return 1 if results.get("errors") else 0


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", dest="models", action="append", choices=list(MODEL_PRESETS), required=True,
                        help="a model to time (repeat; in this order)")
    parser.add_argument("--reference", action="store_true",
                        help=f"also {REFERENCE_MODEL} (standard) last, if --reference-needs-s are left")
    parser.add_argument("--reference-needs-s", type=float, default=240, help="time the reference model needs")
    parser.add_argument("--out", required=True, help="where to write the JSON")
    parser.add_argument("--deadline-s", type=float, default=540, help="the whole run ends within this many seconds")
    parser.add_argument("--reserve-s", type=float, default=200,
                        help="seconds kept for each later --model while choosing how many steps to time")
    parser.add_argument("--steps", type=int, default=None, help="time this many steps (default: the preset's, if they fit)")
    parser.add_argument("--compile-cache-dir", default=None, help="compile cache (default: a fresh, cold one)")
    parser.add_argument("--tiny", action="store_true", help="the tiny test pipelines: checks this script (CPU too)")
    args = parser.parse_args(argv)
    if not CUDA and not args.tiny:
        print("model_bench needs a CUDA GPU (or --tiny)", file=sys.stderr)
        return 2
    return main_run(args)


if __name__ == "__main__":
    sys.exit(main())
