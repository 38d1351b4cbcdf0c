"""Engine processes (`python -m cogcast_engine`) driven over their JSON-lines protocol, and one shared job queue
pulled by several of them: what the Node workers and BullMQ do, for benchmarks on a machine with neither."""

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ENGINE_DIR = REPO_ROOT / "worker" / "engine"
# Mandatory on the multi-GPU machines: no NVLink SHARP multicast (NCCL) nor multicast symmetric memory (torch).
MULTI_GPU_ENV = {"NCCL_NVLS_ENABLE": "0", "TORCH_SYMM_MEM_DISABLE_MULTICAST": "1"}


class EngineFailed(RuntimeError):
    pass


class EngineProcess:
    """One engine as the worker runs it: started with its environment, spoken to over stdin/stdout."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path):
        self.name = name
        self.stderr_path = log_dir / f"engine-{name}.stderr"
        self.stderr = open(self.stderr_path, "w")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "cogcast_engine"],
            cwd=ENGINE_DIR,
            env={**os.environ, **MULTI_GPU_ENV, "PYTHONPATH": os.pathsep.join(filter(None, [str(ENGINE_DIR), os.environ.get("PYTHONPATH")])), **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            bufsize=1,
        )
        self.messages: queue.Queue[tuple[float, dict | None]] = queue.Queue()
        threading.Thread(target=self._read, name=f"read-{name}", daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.messages.put((time.perf_counter(), json.loads(line)))
        self.messages.put((time.perf_counter(), None))

    def until(self, *types: str, timeout: float) -> tuple[float, dict]:
        """The first message of one of `types` (others skipped); an engine error or exit raises EngineFailed."""
        end = time.monotonic() + timeout
        while True:
            try:
                stamp, message = self.messages.get(timeout=max(0.1, end - time.monotonic()))
            except queue.Empty:
                raise EngineFailed(f"engine {self.name}: no {'/'.join(types)} within {timeout:.0f} s") from None
            if message is None:
                raise EngineFailed(f"engine {self.name} exited ({self.process.wait()}): {self.stderr_tail()}")
            if message["type"] in types:
                return stamp, message
            if message["type"] == "error" and "error" not in types:
                raise EngineFailed(f"engine {self.name}: {message['message']}")

    def ready(self, timeout: float) -> dict:
        stamp, message = self.until("ready", timeout=timeout)
        return {**message, "ready_after_s": round(stamp - self.started, 2)}

    def run(self, job_id: str, prompt: str, preset: str, seed: int, work_dir: Path, timeout: float) -> dict:
        """One job, from the generate line written to the result read: what a worker waits for."""
        sent = time.perf_counter()
        self.process.stdin.write(json.dumps({"type": "generate", "job_id": job_id, "prompt": prompt, "negative_prompt": "",
                                             "preset": preset, "seed": seed, "output_dir": str(work_dir / job_id)}) + "\n")
        self.process.stdin.flush()
        done, result = self.until("result", timeout=timeout)
        self.until("memory", timeout=30)  # follows every job; the engine is idle already
        return {"job_id": job_id, "engine": self.name, "wall_s": round(done - sent, 3), "sent": sent, "done": done,
                "seconds": result["seconds"], "frames_path": result["frames_path"], "peak_vram_bytes": result["peak_vram_bytes"]}

    def stderr_tail(self, lines: int = 15) -> str:
        return "\n".join(self.stderr_path.read_text(errors="replace").splitlines()[-lines:])

    def close(self, timeout: float = 60) -> int | None:
        if self.process.poll() is None:
            try:
                self.process.stdin.write(json.dumps({"type": "shutdown"}) + "\n")
                self.process.stdin.close()
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.stderr.close()
        return self.process.returncode


def run_queue(engines: list[EngineProcess], jobs: list[tuple[str, int]], preset: str, work_dir: Path,
              timeout: float, keep_frames: bool = False) -> dict:
    """`jobs` (prompt, seed) in one shared queue; each engine pulls the next as soon as it is idle (concurrency 1,
    like a BullMQ worker). Wall time runs from the first generate sent to the last result read."""
    pending: queue.Queue[tuple[int, str, int]] = queue.Queue()
    for index, (prompt, seed) in enumerate(jobs):
        pending.put((index, prompt, seed))
    records: list[dict] = []
    failures: list[str] = []

    def pull(engine: EngineProcess) -> None:
        while not failures:
            try:
                index, prompt, seed = pending.get_nowait()
            except queue.Empty:
                return
            try:
                record = engine.run(f"{engine.name}-job{index + 1}", prompt, preset, seed, work_dir, timeout)
            except Exception as error:
                failures.append(str(error))
                return
            records.append(record)
            if not keep_frames:
                Path(record["frames_path"]).unlink(missing_ok=True)

    threads = [threading.Thread(target=pull, args=(engine,), name=f"pull-{engine.name}") for engine in engines]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise EngineFailed(failures[0])
    wall = max(r["done"] for r in records) - start
    return {
        "engines": [engine.name for engine in engines],
        "jobs": len(records),
        "wall_s": round(wall, 2),
        "jobs_per_minute": round(60 * len(records) / wall, 2),
        "jobs_by_engine": {engine.name: sum(r["engine"] == engine.name for r in records) for engine in engines},
        "job_wall_s": [r["wall_s"] for r in sorted(records, key=lambda r: r["sent"])],
    }
