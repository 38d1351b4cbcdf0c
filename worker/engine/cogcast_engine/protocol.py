"""The JSON-lines contract with the worker: requests parsed at the edge against contract.schema.json, typed messages out.

The fields are defined once, in the worker's zod schemas (worker/engine-client/engine-protocol.ts); the dataclasses
here are checked against the generated schema by tests/test_contract.py, so neither side can add or drop one alone.
"""

import json
from dataclasses import asdict, dataclass, field
from typing import ClassVar, Literal

from . import contract

ErrorKind = Literal["oom", "bad_input", "internal"]
MAX_SEED: int = contract.subschema("requests", "generate")["properties"]["seed"]["maximum"]  # 2**32 - 1


class ProtocolError(ValueError):
    """A request line that cannot be served; job_id is set when the line named one."""

    def __init__(self, message: str, job_id: str | None = None):
        super().__init__(message)
        self.job_id = job_id


# ---- requests (worker -> engine) ----


@dataclass(frozen=True)
class GenerateRequest:
    job_id: str
    prompt: str
    negative_prompt: str
    preset: str
    seed: int
    output_dir: str
    image: str | None = None  # absolute path of the photo an image-to-video model animates (RGB PNG, the preset's size)


@dataclass(frozen=True)
class CancelRequest:
    job_id: str


@dataclass(frozen=True)
class StatsRequest:
    pass


@dataclass(frozen=True)
class ShutdownRequest:
    pass


Request = GenerateRequest | CancelRequest | StatsRequest | ShutdownRequest
REQUEST_TYPES: dict[str, type] = {
    "generate": GenerateRequest,
    "cancel": CancelRequest,
    "stats": StatsRequest,
    "shutdown": ShutdownRequest,
}


def parse_request(line: str | bytes) -> Request:
    """Parse one request line; raises ProtocolError naming the bad field."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ProtocolError(f"malformed line: not JSON ({error})") from error
    if not isinstance(data, dict):
        raise ProtocolError("malformed line: a request must be a JSON object")

    kind = data.get("type")
    # A job id, when readable, lets even a bad request be answered about its job.
    job_id = data.get("job_id") if isinstance(data.get("job_id"), str) and data.get("job_id") else None
    if kind not in REQUEST_TYPES:
        raise ProtocolError(f"type: unknown request type {kind!r} ({', '.join(REQUEST_TYPES)})", job_id)
    try:
        fields = contract.validate("requests", kind, data)
    except contract.ContractError as error:
        raise ProtocolError(str(error), job_id) from error
    fields.pop("type")
    return REQUEST_TYPES[kind](**fields)


# ---- messages (engine -> worker) ----


@dataclass
class Message:
    TYPE: ClassVar[str]

    def to_dict(self) -> dict:
        return {"type": self.TYPE, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))


@dataclass
class Status(Message):
    TYPE = "status"
    state: Literal["loading", "warming"]
    preset: str | None = None


@dataclass
class Ready(Message):
    TYPE = "ready"
    device: str
    gpu_name: str | None
    dtype: str
    memory_profile: str
    presets: list[str]
    warmup_seconds: dict[str, float]
    load_seconds: float
    compiled: bool
    tuning: dict = field(default_factory=dict)  # what tuning applied (TuningReport.summary())


@dataclass
class Progress(Message):
    TYPE = "progress"
    job_id: str
    step: int
    steps: int
    stage: Literal["denoising", "decoding"] = "denoising"  # decoding: the last step is done, the VAE decodes


@dataclass
class Result(Message):
    TYPE = "result"
    job_id: str
    frames_path: str
    width: int
    height: int
    frames: int
    fps: int
    seconds: dict[str, float]
    step_seconds: list[float]
    peak_vram_bytes: int | None
    gpu_util_mean: float | None
    gpu_name: str | None
    seed: int
    steps: int
    preset: str
    recompiles: int = 0  # torch.compile graphs built since ready (0 when serving works as designed)


@dataclass
class Error(Message):
    TYPE = "error"
    job_id: str | None
    kind: ErrorKind
    message: str


@dataclass
class Cancelled(Message):
    TYPE = "cancelled"
    job_id: str


@dataclass
class Memory(Message):
    TYPE = "memory"
    job_id: str
    allocated_bytes: int | None
    reserved_bytes: int | None
    after_empty_cache: bool


@dataclass
class Stats(Message):
    TYPE = "stats"
    device: str
    gpu_name: str | None
    vram_used_bytes: int | None
    vram_total_bytes: int | None
    gpu_util: float | None
    temperature_c: float | None
    power_w: float | None
    state: Literal["idle", "generating"]
    job_id: str | None
    recompiles: int = 0
