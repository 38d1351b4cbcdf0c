"""TIMING-ONLY STAND-IN FOR THE ENGINE - NOT THE ENGINE, NO MODEL, NO GPU, NO VIDEO. Used by bench/fleet-bench.ts alone.

Speaks the engine protocol (worker/engine/PROTOCOL.md) so a real cogcast worker can run against it: `ready` at
once, then for every `generate` one `progress` per step, each after STANDIN_SECONDS_PER_STEP seconds of sleep,
and a `result` whose frames file is the preset's shape filled with grey. It measures what the queue, Redis and
the bot carry as a fleet grows, never what a GPU does. System python3, no packages.
"""
import json
import os
import select
import sys
import time

SECONDS_PER_STEP = float(os.environ.get("STANDIN_SECONDS_PER_STEP", "0.05"))
PRESETS = json.load(open(os.environ["PRESETS_FILE"]))["presets"]


def send(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def stats() -> dict:
    return {"type": "stats", "device": "cpu-timing-only-standin", "gpu_name": None, "vram_used_bytes": None, "vram_total_bytes": None,
            "gpu_util": None, "temperature_c": None, "power_w": None, "state": "idle", "job_id": None}


def cancelled_while_sleeping(job_id: str, seconds: float) -> bool:
    """Sleeps, answering `stats` meanwhile; True if a `cancel` for the job (or EOF/shutdown) came."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        ready, _, _ = select.select([sys.stdin], [], [], left)
        if not ready:
            return False
        line = sys.stdin.readline()
        if not line:
            return True
        request = json.loads(line)
        if request.get("type") == "stats":
            send(stats())
        elif request.get("type") in ("shutdown",) or (request.get("type") == "cancel" and request.get("job_id") == job_id):
            return True


def generate(request: dict) -> None:
    job_id = request["job_id"]
    preset = PRESETS.get(request["preset"])
    if preset is None:
        send({"type": "error", "job_id": job_id, "kind": "bad_input", "message": f"unknown preset {request['preset']}"})
        return
    started = time.monotonic()
    steps = preset["steps"]
    for step in range(1, steps + 1):
        if cancelled_while_sleeping(job_id, SECONDS_PER_STEP):
            send({"type": "cancelled", "job_id": job_id})
            send({"type": "memory", "job_id": job_id, "allocated_bytes": None, "reserved_bytes": None})
            return
        send({"type": "progress", "job_id": job_id, "step": step, "steps": steps})
    denoise = time.monotonic() - started
    os.makedirs(request["output_dir"], exist_ok=True)
    path = os.path.join(request["output_dir"], "frames.rgb")
    with open(path, "wb") as f:
        f.write(b"\x80" * (preset["width"] * preset["height"] * 3 * preset["frames"]))
    total = time.monotonic() - started
    send({"type": "result", "job_id": job_id, "frames_path": path, "width": preset["width"], "height": preset["height"],
          "frames": preset["frames"], "fps": preset["fps"], "seconds": {"text_encode": 0.0, "denoise": denoise, "vae_decode": 0.0, "total": total},
          "peak_vram_bytes": None, "gpu_util_mean": None, "gpu_name": None, "seed": request.get("seed"), "steps": steps, "preset": request["preset"]})
    send({"type": "memory", "job_id": job_id, "allocated_bytes": None, "reserved_bytes": None})


def main() -> None:
    send({"type": "ready", "device": "cpu-timing-only-standin", "gpu_name": None, "presets": list(PRESETS), "load_seconds": 0.0, "compiled": False})
    for line in sys.stdin:
        request = json.loads(line)
        kind = request.get("type")
        if kind == "generate":
            generate(request)
        elif kind == "stats":
            send(stats())
        elif kind == "shutdown":
            break


if __name__ == "__main__":
    main()
