"""The ``runs`` table: one row per command, started and finished."""

from __future__ import annotations

import threading
from importlib import metadata
from pathlib import Path

import pytest

from plait import Corpus
from plait.io import runs


def test_recorded_versions_are_the_installed_ones():
    got = runs.package_versions()
    assert {"plait", "pylance", "pyarrow", "numpy", "pillow"} <= got.keys()
    for name, version in got.items():
        assert version == metadata.version(name), name


def _rows(corpus: Corpus) -> list[dict]:
    return corpus.read("runs", columns=["run_id", "status", "counts"]).to_pylist()


def test_a_background_start_is_written_before_anything_the_run_writes(tmp_path: Path, monkeypatch):
    corpus = Corpus.init(tmp_path / "c")
    gate = threading.Event()
    real = runs.mark_killed

    def slow_start(c):  # hold the start row back until the command is under way
        gate.wait(5)
        return real(c)

    monkeypatch.setattr(runs, "mark_killed", slow_start)
    with runs.Run(corpus, "ingest", background=True) as run:
        assert corpus.dataset("runs") is None  # nothing written before begin()
        run.begin()
        assert corpus.dataset("runs") is None  # the command goes on first
        gate.set()
        run.begun()
        assert [r["status"] for r in _rows(corpus)] == ["running"]
        run.counts["added"] = 3
    (row,) = _rows(corpus)  # the end replaced the start: one row
    assert row["status"] == "ok" and '"added": 3' in row["counts"]


def test_a_background_start_that_fails_fails_the_run(tmp_path: Path, monkeypatch):
    corpus = Corpus.init(tmp_path / "c")

    def refuse(*a, **k):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(runs, "mark_killed", refuse)
    with pytest.raises(OSError, match="Read-only"), runs.Run(corpus, "x", background=True) as run:
        run.begun()


def test_a_resumed_run_keeps_one_row_and_its_history(tmp_path: Path):
    corpus = Corpus.init(tmp_path / "c")
    with pytest.raises(RuntimeError), runs.Run(corpus, "curate", run_id="curate-fixed"):
        raise RuntimeError("first attempt fails")
    with runs.Run(corpus, "curate", run_id="curate-fixed", background=True):
        pass
    (row,) = _rows(corpus)
    assert row["status"] == "ok" and "first attempt fails" in row["counts"]
