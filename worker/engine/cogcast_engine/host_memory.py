"""Hands freed host memory back to the OS after a job, so a long-running engine's RSS stays flat.

glibc keeps freed heap pages in its arenas; after thousands of frame buffers and CPU tensors of varying sizes the
process's RSS creeps up although nothing is live. `malloc_trim(0)` returns those pages. Elsewhere (musl, macOS)
there is no such call and this does nothing.
"""

import ctypes
import ctypes.util
import gc
import logging

logger = logging.getLogger(__name__)

_libc = None
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _malloc_trim = _libc.malloc_trim
    _malloc_trim.argtypes = [ctypes.c_size_t]
    _malloc_trim.restype = ctypes.c_int
except (OSError, AttributeError):  # not glibc
    _malloc_trim = None


def release_host_memory() -> bool:
    """Collect garbage, then trim the C heap; True when the heap was trimmed."""
    gc.collect()
    if _malloc_trim is None:
        return False
    return bool(_malloc_trim(0))
