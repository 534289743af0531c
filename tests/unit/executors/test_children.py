"""Pool workers die with a driver killed by SIGKILL (curate's and align's pools both start
theirs with ``plait.children.die_with_parent``); without it they wait on their task pipe
forever, which the unguarded case shows, so the test can fail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from ...procs import alive, children_of

DRIVER = """
import os, sys, time
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from plait.children import die_with_parent

def pid(_):
    time.sleep(0.2)
    return os.getpid()

if __name__ == "__main__":
    guard = sys.argv[1] == "guarded"
    extra = {"initializer": die_with_parent, "initargs": (os.getpid(),)} if guard else {}
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn"), **extra) as pool:
        print(len(set(pool.map(pid, range(4)))), flush=True)
        time.sleep(600)
"""


def _workers_after_kill(tmp_path, mode: str, wait_s: float) -> list[int]:
    """Start a driver, wait until its workers ran a task, SIGKILL the driver alone, and
    return its workers still alive ``wait_s`` later."""
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(script), mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and int(proc.stdout.readline()) >= 1
    workers = children_of(proc.pid)
    assert workers
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + wait_s
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [w for w in workers if alive(w)]


@pytest.mark.parametrize("mode", ["guarded", "unguarded"])
def test_pool_workers_die_with_their_killed_driver(tmp_path, mode: str) -> None:
    # the guard acts at once (PDEATHSIG) or within its 0.5 s parent watch
    left = _workers_after_kill(tmp_path, mode, 10 if mode == "guarded" else 2)
    for pid in left:  # the unguarded orphans this test made
        os.kill(pid, signal.SIGKILL)
    if mode == "guarded":
        assert not left, "workers outlived their killed driver"
    else:
        assert left, "unguarded workers exited by themselves: the guarded case proves nothing"
