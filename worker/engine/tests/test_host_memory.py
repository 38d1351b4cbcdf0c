"""After a job the engine hands freed host memory back to the OS (glibc's malloc_trim)."""

import platform

import pytest

from cogcast_engine.host_memory import release_host_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_freed_heap_is_trimmed_on_glibc():
    garbage = [bytearray(64 * 1024) for _ in range(2000)]  # ~128 MB of small heap blocks, then freed
    del garbage
    assert release_host_memory() is True
