"""Free loopback ports for the services the launcher, the benchmarks and the tests start on one machine.

A port the kernel hands out for port 0 comes from its ephemeral range, the same range every outgoing connection
takes its source port from: between the moment it is found free and the moment another process binds it, a
connection elsewhere on the machine could take it (Serve's proxy once failed to bind so). These come from below
that range, above Ray's worker ports (10002-19999) and below Serve's replica ports (30000 and up), where nothing
takes a port unasked.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

HOST = "127.0.0.1"
LOWEST, BELOW = 20000, 30000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _first_ephemeral_port() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_ports(count: int) -> list[int]:
    """`count` distinct ports free now: all sockets are held open together so none is handed out twice."""
    candidates = list(range(LOWEST, min(BELOW, _first_ephemeral_port())))
    random.shuffle(candidates)  # two stacks starting together rarely try the same ports
    sockets: list[socket.socket] = []
    try:
        for port in candidates:
            sock = socket.socket()
            try:
                sock.bind((HOST, port))
            except OSError:
                sock.close()
                continue
            sockets.append(sock)
            if len(sockets) == count:
                return [held.getsockname()[1] for held in sockets]
        raise RuntimeError(f"no {count} free ports from {LOWEST} to {BELOW - 1}")
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    return free_ports(1)[0]
