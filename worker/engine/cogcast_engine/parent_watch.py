"""The engine runs in a process group of its own (a Ctrl-C or group kill aimed at the worker must not stop it
mid-step), so nothing the terminal or a supervisor sends reaches it: it ends when its worker is gone instead.

EOF on stdin ends it once it serves; this covers the rest (loading, warming, a job in flight when the worker was
SIGKILLed): the kernel's parent-death signal where Linux offers it, and a watch on the parent pid everywhere.
"""

import ctypes
import ctypes.util
import logging
import os
import signal
import threading
import time

logger = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 1.0


def exit_with_parent() -> None:
    parent = os.getppid()
    _request_parent_death_signal()
    if os.getppid() != parent or parent == 1:  # the parent died before the request took hold
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()


def _request_parent_death_signal() -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the watch below still ends the process within a second or so


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    logger.error("the worker (pid %d) is gone: the engine exits", parent)
    os._exit(1)
