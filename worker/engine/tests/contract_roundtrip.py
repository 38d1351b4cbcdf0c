"""The Python half of test/unit/engine-contract.test.ts: what this side makes of the worker's documents, and
one message of every type as this side builds it. Reads one JSON object on stdin, writes one on stdout.

    in:  {"requests": [request, ...], "settings": document, "presets": [presets document, ...]}
    out: {"messages": [message, ...], "requests": [parsed, ...], "settings": parsed, "presets": [verdict, ...]}
"""

import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cogcast_engine.envs import EngineConfig  # noqa: E402
from cogcast_engine.presets import parse_presets  # noqa: E402
from cogcast_engine.protocol import (  # noqa: E402
    REQUEST_TYPES,
    Cancelled,
    Error,
    Memory,
    Progress,
    Ready,
    Result,
    Stats,
    Status,
    parse_request,
)

# As tuning.py's TuningReport.summary() builds it (tests/test_contract.py checks that one against the schema).
TUNING = {"fused_qkv": True, "fused_gelu": True, "compiled": True, "attention": "cudnn", "attention_ms": {"cudnn": 1.5},
          "vae_decode": "compiled-channels-last", "notes": ["x"]}

# One of each message, every field set as the engine sets it (dataclasses.asdict keeps defaults too).
SAMPLES = [
    Status(state="warming", preset="standard"),
    Ready(device="cuda:0", gpu_name="H200", dtype="float16", memory_profile="resident", presets=["standard"],
          warmup_seconds={"standard": 70.1}, load_seconds=8.2, compiled=True, tuning=TUNING),
    Progress(job_id="42", step=3, steps=50),
    Progress(job_id="42", step=50, steps=50, stage="decoding"),
    Result(job_id="42", frames_path="/w/42/frames.rgb", width=720, height=480, frames=49, fps=8,
           seconds={"text_encode": 0.2, "denoise": 19.8, "vae_decode": 2.1, "total": 22.3}, step_seconds=[0.4, 0.39],
           peak_vram_bytes=21474836480, gpu_util_mean=0.97, gpu_name="H200", seed=4294967295, steps=50,
           preset="standard", recompiles=0),
    Error(job_id=None, kind="internal", message="start-up failed"),
    Cancelled(job_id="42"),
    Memory(job_id="42", allocated_bytes=123, reserved_bytes=456, after_empty_cache=True),
    Stats(device="cuda:0", gpu_name="H200", vram_used_bytes=1, vram_total_bytes=2, gpu_util=0.5, temperature_c=40.0,
          power_w=300.0, state="generating", job_id="42", recompiles=0),
]


def verdict(document) -> dict:
    try:
        table = parse_presets(document)
    except ValueError as error:
        return {"ok": False, "error": str(error)}
    return {"ok": True, "names": table.names}


def given_fields(request) -> dict:
    """A parsed request's fields, less the optional ones it did not bring (a generate without `image`): as sent."""
    absent = {f.name for f in dataclasses.fields(request) if f.default is None and getattr(request, f.name) is None}
    return {name: value for name, value in dataclasses.asdict(request).items() if name not in absent}


def main() -> None:
    given = json.loads(sys.stdin.read())
    parsed_requests = []
    for request in given["requests"]:
        parsed = parse_request(json.dumps(request))
        kind = next(name for name, cls in REQUEST_TYPES.items() if isinstance(parsed, cls))
        parsed_requests.append({"type": kind, **given_fields(parsed)})
    config = EngineConfig.from_settings(given["settings"])
    json.dump(
        {
            "messages": [sample.to_dict() for sample in SAMPLES],
            "requests": parsed_requests,
            "settings": config.to_settings(),
            "presets": [verdict(document) for document in given["presets"]],
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
