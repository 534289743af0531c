"""The local executor against a plain-Python reference of the same recipe."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import toy_corpus  # noqa: E402

from plait import schema  # noqa: E402
from plait.curate import curate  # noqa: E402
from plait.executors import commit as commit_mod  # noqa: E402

RECIPE = [
    {"op": "toy_ops:MinWords", "min_words": 3},
    {"op": "toy_ops:Lower"},
    {"op": "toy_ops:ExactText"},
    {"op": "toy_ops:MinWords", "min_words": 4},
]


def reference(texts: list[str]) -> tuple[dict[str, dict], set[tuple[str, str, str]]]:
    """The recipe as four plain loops: kept id -> stats, and (id, op, reason) of drops."""
    kept: dict[str, dict] = {}
    drops = set()
    first: dict[str, str] = {}
    for i, text in enumerate(texts):
        sid = f"toy/{i:06d}"
        words = len(text.split())
        if words < 3:
            drops.add((sid, "toy-min-words", "too_few_words"))
            continue
        key = " ".join(text.lower().split())
        if key in first:
            drops.add((sid, "toy-exact-text", f"duplicate of {first[key]}"))
            continue
        first[key] = sid
        if words < 4:
            drops.add((sid, "toy-min-words", "too_few_words"))
            continue
        kept[sid] = {"words": words, "chars": len(text), "lowered": True}
    return kept, drops


def state(corpus) -> tuple[dict[str, dict], set[tuple[str, str, str]]]:
    kept = {r["id"]: schema.loads(r["stats"]) for r in corpus.read("samples").to_pylist()}
    rej = {(r["id"], r["op"], r["reason"]) for r in corpus.read("rejected").to_pylist()}
    return kept, rej


@pytest.mark.parametrize("workers", [0, 2])
def test_curate_matches_reference_and_commits_once(tmp_path: Path, workers: int) -> None:
    corpus = toy_corpus.text_corpus(tmp_path / "c", 300)
    report = curate(corpus, RECIPE, workers=workers, shard_size=64, batch_size=16)
    kept, drops = reference(toy_corpus.texts(300))
    assert state(corpus) == (kept, drops)
    assert (report.kept, report.rejected, report.shards) == (len(kept), len(drops), 5)
    assert [s["in"] for s in report.steps] == [
        300,
        report.steps[0]["kept"],
        report.steps[1]["kept"],
        report.steps[2]["kept"],
    ]
    assert report.steps[2]["dropped"] == {
        "duplicate": sum(1 for d in drops if d[1] == "toy-exact-text")
    }
    runs = corpus.read("runs").to_pylist()
    assert [(r["run_id"], r["status"]) for r in runs] == [(report.run_id, "ok")]
    counts = schema.loads(runs[0]["counts"])
    assert counts["kept"] == len(kept) and counts["rejected_by_reason"] == report.rejected_by_reason
    assert not (corpus.path / ".work").exists()
    # nothing lost, nothing twice
    ids = [r["id"] for r in corpus.read("samples", columns=["id"]).to_pylist()]
    rids = [r["id"] for r in corpus.read("rejected", columns=["id"]).to_pylist()]
    assert len(ids) + len(rids) == 300 and len(set(ids) | set(rids)) == 300


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    corpus = toy_corpus.text_corpus(tmp_path / "c", 50)
    before = sorted(p.relative_to(corpus.path) for p in corpus.path.rglob("*"))
    report = curate(corpus, RECIPE, dry_run=True, shard_size=20)
    assert report.dry_run and (report.samples, report.shards, report.stages) == (50, 3, 3)
    assert report.recipe[0] == {"op": "toy_ops:MinWords", "min_words": 3, "mode": "drop"}
    assert sorted(p.relative_to(corpus.path) for p in corpus.path.rglob("*")) == before


def test_crash_in_commit_resumes_same_run_without_redoing_shards(
    tmp_path: Path, monkeypatch
) -> None:
    corpus = toy_corpus.text_corpus(tmp_path / "c", 200)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("plait.curate.commit", boom)
    with pytest.raises(OSError):
        curate(corpus, RECIPE, workers=0, shard_size=50)
    monkeypatch.setattr("plait.curate.commit", commit_mod.commit)
    [wd] = (corpus.path / ".work").iterdir()
    done = sorted(wd.rglob("*.done"))
    assert len(done) == 4 * 3  # 4 shards x 3 stages
    os.remove(done[-1])  # pretend the last shard of the last stage never finished
    report = curate(corpus, RECIPE, workers=0, shard_size=50)
    assert report.resumed and report.run_id == wd.name and report.reused == 11
    assert state(corpus) == reference(toy_corpus.texts(200))
    rows = corpus.read("runs").to_pylist()
    assert [(r["run_id"], r["status"]) for r in rows] == [(wd.name, "ok")]
    earlier = json.loads(rows[0]["counts"])["earlier_attempts"]
    assert [a["status"] for a in earlier] == ["failed"]


def test_commit_twice_changes_nothing(tmp_path: Path) -> None:
    from plait.executors.local import LocalExecutor
    from plait.executors.plan import Plan
    from plait.recipe import load_recipe

    corpus = toy_corpus.text_corpus(tmp_path / "c", 120)
    ds = corpus.dataset("samples")
    plan = Plan("curate-test", str(corpus.path), load_recipe(RECIPE), ds.version, 120, 40, 0)
    outcome = LocalExecutor().run(plan)
    first = commit_mod.commit(corpus, plan.run_id, outcome)
    after_first = state(corpus)
    second = commit_mod.commit(corpus, plan.run_id, outcome)
    assert second.rejected_skipped and not first.rejected_skipped
    assert state(corpus) == after_first == reference(toy_corpus.texts(120))


def test_unknown_executor_fails_before_any_work(tmp_path: Path) -> None:
    from plait.errors import UnknownNameError

    corpus = toy_corpus.text_corpus(tmp_path / "c", 10)
    with pytest.raises(UnknownNameError, match="local"):
        curate(corpus, RECIPE, executor="dask")
    assert not (corpus.path / ".work").exists() and not corpus.has("runs")


def test_curate_from_a_script_without_a_main_guard_says_what_to_do(tmp_path: Path) -> None:
    """Each spawned worker imports the calling script again; without the ``__main__``
    guard they die starting, and the caller gets the fix instead of BrokenProcessPool."""
    import subprocess

    corpus = toy_corpus.text_corpus(tmp_path / "c", 40)
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from plait import Corpus\n"
        "from plait.curate import curate\n"
        f"curate(Corpus.open({str(corpus.path)!r}), {RECIPE!r}, workers=2, shard_size=10)\n"
    )
    got = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert got.returncode != 0
    last = got.stderr.strip().splitlines()[-1]
    assert last.startswith("plait.errors.PlaitError") and "__main__" in got.stderr, got.stderr
    assert "workers=0" in got.stderr
