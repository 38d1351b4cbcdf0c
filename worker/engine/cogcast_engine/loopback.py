"""CFG parallelism's rendezvous on 127.0.0.1 only: both ranks share one host, so nothing needs to listen wider.

torch's TCPStore binds its server to every interface whatever host it is given; handed a socket already bound to
the loopback (master_listen_fd, which the non-libuv server supports), it listens there alone. Gloo's and NCCL's own
sockets follow GLOO_SOCKET_IFNAME / NCCL_SOCKET_IFNAME, set to the loopback unless the operator chose otherwise.
"""

import os
import socket
from datetime import timedelta

import torch.distributed as dist

LOOPBACK = "127.0.0.1"
LOOPBACK_INTERFACE = "lo"


def loopback_store(world_size: int, timeout: timedelta) -> dist.TCPStore:
    """The rendezvous server on a free loopback port (its `.port` tells the other rank where)."""
    use_loopback_interfaces()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen()
    port = listener.getsockname()[1]
    # detach(): the store owns the descriptor now; Python closing it at exit would kill the store's thread.
    return dist.TCPStore(
        LOOPBACK, port, world_size, is_master=True, wait_for_workers=False, timeout=timeout,
        master_listen_fd=listener.detach(), use_libuv=False,
    )


def use_loopback_interfaces() -> None:
    for name in ("GLOO_SOCKET_IFNAME", "NCCL_SOCKET_IFNAME"):
        os.environ.setdefault(name, LOOPBACK_INTERFACE)
