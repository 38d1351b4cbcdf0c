"""Drive a real `python -m cogcast_engine` subprocess over its JSON-lines protocol, as the worker does."""

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from cogcast_engine import contract
from cogcast_engine.envs import settings_env

ENGINE_DIR = Path(__file__).resolve().parents[1]


# The catalogue entry (config/models.ts) each tiny kind reads as, and what the worker sends for it.
TINY_MODELS = {
    "t2v": {"model_name": "cogvideox-2b", "pipeline": "CogVideoXPipeline", "native_dtype": "float16"},
    "i2v": {"model_name": "cogvideox-5b-i2v", "pipeline": "CogVideoXImageToVideoPipeline", "native_dtype": "bfloat16"},
}


def tiny_settings(model_dir: Path, presets_file: Path | None = None, kind: str = "t2v", **overrides) -> dict:
    """A complete settings document (the worker always sends every field), pinned for tests: CPU, warm-up on.

    `kind` names the tiny pipeline in model_dir (make_tiny_pipeline.py --kind), for the model fields.
    """
    presets_file = presets_file or ENGINE_DIR.parents[1] / "test" / "fixtures" / "presets.tiny.json"
    return {
        "model": str(model_dir),
        **TINY_MODELS[kind],
        "presets": json.loads(Path(presets_file).read_text()),
        "device": "cpu",
        "dtype": "auto",
        "memory_profile": "auto",
        "warmup": True,
        "compile": "auto",
        "compile_cache_dir": str(ENGINE_DIR.parents[1] / "var" / "compile-cache"),
        "log_level": "WARNING",
        "cfg_parallel": False,
        **overrides,
    }


class EngineProcess:
    def __init__(
        self, model_dir: Path, presets_file: Path, settings: dict | None = None, kind: str = "t2v", **overrides
    ):
        """`overrides` change fields of the tiny settings; `settings` replaces the document whole (a bad one, say)."""
        if settings is None:
            settings = tiny_settings(model_dir, presets_file, kind, **overrides)
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ENGINE_DIR), os.environ.get("PYTHONPATH")])),
            **settings_env(settings),
        }
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cogcast_engine"],
            cwd=ENGINE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            bufsize=1,
        )
        self.messages: queue.Queue[dict | None] = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            # Every stdout line must be a protocol message, as the contract spells it: anything else breaks the worker.
            message = json.loads(line)
            try:
                contract.validate("messages", message.get("type"), json.loads(line), where=message.get("type", "?"))
            except (contract.ContractError, KeyError) as error:
                message = {"type": "contract-violation", "line": line, "error": str(error)}
            self.messages.put(message)
        self.messages.put(None)

    def send(self, **message) -> None:
        self.send_line(json.dumps(message))

    def send_line(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def next(self, timeout: float = 30) -> dict:
        message = self.messages.get(timeout=timeout)
        assert message is not None, f"engine closed stdout; stderr:\n{self.stderr_text()}"
        return message

    def until(self, type_: str, timeout: float = 60) -> list[dict]:
        """Messages up to and including the first of `type_`."""
        seen = []
        while not seen or seen[-1]["type"] != type_:
            seen.append(self.next(timeout))
        return seen

    def generate(
        self, job_id: str, output_dir: Path, prompt: str = "a red fox", preset: str = "tiny", seed: int = 1,
        image: Path | str | None = None,
    ):
        self.send(
            type="generate",
            job_id=job_id,
            prompt=prompt,
            negative_prompt="",
            preset=preset,
            seed=seed,
            output_dir=str(output_dir),
            **({"image": str(image)} if image is not None else {}),
        )

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read()

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.send(type="shutdown")
                self.process.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.stderr.close()
