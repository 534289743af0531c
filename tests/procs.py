"""Real ``plait`` processes for the concurrency and kill tests: start them, kill them at
a chosen moment, and compare corpora by content (ids, hashes, stats), not run ids."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

PLAIT = str(Path(sys.executable).parent / "plait")


def repeats(default: int) -> int:
    """How many times a stress test repeats: ``PLAIT_STRESS_N`` or ``default``."""
    return int(os.environ.get("PLAIT_STRESS_N", default))


def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``plait ARGS`` in its own session (so a kill reaches its workers too)."""
    return subprocess.Popen(
        [PLAIT, *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}: {out[-3000:]}"
    return out


def kill_when(
    proc: subprocess.Popen, ready: Callable[[], bool], delay: float = 0.0, timeout: float = 300
) -> bool:
    """SIGKILL ``proc``'s whole session once ``ready()`` holds (polled every millisecond),
    ``delay`` seconds later. Returns False if the process ended first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            return False
        assert time.monotonic() < deadline, "the kill point never came"
        time.sleep(0.001)
    if delay:
        time.sleep(delay)
    if proc.poll() is not None:
        return False
    os.killpg(proc.pid, signal.SIGKILL)
    return proc.wait() == -signal.SIGKILL  # else it finished as the kill was sent


def children_of(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (Linux /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_bytes()
            except OSError:
                continue
            if int(stat.rsplit(b")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has exited; only its parent has not reaped it
        return b") Z " not in Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False


def files_under(path: Path) -> bool:
    return path.exists() and any(p.is_file() for p in path.rglob("*"))


def content(corpus: Any) -> dict[str, Any]:
    """What a user would compare between two corpora: rows by key, without run ids."""
    from plait import schema

    out: dict[str, Any] = {}
    if corpus.has("samples"):
        out["samples"] = sorted(
            (r["id"], r["kind"], r["texts"], r["images"], schema.loads(r["stats"]))
            for r in corpus.read("samples").to_pylist()
        )
    if corpus.has("media"):
        out["media"] = sorted(
            (r["id"], r["size"], r["width"], r["height"])
            for r in corpus.read("media", columns=["id", "size", "width", "height"]).to_pylist()
        )
    if corpus.has("quarantine"):
        out["quarantine"] = sorted(
            (r["id"], r["reason"])
            for r in corpus.read("quarantine", columns=["id", "reason"]).to_pylist()
        )
    if corpus.has("rejected"):
        out["rejected"] = sorted(
            (r["id"], r["op"], r["reason"])
            for r in corpus.read("rejected", columns=["id", "op", "reason"]).to_pylist()
        )
    for name in corpus.embedding_tables():
        t = corpus.read(f"embeddings/{name}", columns=["sample_id", "slot", "content", "vector"])
        out[f"embeddings/{name}"] = sorted(
            (r["sample_id"], r["slot"], r["content"], tuple(round(v, 4) for v in r["vector"]))
            for r in t.to_pylist()
        )
    return out


def keys_once(corpus: Any) -> None:
    """Every key of every keyed table is stored exactly once."""
    for name, key in (("samples", "id"), ("media", "id"), ("quarantine", "id")):
        if corpus.has(name):
            ids = corpus.read(name, columns=[key]).column(key).to_pylist()
            assert len(ids) == len(set(ids)), f"{name}: {len(ids) - len(set(ids))} doubled"
    for name in corpus.embedding_tables():
        t = corpus.read(f"embeddings/{name}", columns=["sample_id", "slot"]).to_pylist()
        pairs = [(r["sample_id"], r["slot"]) for r in t]
        assert len(pairs) == len(set(pairs)), f"embeddings/{name}: doubled rows"
