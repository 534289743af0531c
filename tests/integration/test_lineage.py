"""``why`` explains each sample's path; ``restore`` undoes a run's drops and says so."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "executors"))

import toy_corpus  # noqa: E402

from plait.curate import curate  # noqa: E402
from plait.errors import NotFoundError  # noqa: E402
from plait.lineage import restore, why  # noqa: E402

RECIPE = [{"op": "toy_ops:MinWords", "min_words": 3}, {"op": "toy_ops:ExactText"}]


def test_why_and_restore(tmp_path: Path) -> None:
    corpus = toy_corpus.text_corpus(tmp_path / "c", 100)
    texts = toy_corpus.texts(100)
    run = curate(corpus, RECIPE, workers=0).run_id
    rejected = {r["id"]: r for r in corpus.read("rejected").to_pylist()}
    short = next(f"toy/{i:06d}" for i, t in enumerate(texts) if len(t.split()) < 3)
    dup = next(i for i, r in rejected.items() if r["op"] == "toy-exact-text")
    kept = sorted(corpus.ids())[0]

    lin = why(corpus, kept)
    assert lin.status == "present" and lin.dataset == "toy"
    assert [e.command for e in lin.events] == ["ingest", "curate"]
    assert lin.events[0].run_id == "ingest-toy"
    assert lin.events[1].run_id == run and lin.events[1].what.startswith("kept")
    assert "toy_ops:MinWords (chars, words)" in lin.events[1].what

    lin = why(corpus, short)
    assert lin.status == "rejected"
    assert lin.events[-1].what.startswith("dropped by toy-min-words: too_few_words")
    lin = why(corpus, dup)
    original = rejected[dup]["reason"].split(" of ")[1]
    assert original in corpus.ids() and f"duplicate of {original}" in lin.events[-1].what

    before = corpus.count("samples")
    rep = restore(corpus, run)
    assert rep.restored == len(rejected) and rep.already_present == 0
    assert corpus.count("samples") == before + len(rejected) == 100
    assert corpus.count("rejected") == 0
    assert rep.by_reason == {
        "toy-min-words: too_few_words": sum(r["op"] == "toy-min-words" for r in rejected.values()),
        "toy-exact-text: duplicate": sum(r["op"] == "toy-exact-text" for r in rejected.values()),
    }
    # the restored sample comes back whole, and its story keeps the drop
    restored = corpus.sample(short)
    assert restored.texts == [texts[int(short.split("/")[1])]]
    lin = why(corpus, short)
    assert lin.status == "present"
    assert [e.command for e in lin.events] == ["ingest", "curate", "restore"]
    assert "toy-min-words" in lin.events[1].what and run in lin.events[2].what
    runs = {r["command"]: r["status"] for r in corpus.read("runs").to_pylist()}
    assert runs == {"curate": "ok", "restore": "ok"}
    with pytest.raises(NotFoundError, match="no rejected samples left"):
        restore(corpus, run)
    with pytest.raises(NotFoundError):
        why(corpus, "toy/nope")


def test_cli_why_and_restore(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from plait.cli import app

    corpus = toy_corpus.text_corpus(tmp_path / "c", 40)
    run = curate(corpus, RECIPE, workers=0).run_id
    dropped = sorted(corpus.ids("rejected"))[0]
    res = CliRunner().invoke(app, ["why", dropped, "--corpus", str(corpus.path)])
    assert res.exit_code == 0, res.output
    assert "dropped by" in res.output and run in res.output and "in rejected" in res.output
    res = CliRunner().invoke(app, ["restore", str(corpus.path), "--run", run])
    assert res.exit_code == 0, res.output
    assert corpus.count("samples") == 40
