"""A slow, lossy point-to-point link between two network namespaces, in user space (what `tc netem` does, for
kernels without sch_netem): two TUN devices, one moved into each namespace; every IP packet crossing is held
for --delay-ms and dropped with probability --loss, in both directions. The kernels' own TCP sees real delay
and real loss and retransmits as it would on a bad network. System python3 only, no packages. Root.

  python3 lossy-link.py --a NS:DEV:ADDR/30 --b NS:DEV:ADDR/30 --delay-ms 300 --loss 0.05
Prints "ready" once both ends are up; runs until stdin closes or SIGTERM.
"""
import argparse
import collections
import fcntl
import os
import random
import select
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def place(spec: str) -> tuple[int, str]:
    ns, dev, addr = spec.split(":")
    fd = open_tun(dev)
    subprocess.run(["ip", "link", "set", dev, "netns", ns], check=True)
    subprocess.run(["ip", "-n", ns, "addr", "add", addr, "dev", dev], check=True)
    subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
    return fd, dev


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--a", required=True)
    parser.add_argument("--b", required=True)
    parser.add_argument("--delay-ms", type=float, default=300)
    parser.add_argument("--loss", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    fd_a, _ = place(args.a)
    fd_b, _ = place(args.b)
    delay = args.delay_ms / 1000
    # Packets in flight per direction, (due time, bytes); a constant delay keeps each queue in arrival order.
    queues = {fd_a: collections.deque(), fd_b: collections.deque()}  # keyed by the fd they are written to
    other = {fd_a: fd_b, fd_b: fd_a}
    counts = {"passed": 0, "dropped": 0}
    print("ready", flush=True)
    while True:
        now = time.monotonic()
        due = [q[0][0] for q in queues.values() if q]
        timeout = max(0.0, min(due) - now) if due else 1.0
        readable, _, _ = select.select([fd_a, fd_b, sys.stdin], [], [], timeout)
        if sys.stdin in readable and not sys.stdin.readline():
            break
        for fd in (fd_a, fd_b):
            if fd not in readable:
                continue
            while True:
                try:
                    packet = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if rng.random() < args.loss:
                    counts["dropped"] += 1
                    continue
                queues[other[fd]].append((time.monotonic() + delay, packet))
        now = time.monotonic()
        for fd, queue in queues.items():
            while queue and queue[0][0] <= now:
                try:
                    os.write(fd, queue.popleft()[1])
                    counts["passed"] += 1
                except OSError:
                    pass  # the device went down with its namespace
    print(f"passed {counts['passed']} dropped {counts['dropped']}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
