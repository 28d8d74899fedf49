"""Everything a stack starts stops with it, including processes that leave their parent.

Ray Serve's HAProxy outlived the Ray node that started it (its parent died first, so it was handed to init and
held its ports for every later run). A launcher that adopts its orphans keeps every such process among its
own descendants, where its last step can find and stop them, and a test can see what was left.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Iterable

import psutil

_PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


def adopt_orphans() -> None:
    """Make this process the child subreaper of all it starts: a descendant whose parent exits is handed to
    this process instead of init (Linux; elsewhere nothing changes)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


class OrphanWatch:
    """What a stack started after this watch leaves running: this process adopts orphans, so a descendant whose
    parent died is found among its own children, not lost to init. `belongs` tells the stack's processes from
    others this process starts meanwhile (by default every new child is the stack's)."""

    def __init__(self, belongs: Callable[[psutil.Process], bool] = lambda _: True) -> None:
        adopt_orphans()
        self._belongs = belongs
        self._children_before = {child.pid for child in psutil.Process().children()}

    def stop_left_behind(self, started: list[psutil.Process], grace: float = 5) -> list[str]:
        """Of `started` (a snapshot taken while the stack ran) and the orphans adopted since, those still alive
        after `grace` seconds (a worker may take a moment to notice its node has gone): stopped, described."""
        orphans = [child for child in psutil.Process().children()
                   if child.pid not in self._children_before and _alive(child) and _safely(self._belongs, child)]
        candidates = {process.pid: process for process in started + orphans if _alive(process)}
        _, remaining = psutil.wait_procs(list(candidates.values()), timeout=grace)
        return stop_processes(remaining)


def descendants(pid: int | None = None) -> list[psutil.Process]:
    """The live processes below `pid` (this process by default), zombies left out."""
    try:
        found = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [process for process in found if _alive(process)]


def stop_processes(processes: Iterable[psutil.Process], timeout: float = 10) -> list[str]:
    """SIGTERM to each process still alive, SIGKILL to those that outlast `timeout`; the ones that were
    alive, described for a log line or a test's failure."""
    alive = [process for process in processes if _alive(process)]
    described = [_describe(process) for process in alive]
    for process in alive:
        _signal(process, psutil.Process.terminate)
    _, remaining = psutil.wait_procs(alive, timeout=timeout)
    for process in remaining:
        _signal(process, psutil.Process.kill)
    psutil.wait_procs(remaining, timeout=timeout)
    return described


def _alive(process: psutil.Process) -> bool:
    # A zombie has exited; whoever started it reaps it (an adopted one is reaped when this process exits).
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _safely(predicate: Callable[[psutil.Process], bool], process: psutil.Process) -> bool:
    try:
        return predicate(process)
    except psutil.Error:
        return False


def _signal(process: psutil.Process, send) -> None:
    try:
        send(process)
    except psutil.NoSuchProcess:
        pass


def _describe(process: psutil.Process) -> str:
    try:
        return f"{process.pid} {' '.join(process.cmdline())[:200] or process.name()}"
    except psutil.Error:
        return str(process.pid)
