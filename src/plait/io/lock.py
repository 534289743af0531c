"""The writer lock of a local corpus: one process commits to its tables at a time.

Correctness never depends on it: keyed inserts, atomic table creation and
curate's replace commit are safe under concurrent writers on any store (see
:mod:`plait.io.tables`). The lock makes the common case cheap: a writer that
holds it and finds a table exactly as it last saw it may append without the
key join that a concurrent writer would need. It is an advisory ``flock`` on
``CORPUS/.write.lock``, released by the kernel when the holder dies, so a
killed command never leaves it held. Object-store corpora have no lock.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".write.lock"

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no local lock, keyed commits only
    fcntl = None  # type: ignore[assignment]  # the module or None: callers check for None


class _Held:
    """One flock per corpus per process, re-entrant across nested writes and threads."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


_HELD: dict[str, _Held] = {}
_GUARD = threading.Lock()


def is_local(path: str | Path) -> bool:
    return "://" not in str(path) or str(path).startswith("file://")


def supported(path: str | Path) -> bool:
    """``PLAIT_WRITE_LOCK=0`` turns the lock off (tests use it to exercise the lock-free
    path that object storage takes)."""
    return fcntl is not None and is_local(path) and os.environ.get("PLAIT_WRITE_LOCK", "1") != "0"


@contextmanager
def writer_lock(path: str | Path) -> Iterator[bool]:
    """Hold the corpus writer lock while the block runs; yields whether a lock is held
    (False on object storage, where the caller must rely on optimistic commits)."""
    if not supported(path):
        yield False
        return
    key = os.path.abspath(str(path))
    with _GUARD:
        held = _HELD.setdefault(key, _Held())
    with held.lock:
        if held.depth == 0:
            fd = os.open(os.path.join(key, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            held.fd = fd
        held.depth += 1
        try:
            yield True
        finally:
            held.depth -= 1
            if held.depth == 0 and held.fd is not None:
                fcntl.flock(held.fd, fcntl.LOCK_UN)
                os.close(held.fd)
                held.fd = None
