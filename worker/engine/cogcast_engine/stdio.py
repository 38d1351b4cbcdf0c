"""Keep stdout for protocol lines only: claim the real stdout for the engine, send everything else to stderr."""

import os
import sys
import threading
from typing import TextIO

from .protocol import Message


class MessageWriter:
    """Writes one message per line, flushed, from any thread (progress from the job, stats from the reader)."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: Message) -> None:
        line = message.to_json()
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()


def claim_stdout() -> MessageWriter:
    """Take the process's stdout for the protocol and point fd 1 and sys.stdout at stderr.

    Libraries print (tqdm, torch.compile, C extensions writing to fd 1): any of it on stdout would corrupt the
    protocol, so only the private handle returned here can reach the worker.
    """
    sys.stdout.flush()
    protocol_fd = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return MessageWriter(os.fdopen(protocol_fd, "w", encoding="utf-8", buffering=1))
