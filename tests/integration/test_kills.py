"""``plait ingest``, ``curate`` and ``embed`` killed with SIGKILL at their first commit,
then run again: every command works on the corpus afterwards, the tables equal those of
an uninterrupted run, the killed run is recorded as ``killed``, and a killed curate
leaves no worker process behind. ``PLAIT_STRESS_N`` sets the repetitions."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from plait import Corpus

from ..builders import image_bytes
from ..procs import (
    alive,
    children_of,
    content,
    files_under,
    finish,
    keys_once,
    kill_when,
    repeats,
    start,
)

TOY = Path(__file__).resolve().parents[1] / "unit" / "executors"
ENC = Path(__file__).resolve().parents[1] / "unit" / "encoders"
DELAYS = (0.0, 0.003, 0.01, 0.03, 0.08)  # after the first file of the commit appears
RECIPE = """
- op: toy_ops:MinWords
  min_words: 3
- op: toy_ops:ExactText
- op: toy_ops:Lower
"""


def _folder(root: Path, n: int = 240) -> Path:
    root.mkdir(parents=True)
    for i in range(n):
        (root / f"p{i:04d}.png").write_bytes(image_bytes((i, 255 - i, i * 3 % 256), 24, "PNG"))
        (root / f"p{i:04d}.txt").write_text(["a red dog", "the blue cat sits"][i % 2] + f" {i}")
    (root / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\ntruncated")
    return root


def _works_after(corpus_dir: Path) -> bool:
    """``plait info`` works on the corpus and shows the killed run as killed, or as ok when
    the kill landed after its last commit; ``audit`` and ``why`` (which read every table)
    work too (every command is run on a half-created table in test_half_created.py).
    Returns whether it shows a killed run."""
    out = finish(start("info", str(corpus_dir), "--json"))
    statuses = [r["status"] for r in json.loads(out[out.index("{") :])["runs"]]
    assert statuses and set(statuses) <= {"killed", "ok"}, statuses
    finish(start("audit", str(corpus_dir), "--json"))
    corpus = Corpus.open(corpus_dir)
    ids = corpus.ids("samples") if corpus.has("samples") else set()
    if ids:  # a kill after the table's empty first commit leaves no sample to ask about
        finish(start("why", str(corpus_dir), min(ids)))
    return "killed" in statuses


def _ingest_args(corpus_dir: Path, folder: Path) -> list[str]:
    return ["ingest", str(corpus_dir), str(folder), "--batch-size", "40", "--no-progress"]


@dataclass
class Case:
    """A command to kill: its arguments for a corpus folder, how to kill it at its first
    commit, and the corpus each run starts from (None: a fresh one)."""

    args: Callable[[Path], list[str]]
    kill: Callable[[subprocess.Popen, Path, float], bool]  # False: it finished first
    base: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    delays: tuple[float, ...] = DELAYS


def _run_kills(case: Case, tmp_path: Path, n: int) -> None:
    """``n`` times: start, kill at the first commit, check the corpus is usable, rerun,
    and compare with an uninterrupted run (started beside the first killed one)."""
    clean = tmp_path / "clean"
    if case.base is not None:
        shutil.copytree(case.base, clean)
    reference = start(*case.args(clean), env=case.env)
    want = None
    killed = 0
    for i in range(n):
        d = tmp_path / f"killed{i}"
        if case.base is not None:
            shutil.copytree(case.base, d)
        if case.kill(start(*case.args(d), env=case.env), d, case.delays[i % len(case.delays)]):
            killed += _works_after(d)
        finish(start(*case.args(d), env=case.env))
        if want is None:
            finish(reference)
            want = content(Corpus.open(clean))
        got = Corpus.open(d)
        keys_once(got)
        assert content(got) == want
        assert not (d / ".work").exists()
        shutil.rmtree(d)
    # the longer delays may let a small run finish first; most runs must be killed mid-way
    assert killed >= max(1, n // 2), f"only {killed} of {n} runs were killed before the end"
    print(f"\n{killed} of {n} runs killed before their last commit")


def _when_files(sub: str) -> Callable[[subprocess.Popen, Path, float], bool]:
    def kill(proc: subprocess.Popen, d: Path, delay: float) -> bool:
        return kill_when(proc, lambda: files_under(d / sub), delay)

    return kill


def _driver_only(proc: subprocess.Popen, d: Path, delay: float) -> bool:
    """SIGKILL the curate driver alone at its first commit: its workers must go too."""
    workers: list[int] = []
    deadline = time.monotonic() + 300
    while not files_under(d / "rejected.lance"):
        workers[:] = children_of(proc.pid) or workers
        assert proc.poll() is None and time.monotonic() < deadline, "curate ended first"
        time.sleep(0.001)
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    if proc.wait() != -signal.SIGKILL:
        return False  # it finished before the kill landed
    assert workers, "the curate driver had no worker processes"
    gone_by = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < gone_by:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers), "workers outlived their killed driver"
    return True


def _ingest(tmp_path: Path) -> Case:
    folder = _folder(tmp_path / "in")
    return Case(lambda d: _ingest_args(d, folder), _when_files("media.lance"))


def _curate(tmp_path: Path) -> Case:
    sys.path.insert(0, str(TOY))
    import toy_corpus

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    base = toy_corpus.text_corpus(tmp_path / "base", 600).path
    return Case(
        lambda d: ["curate", "--shard-size", "100", "--workers", "2", str(d), str(recipe)],
        _driver_only,
        base,
        {"PYTHONPATH": os.pathsep.join([str(TOY), os.environ.get("PYTHONPATH", "")])},
    )


def _embed(tmp_path: Path) -> Case:
    sys.path.insert(0, str(ENC))
    from tiny_models import save_tiny_clip

    spec = f"hf:{save_tiny_clip(tmp_path / 'clip')}"
    base = tmp_path / "base"
    finish(start(*_ingest_args(base, _folder(tmp_path / "in", 120))))
    return Case(
        lambda d: ["embed", str(d), "--encoder", spec, "--batch-size", "16"],
        _when_files("embeddings"),
        base,
        # a small embed's first commit is also its last: kill within its few milliseconds
        delays=(0.0, 0.001, 0.002, 0.004, 0.008),
    )


CASES = {"ingest": _ingest, "curate": _curate, "embed": _embed}


@pytest.mark.slow
@pytest.mark.parametrize("command", list(CASES))
def test_sigkill_at_first_commit_then_rerun(tmp_path: Path, command: str) -> None:
    _run_kills(CASES[command](tmp_path), tmp_path, repeats(1))


@pytest.mark.heavy
@pytest.mark.parametrize("command", list(CASES))
def test_sigkill_at_first_commit_stress(tmp_path: Path, command: str) -> None:
    _run_kills(CASES[command](tmp_path), tmp_path, repeats(20))


@pytest.mark.slow
def test_sigterm_records_the_run_as_interrupted(tmp_path: Path) -> None:
    """A polite kill (SIGTERM, as a scheduler sends) ends the run like Ctrl-C: its row
    says ``interrupted`` at once, and a rerun completes the corpus."""
    folder = _folder(tmp_path / "in")
    d = tmp_path / "c"
    proc = start(*_ingest_args(d, folder))
    deadline = time.monotonic() + 300
    while not files_under(d / "samples.lance"):
        assert proc.poll() is None and time.monotonic() < deadline, "ingest ended first"
        time.sleep(0.001)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    assert proc.returncode == 130
    [row] = Corpus.open(d).read("runs").to_pylist()
    assert row["status"] == "interrupted" and row["finished_at"] is not None
    finish(start(*_ingest_args(d, folder)))
    keys_once(Corpus.open(d))
    assert Corpus.open(d).count("samples") == 240
