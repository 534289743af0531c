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
import os
import sys
import threading
import time
import uuid
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from plait import schema
from plait.io.corpus import Corpus, sql_str
from plait.io.processes import this_process, with_status

_PACKAGES = ("plait", "pylance", "pyarrow", "numpy", "pillow", "torch", "transformers", "ray")


@functools.lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Versions recorded with every run, from the installed ``NAME-VERSION.dist-info``
    folders on ``sys.path`` (the first of each name, as imports find them). Read once per
    process, by listing those folders: ``importlib.metadata`` took 140 ms of pure Python
    for its first lookup here, holding the GIL that a one-second ingest's threads wait on."""
    wanted = {name.replace("-", "_"): name for name in _PACKAGES}
    out: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            if not folder.endswith(".dist-info"):
                continue
            dist, _, version = folder[: -len(".dist-info")].partition("-")
            name = wanted.get(dist.lower().replace("-", "_").replace(".", "_"))
            if name is not None and version and name not in out:
                out[name] = version
    return {name: out[name] for name in _PACKAGES if name in out}


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
    # write the ``running`` row in a thread from begin() (the command goes on meanwhile
    # and calls begun() before its first write): ingest's first images decode meanwhile
    background: bool = False

    def __post_init__(self) -> None:
        self.run_id = self.run_id or new_run_id(self.command)
        self._t0 = time.perf_counter()
        self._started = schema.now()
        self._begun: Future[None] | None = None
        self._earlier: list[dict[str, Any]] = []

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0

    def __enter__(self) -> Run:
        if not self.background:
            self._begin()
        return self

    def begin(self) -> None:
        """Start writing the ``running`` row of a ``background`` run in a thread. A command
        calls this once its own setup is done: setup that takes the corpus's writer lock
        would otherwise queue behind the row's commit."""
        if self.background and self._begun is None:
            self._begun = _in_thread(self._begin, "plait-run-start")

    def begun(self) -> None:
        """Wait for the ``running`` row (written now if :meth:`begin` was not called); a
        command calls this before it writes anything that names the run."""
        if not self.background:
            return
        self.begin()
        assert self._begun is not None
        self._begun.result()

    def _begin(self) -> None:
        mark_killed(self.corpus)
        self._earlier = _earlier_attempts(self.corpus, self.run_id)
        row = self._row("running", {"process": this_process()}, finished=False)
        if self._earlier:  # a resumed run: its row is replaced
            self.corpus.upsert("runs", row)
        else:  # a new id (a uuid in it): nothing to replace, a plain append does
            self.corpus.append("runs", row, new_keys=True)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.begun()  # the end row replaces the start row, never the other way round
        if exc_type is KeyboardInterrupt:
            self.status = "interrupted"
        elif exc_type is not None:
            self.status = "failed"
            self.counts.setdefault("error", str(exc))
        self.record()

    def record(self) -> None:
        counts = dict(self.counts)
        if self._earlier:  # a resumed run keeps one row, and its history
            counts["earlier_attempts"] = self._earlier
        self._write(self.status, counts, finished=True)

    def _write(self, status: str, counts: dict[str, Any], *, finished: bool) -> None:
        self.corpus.upsert("runs", self._row(status, counts, finished=finished))

    def _row(self, status: str, counts: dict[str, Any], *, finished: bool) -> pa.Table:
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
        return pa.Table.from_pylist([row], schema=schema.RUNS)


def _in_thread(fn: Any, name: str) -> Future[None]:
    """Run ``fn`` in a thread of its own; the future holds its outcome."""
    fut: Future[None] = Future()

    def run() -> None:
        try:
            fn()
        except BaseException as exc:  # handed to whoever waits on the future
            fut.set_exception(exc)
        else:
            fut.set_result(None)

    threading.Thread(target=run, name=name, daemon=True).start()
    return fut


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
