"""The JSON-lines contract with the worker (PROTOCOL.md): typed requests parsed at the edge, typed messages out."""

import json
from dataclasses import asdict, dataclass, field
from typing import ClassVar, Literal

ErrorKind = Literal["oom", "bad_input", "internal"]
MAX_SEED = 2**64 - 1  # torch.Generator.manual_seed's range


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

    if kind == "generate":
        return GenerateRequest(
            job_id=_string(data, "job_id", job_id),
            prompt=_string(data, "prompt", job_id, allow_empty=True),
            negative_prompt=_string(data, "negative_prompt", job_id, allow_empty=True, default=""),
            preset=_string(data, "preset", job_id),
            seed=_seed(data, job_id),
            output_dir=_string(data, "output_dir", job_id),
        )
    if kind == "cancel":
        return CancelRequest(job_id=_string(data, "job_id", job_id))
    if kind == "stats":
        return StatsRequest()
    if kind == "shutdown":
        return ShutdownRequest()
    raise ProtocolError(f"type: unknown request type {kind!r} (generate, cancel, stats, shutdown)", job_id)


def _string(data: dict, name: str, job_id: str | None, allow_empty: bool = False, default: str | None = None) -> str:
    value = data.get(name, default)
    if not isinstance(value, str) or (not value and not allow_empty):
        raise ProtocolError(f"{name}: must be a {'' if allow_empty else 'non-empty '}string, got {value!r}", job_id)
    return value


def _seed(data: dict, job_id: str | None) -> int:
    seed = data.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ProtocolError(f"seed: must be an integer in [0, 2**64), got {seed!r}", job_id)
    return seed


# ---- messages (engine -> worker) ----


@dataclass
class Message:
    TYPE: ClassVar[str]

    def to_json(self) -> str:
        return json.dumps({"type": self.TYPE, **asdict(self)}, separators=(",", ":"))


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
    tuning: dict = field(default_factory=dict)  # what tuning applied: attention kernel, fused projections, ...


@dataclass
class Progress(Message):
    TYPE = "progress"
    job_id: str
    step: int
    steps: int


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
    preset: str = ""
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
