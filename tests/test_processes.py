"""What a stack leaves behind is found and stopped, even a process whose parent died first (as HAProxy's did)."""

from __future__ import annotations

import subprocess
import sys

import psutil
import pytest

from cluster.processes import OrphanWatch, descendants, stop_processes
from tests.helpers import until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="child subreapers are Linux's")


def test_an_orphan_is_adopted_and_reported_once_its_parent_has_gone():
    watch = OrphanWatch()
    # The shell starts a long sleep in the background and exits: the sleep's parent is gone.
    shell = subprocess.Popen(["sh", "-c", "sleep 300 & echo $!"], stdout=subprocess.PIPE, text=True)
    orphan_pid = int(shell.stdout.readline())
    shell.wait()
    assert psutil.Process(orphan_pid).ppid() == psutil.Process().pid  # handed here, not to init
    until(lambda: psutil.Process(orphan_pid).name() == "sleep", 10, "the orphan's exec", interval=0.01)
    left_behind = watch.stop_left_behind([], grace=0.5)
    assert len(left_behind) == 1 and left_behind[0].startswith(f"{orphan_pid} sleep 300")
    assert not psutil.pid_exists(orphan_pid)  # stopped, and reaped by the stopping


def test_an_orphan_that_has_exited_is_not_left_behind():
    watch = OrphanWatch()
    shell = subprocess.Popen(["sh", "-c", "sleep 0.2 & echo $!"], stdout=subprocess.PIPE, text=True)
    orphan = psutil.Process(int(shell.stdout.readline()))
    shell.wait()
    orphan.wait(timeout=10)  # it exits on its own (psutil waits on a child of this process and reaps it)
    assert watch.stop_left_behind([], grace=0.5) == []


def test_a_watch_keeps_to_its_own_stack():
    watch = OrphanWatch(lambda process: process.environ().get("STACK") == "mine")
    theirs = subprocess.Popen(["sleep", "300"], env={"STACK": "theirs", "PATH": "/usr/bin:/bin"})
    try:
        mine = subprocess.Popen(["sh", "-c", "sleep 300 & echo $!"], stdout=subprocess.PIPE, text=True,
                                env={"STACK": "mine", "PATH": "/usr/bin:/bin"})
        orphan_pid = int(mine.stdout.readline())
        mine.wait()
        left_behind = watch.stop_left_behind([], grace=0.1)
        assert [entry.split()[0] for entry in left_behind] == [str(orphan_pid)]
        assert theirs.poll() is None  # another stack's process is not this watch's to stop
    finally:
        theirs.kill()
        theirs.wait()


def test_a_stack_that_stops_cleanly_leaves_nothing():
    watch = OrphanWatch()
    parent = subprocess.Popen(["sh", "-c", "sleep 300 & wait"])
    started = until(lambda: [p for p in descendants(parent.pid) if p.name() == "sleep"], 10, "the shell's sleep",
                    interval=0.01)
    parent.terminate()
    parent.wait()
    stop_processes(started)  # what an orderly stop does with its own children
    assert watch.stop_left_behind(started, grace=0.5) == []


def test_a_process_that_ignores_sigterm_is_killed():
    stubborn = subprocess.Popen([sys.executable, "-c",
                                 "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                 "print('ready', flush=True); time.sleep(300)"], stdout=subprocess.PIPE)
    assert stubborn.stdout.readline() == b"ready\n"
    described = stop_processes([psutil.Process(stubborn.pid)], timeout=0.5)
    assert len(described) == 1 and described[0].startswith(f"{stubborn.pid} {sys.executable} -c import signal")
    assert not psutil.pid_exists(stubborn.pid)  # killed after ignoring SIGTERM, and reaped
