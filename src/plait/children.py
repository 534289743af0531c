"""Worker processes that die with their parent.

A driver killed with SIGKILL runs no cleanup, and its pool workers (a model
each, hundreds of MB) would wait forever on their task pipe. Each worker asks
the kernel for SIGKILL when its parent goes (Linux ``PR_SET_PDEATHSIG``) and,
everywhere, watches its parent pid from a daemon thread, exiting once it has
been reparented.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """Call first thing in a child process; ``parent_pid`` is the pid that spawned it."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the request was made
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="plait-parent-watch", daemon=True).start()
