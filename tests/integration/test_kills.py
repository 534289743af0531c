"""``plait ingest``, ``curate`` and ``embed`` killed with SIGKILL at their first commit,
then run again: every command works on the corpus afterwards, the tables equal those of
an uninterrupted run, the killed run is recorded as ``killed``, and a killed curate
leaves no worker process behind. ``PLAIT_STRESS_N`` sets the repetitions."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import time
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


def _works_after(corpus_dir: Path) -> None:
    """``plait info`` works on the corpus and shows the killed run as killed (the other
    commands are run on a half-created table in test_half_created.py)."""
    out = finish(start("info", str(corpus_dir), "--json"))
    statuses = [r["status"] for r in json.loads(out[out.index("{") :])["runs"]]
    assert "killed" in statuses, statuses


def _ingest_args(corpus_dir: Path, folder: Path) -> list[str]:
    return ["ingest", str(corpus_dir), str(folder), "--batch-size", "40", "--no-progress"]


def _ingest_kills(tmp_path: Path, n: int) -> None:
    folder = _folder(tmp_path / "in")
    clean = tmp_path / "clean"
    reference = start(*_ingest_args(clean, folder))  # runs beside the first killed run
    want = None
    for i in range(n):
        d = tmp_path / f"killed{i}"
        proc = start(*_ingest_args(d, folder))
        assert kill_when(proc, lambda d=d: files_under(d / "media.lance"), DELAYS[i % len(DELAYS)])
        _works_after(d)
        finish(start(*_ingest_args(d, folder)))
        if want is None:
            finish(reference)
            want = content(Corpus.open(clean))
        got = Corpus.open(d)
        keys_once(got)
        assert content(got) == want
        shutil.rmtree(d)


def _curate_kills(tmp_path: Path, n: int) -> None:
    sys.path.insert(0, str(TOY))
    import toy_corpus

    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    env = {"PYTHONPATH": os.pathsep.join([str(TOY), os.environ.get("PYTHONPATH", "")])}
    args = ["curate", "--shard-size", "100", "--workers", "2"]
    base = toy_corpus.text_corpus(tmp_path / "base", 600).path
    clean = tmp_path / "clean"
    shutil.copytree(base, clean)
    reference = start(*args, str(clean), str(recipe), env=env)
    want = None
    for i in range(n):
        d = tmp_path / f"killed{i}"
        shutil.copytree(base, d)
        proc = start(*args, str(d), str(recipe), env=env)
        workers: list[int] = []

        def first_commit(d: Path = d, pid: int = proc.pid, seen: list[int] = workers) -> bool:
            seen[:] = children_of(pid) or seen
            return files_under(d / "rejected.lance")

        # only the driver is killed: its workers must go by themselves
        deadline = time.monotonic() + 300
        while not first_commit():
            assert proc.poll() is None and time.monotonic() < deadline, "curate ended first"
            time.sleep(0.001)
        time.sleep(DELAYS[i % len(DELAYS)])
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert workers, "the curate driver had no worker processes"
        gone_by = time.monotonic() + 10
        while any(alive(w) for w in workers) and time.monotonic() < gone_by:
            time.sleep(0.05)
        assert not any(alive(w) for w in workers), "workers outlived their killed driver"
        _works_after(d)
        finish(start(*args, str(d), str(recipe), env=env))
        if want is None:
            finish(reference)
            want = content(Corpus.open(clean))
        got = Corpus.open(d)
        keys_once(got)
        assert content(got) == want
        assert not (d / ".work").exists()
        shutil.rmtree(d)


def _embed_kills(tmp_path: Path, n: int) -> None:
    sys.path.insert(0, str(ENC))
    from tiny_models import save_tiny_clip

    spec = f"hf:{save_tiny_clip(tmp_path / 'clip')}"
    base = tmp_path / "base"
    finish(start(*_ingest_args(base, _folder(tmp_path / "in", 120))))
    args = ["embed", "--encoder", spec, "--batch-size", "16"]
    clean = tmp_path / "clean"
    shutil.copytree(base, clean)
    reference = start(*args, str(clean))
    want = None
    for i in range(n):
        d = tmp_path / f"killed{i}"
        shutil.copytree(base, d)
        proc = start(*args, str(d))
        assert kill_when(proc, lambda d=d: files_under(d / "embeddings"), DELAYS[i % len(DELAYS)])
        _works_after(d)
        finish(start(*args, str(d)))
        if want is None:
            finish(reference)
            want = content(Corpus.open(clean))
        got = Corpus.open(d)
        keys_once(got)
        assert content(got) == want
        shutil.rmtree(d)


CASES = {"ingest": _ingest_kills, "curate": _curate_kills, "embed": _embed_kills}


@pytest.mark.slow
@pytest.mark.parametrize("command", list(CASES))
def test_sigkill_at_first_commit_then_rerun(tmp_path: Path, command: str) -> None:
    CASES[command](tmp_path, repeats(1))


@pytest.mark.heavy
@pytest.mark.parametrize("command", list(CASES))
def test_sigkill_at_first_commit_stress(tmp_path: Path, command: str) -> None:
    CASES[command](tmp_path, repeats(20))
