"""Measuring tools for engine_bench.py: the JSON document, timed parts, clocks, and the GPU's own timeline."""

import contextlib
import json
import math
import os
import queue
import shutil
import statistics
import subprocess
import time
import traceback
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

GIB = 1024**3
CUDA = torch.cuda.is_available()


class Results(dict):
    """The JSON document, rewritten whole after every part (a run cut short still leaves what it measured)."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        partial.write_text(json.dumps(self, indent=2, default=str) + "\n")
        os.replace(partial, self.path)


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


@contextlib.contextmanager
def part(results: Results, name: str, deadline: Deadline | None = None, needs_s: float = 0):
    """One measured part: yields False when out of time; its wall window and any error land in the JSON."""
    if deadline is not None and deadline.left() < needs_s:
        results.setdefault("skipped", {})[name] = f"out of time ({deadline.left():.0f} s left, needs ~{needs_s:.0f})"
        print(f"[bench] skip {name}: out of time", flush=True)
        results.save()
        yield False
        return
    start, wall_start = time.perf_counter(), time.time()
    print(f"[bench] {name} ...", flush=True)
    try:
        yield True
    except Exception:
        results.setdefault("errors", {})[name] = traceback.format_exc(limit=12)
        print(f"[bench] {name} FAILED:\n{traceback.format_exc(limit=12)}", flush=True)
    finally:
        results.setdefault("part_seconds", {})[name] = round(time.perf_counter() - start, 2)
        results.setdefault("part_windows", {})[name] = (wall_start, time.time())
        results.save()


def now() -> float:
    """Host time once queued GPU work is done (device work is asynchronous)."""
    if CUDA:
        torch.cuda.synchronize()
    return time.perf_counter()


def peak_allocated() -> int | None:
    return torch.cuda.max_memory_allocated() if CUDA else None


def peak_reserved() -> int | None:
    return torch.cuda.max_memory_reserved() if CUDA else None


def reset_peaks() -> None:
    if CUDA:
        torch.cuda.reset_peak_memory_stats()


def empty_cache() -> None:
    if CUDA:
        torch.cuda.empty_cache()


def median(values) -> float | None:
    values = list(values)
    return round(statistics.median(values), 4) if values else None


def psnr(a: np.ndarray, b: np.ndarray):
    mse = float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))
    return "inf" if mse == 0 else round(10 * math.log10(255.0**2 / mse), 2)


def ssim(a: np.ndarray, b: np.ndarray, every: int = 4):
    """Mean SSIM (scikit-image, per frame, colour) over every `every`-th frame of two (frames, h, w, 3) uint8 clips."""
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        return None
    values = [structural_similarity(a[i], b[i], channel_axis=-1, data_range=255) for i in range(0, len(a), every)]
    return round(float(np.mean(values)), 5)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    return float((a - b).norm() / b.norm())


def gib(n) -> float | None:
    return None if n is None else round(n / GIB, 2)


def top_kernels(fn, limit: int = 12) -> list[dict]:
    """The kernels one call of `fn` spends its time in (torch.profiler), largest first."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA if CUDA else ProfilerActivity.CPU]) as prof:
        fn()
        now()
    rows = []
    for event in prof.key_averages():
        if CUDA:
            us = getattr(event, "device_time_total", None) or getattr(event, "cuda_time_total", 0)
        else:
            us = event.self_cpu_time_total
        if us:
            rows.append({"kernel": event.key[:110], "ms": round(us / 1000, 2), "calls": event.count})
    rows.sort(key=lambda row: -row["ms"])
    return rows[:limit]


class RecordingWriter:
    """The engine's MessageWriter, in process: every message with the (perf_counter) time it was sent."""

    def __init__(self):
        self.messages: queue.Queue = queue.Queue()

    def send(self, message) -> None:
        self.messages.put((time.perf_counter(), json.loads(message.to_json())))

    def until(self, *types: str, timeout: float = 600) -> tuple[float, dict]:
        while True:
            stamp, message = self.messages.get(timeout=timeout)
            if message["type"] in types:
                return stamp, message


class GpuTimeline:
    """nvidia-smi sampling utilisation, SM clock and power every 100 ms into a file, in its own process.

    Its own process, so that a busy Python (the engine in this one) cannot starve the sampling, as an in-process
    sampler thread was seen to (4 samples a second where 20 were asked for, biased toward idle moments).
    """

    FIELDS = "timestamp,utilization.gpu,clocks.sm,power.draw"

    def __init__(self, path: Path):
        self.path = path
        self._process = None

    def __enter__(self):
        smi = shutil.which("nvidia-smi")
        if smi and CUDA:
            self._process = subprocess.Popen(
                [smi, f"--query-gpu={self.FIELDS}", "--format=csv,noheader,nounits", "-lms", "100", "-f", str(self.path)]
            )
        return self

    def __exit__(self, *exc):
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)

    def samples(self) -> list[tuple[float, float, float, float]]:
        rows = []
        if not self.path.exists():
            return rows
        for line in self.path.read_text().splitlines():
            try:
                stamp, util, clock, power = (field.strip() for field in line.split(","))
                wall = datetime.strptime(stamp, "%Y/%m/%d %H:%M:%S.%f").timestamp()
                rows.append((wall, float(util) / 100, float(clock), float(power)))
            except ValueError:
                continue
        return rows

    def between(self, start_wall: float, end_wall: float) -> dict | None:
        window = [row for row in self.samples() if start_wall <= row[0] <= end_wall]
        if not window:
            return None
        return {
            "samples": len(window),
            "util_mean": round(statistics.mean(row[1] for row in window), 4),
            "util_min": round(min(row[1] for row in window), 2),
            "sm_clock_mhz_median": statistics.median(row[2] for row in window),
            "sm_clock_mhz_min": min(row[2] for row in window),
            "power_w_mean": round(statistics.mean(row[3] for row in window), 1),
        }
