"""Which process wrote a ``running`` run row, and whether it still runs (a run killed
with SIGKILL leaves its row ``running``; readers show it as ``killed``)."""

from __future__ import annotations

import json
import os
import socket
from typing import Any


def this_process() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _start_ticks(os.getpid())}


def _start_ticks(pid: int) -> int | None:
    """When the process started, in clock ticks since boot (Linux): tells a live process
    from a later one that reuses its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def alive(process: dict[str, Any]) -> bool | None:
    """Whether the process that wrote a ``running`` row still runs (None: another host)."""
    if process.get("host") != socket.gethostname() or not isinstance(process.get("pid"), int):
        return None
    pid = process["pid"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    start = process.get("start")
    return start is None or _start_ticks(pid) in (None, start)


def _process(row: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(row["counts"] or "{}").get("process") or {}
    except (ValueError, AttributeError):
        return {}


def with_status(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as a reader should see them: ``running`` rows of processes gone from this
    host read ``killed`` (without writing: readers may not write)."""
    for row in rows:
        if row.get("status") == "running" and alive(_process(row)) is False:
            row["status"] = "killed"
    return rows
