"""The ``runs`` table: one row per command, with parameters, versions, counts and timing."""

from __future__ import annotations

import functools
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from typing import Any

import pyarrow as pa

from plait import schema
from plait.io.corpus import Corpus

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
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is KeyboardInterrupt:
            self.status = "interrupted"
        elif exc_type is not None:
            self.status = "failed"
            self.counts.setdefault("error", str(exc))
        self.record()

    def record(self) -> None:
        row = {
            "run_id": self.run_id,
            "command": self.command,
            "status": self.status,
            "params": schema.dumps(self.params),
            "versions": schema.dumps(package_versions()),
            "counts": schema.dumps(self.counts),
            "started_at": self._started,
            "finished_at": schema.now(),
            "seconds": self.elapsed,
        }
        self.corpus.append("runs", pa.Table.from_pylist([row], schema=schema.RUNS))
