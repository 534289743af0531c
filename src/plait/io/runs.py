"""The ``runs`` table: one row per command, with parameters, versions, counts and timing.

The row is written when the command starts (status ``running``, with the
process that runs it) and replaced when it ends (``ok``, ``failed`` or
``interrupted``). A command killed outright (SIGKILL, power loss) cannot write
its end, so the next command on the corpus finds the ``running`` row of a
process that no longer exists on this host and marks it ``killed``.
"""

from __future__ import annotations

import functools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any

import pyarrow as pa

from plait import schema
from plait.io.corpus import Corpus, sql_str
from plait.io.processes import this_process, with_status

_PACKAGES = ("plait", "pylance", "pyarrow", "numpy", "pillow", "torch", "transformers", "ray")


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Versions recorded with every run (read once per process: each lookup scans the
    installed distributions, ~30 ms for the list, a visible cost on a one-second ingest)."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def new_run_id(command: str) -> str:
    return f"{command}-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


@dataclass
class Run:
    """Records one command run. Use as a context manager; counts go in ``counts``."""

    corpus: Corpus
    command: str
    params: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    counts: dict[str, Any] = field(default_factory=dict)
    status: str = "ok"

    def __post_init__(self) -> None:
        self.run_id = self.run_id or new_run_id(self.command)
        self._t0 = time.perf_counter()
        self._started = schema.now()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def __enter__(self) -> Run:
        # the run record needs the package versions; look them up while the command works
        threading.Thread(target=package_versions, name="plait-versions", daemon=True).start()
        mark_killed(self.corpus)
        self._earlier = _earlier_attempts(self.corpus, self.run_id)
        self._write("running", {"process": this_process()}, finished=False)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is KeyboardInterrupt:
            self.status = "interrupted"
        elif exc_type is not None:
            self.status = "failed"
            self.counts.setdefault("error", str(exc))
        self.record()

    def record(self) -> None:
        counts = dict(self.counts)
        if getattr(self, "_earlier", None):  # a resumed run keeps one row, and its history
            counts["earlier_attempts"] = self._earlier
        self._write(self.status, counts, finished=True)

    def _write(self, status: str, counts: dict[str, Any], *, finished: bool) -> None:
        row = {
            "run_id": self.run_id,
            "command": self.command,
            "status": status,
            "params": schema.dumps(self.params),
            "versions": schema.dumps(package_versions() if finished else {}),
            "counts": schema.dumps(counts),
            "started_at": self._started,
            "finished_at": schema.now() if finished else None,
            "seconds": self.elapsed if finished else None,
        }
        self.corpus.upsert("runs", pa.Table.from_pylist([row], schema=schema.RUNS))


def _earlier_attempts(corpus: Corpus, run_id: str) -> list[dict[str, Any]]:
    """Earlier attempts of a run id (a resumed curate run): status, start, error."""
    ds = corpus.dataset("runs")
    if ds is None:
        return []
    rows = ds.to_table(filter=f"run_id = {sql_str(run_id)}").to_pylist()
    out = []
    for r in rows:
        counts = json.loads(r["counts"] or "{}")
        status = "killed" if r["status"] == "running" else r["status"]
        out.extend(counts.get("earlier_attempts", []))
        out.append(
            {"status": status, "started_at": str(r["started_at"]), "error": counts.get("error")}
        )
    return out


def mark_killed(corpus: Corpus) -> list[str]:
    """Mark ``running`` rows of processes gone from this host as ``killed``; returns them."""
    ds = corpus.dataset("runs")
    if ds is None:
        return []
    rows = ds.to_table(filter=f"status = {sql_str('running')}").to_pylist()
    dead = [r for r in with_status(rows) if r["status"] == "killed"]
    if dead:
        corpus.upsert("runs", pa.Table.from_pylist(dead, schema=schema.RUNS))
    return [r["run_id"] for r in dead]
