"""``plait curate`` killed with SIGKILL mid-run resumes and ends as an uninterrupted run would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

TOY = Path(__file__).resolve().parents[1] / "unit" / "executors"
sys.path.insert(0, str(TOY))

import toy_corpus  # noqa: E402

from plait import schema  # noqa: E402

RECIPE = """
- op: toy_ops:MinWords
  min_words: 3
- op: toy_ops:Slow
  seconds: 0.004
- op: toy_ops:ExactText
- op: toy_ops:Lower
"""
N = 1500


def _plait(*args: str, **kw) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TOY), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "plait"), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kw,
    )


def _state(corpus):
    samples = corpus.read("samples").to_pylist()
    rejected = corpus.read("rejected").to_pylist()
    return (
        [(r["id"], r["texts"], schema.loads(r["stats"])) for r in samples],
        sorted((r["id"], r["op"], r["reason"]) for r in rejected),
    )


@pytest.mark.slow
def test_sigkill_then_rerun_equals_uninterrupted_run(tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(RECIPE)
    killed = toy_corpus.text_corpus(tmp_path / "killed", N)
    clean = toy_corpus.text_corpus(tmp_path / "clean", N)
    args = ["curate", "--shard-size", "50", "--workers", "2", "--json"]

    proc = _plait(*args, str(killed.path), str(recipe), start_new_session=True)
    deadline = time.monotonic() + 300
    while len(list(killed.path.glob(".work/*/s00/*.done"))) < 6:
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, as `kill -9 -PGID` would
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = len(list(killed.path.glob(".work/*/s*/*.done")))
    # nothing was committed: the corpus is untouched, and the run shows as killed
    assert killed.count("samples") == N and killed.count("rejected") == 0
    assert [r["status"] for r in killed.info().runs] == ["killed"]

    rerun = _plait(*args, str(killed.path), str(recipe))
    out, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, out
    import json

    report = json.loads(out[out.index("{") :])
    assert report["resumed"] and report["reused"] >= done_before >= 6
    full = _plait(*args, str(clean.path), str(recipe))
    out2, _ = full.communicate(timeout=600)
    assert full.returncode == 0, out2

    assert _state(killed) == _state(clean)
    ids = killed.ids("samples")
    rids = [r["id"] for r in killed.read("rejected", columns=["id"]).to_pylist()]
    assert len(rids) == len(set(rids)) and not ids & set(rids)
    assert len(ids) + len(rids) == N
    assert killed.count("samples") == len(ids)  # no duplicated sample rows
    runs = killed.read("runs").to_pylist()
    assert [(r["run_id"], r["status"]) for r in runs] == [(report["run_id"], "ok")]
    assert not (killed.path / ".work").exists()
