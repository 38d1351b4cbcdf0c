"""CFG parallelism's rendezvous listens on the loopback only (torch's TCPStore alone would listen on every interface)."""

import os
from datetime import timedelta

from cogcast_engine.loopback import loopback_store


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on `port` (/proc/net/tcp and tcp6: state 0A)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as lines:
            next(lines)
            for line in lines:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.rpartition(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


def test_the_rendezvous_listens_on_127_0_0_1_only():
    store = loopback_store(world_size=2, timeout=timedelta(seconds=10))
    store.set("k", "v")
    assert store.get("k") == b"v"
    assert listening_addresses(store.port) == {"0100007F"}  # 127.0.0.1, little-endian hex
    assert os.environ["GLOO_SOCKET_IFNAME"] == "lo" and os.environ["NCCL_SOCKET_IFNAME"] == "lo"
