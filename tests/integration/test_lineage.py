"""``why`` explains each sample's path; ``restore`` undoes a run's drops and says so."""

from __future__ import annotations

import sys
from collections import Counter
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
    res = CliRunner().invoke(app, ["why", str(corpus.path), dropped])
    assert res.exit_code == 0, res.output
    assert "dropped by" in res.output and run in res.output and "in rejected" in res.output
    res = CliRunner().invoke(app, ["restore", str(corpus.path), "--run", run])
    assert res.exit_code == 0, res.output
    assert corpus.count("samples") == 40


def _stamps(path: Path) -> object:
    """Tux Paint-like samples: an English caption and translations, every slot tagged."""
    from plait import Corpus
    from plait.schema import TEXT, Sample, Source, samples_table

    langs = ["en", "en_GB", "de", "fr", "es", "ja", "ru"]
    rows = [
        Sample(
            f"stamps/{i}",
            TEXT,
            [
                f"a small red apple {i}",
                f"a small red apple {i}",
                *(f"{x} apple {i}" for x in langs[2:]),
            ],
            [None] * len(langs),
            Source(f"mem://{i}", "stamps", "GPL-2.0"),
            langs=list(langs),
        )
        for i in range(6)
    ]
    corpus = Corpus.init(path)
    corpus.append("samples", samples_table(rows))
    return corpus


def test_a_mapper_change_is_explained_and_undone(tmp_path: Path) -> None:
    corpus = _stamps(tmp_path / "c")
    before = {s.id: (s.texts, s.langs) for s in corpus.samples()}
    rep = curate(corpus, [{"op": "select_langs", "languages": ["en"]}], workers=0)
    assert rep.replaced == 6 and rep.steps[0]["changed"] == 6 and rep.rejected == 0
    s = corpus.sample("stamps/0")
    assert s.texts == ["a small red apple 0"] and s.langs == ["en"]
    old = corpus.read("replaced", where="id = 'stamps/0'").to_pylist()
    assert len(old) == 1 and len(old[0]["texts"]) == 7 and old[0]["op"] == "select_langs"
    what = why(corpus, "stamps/0").events[-1].what
    assert what.startswith("changed by select_langs: text slots 7 -> 1, removed 6")
    assert "de" in what and "ja" in what and "kept" in what
    versions = why(corpus, "stamps/0").versions
    assert [v["op"] for v in versions] == ["select_langs"] and len(versions[0]["texts"]) == 7
    from typer.testing import CliRunner

    from plait.cli import app

    res = CliRunner().invoke(app, ["why", str(corpus.path), "stamps/0"])
    assert res.exit_code == 0 and "[ja] ja apple 0" in res.output, res.output

    back = restore(corpus, rep.run_id)
    assert (back.restored, back.reverted) == (0, 6)
    assert {s.id: (s.texts, s.langs) for s in corpus.samples()} == before
    assert "put back the version" in why(corpus, "stamps/0").events[-1].what
    with pytest.raises(NotFoundError, match="no changes to undo"):
        restore(corpus, rep.run_id)


def test_restore_refuses_to_skip_a_later_run(tmp_path: Path) -> None:
    from plait.errors import ConfigError

    corpus = _stamps(tmp_path / "c")
    first = curate(corpus, [{"op": "select_langs", "languages": ["en", "de"]}], workers=0)
    second = curate(corpus, [{"op": "select_langs", "languages": ["en"]}], workers=0)
    with pytest.raises(ConfigError, match=f"{second.run_id} \\(6\\).*restore those runs first"):
        restore(corpus, first.run_id)
    assert len(corpus.sample("stamps/3").texts) == 1  # nothing was written
    restore(corpus, second.run_id)
    restore(corpus, first.run_id)
    assert len(corpus.sample("stamps/3").texts) == 7


def test_annotate_mode_flags_what_would_go(tmp_path: Path) -> None:
    corpus = toy_corpus.text_corpus(tmp_path / "c", 40)
    recipe = [
        {"op": "word_count", "min_words": 3, "mode": "annotate"},
        {"op": "dedup_text", "mode": "annotate"},
    ]
    rep = curate(corpus, recipe, workers=0)
    assert rep.rejected == 0 and rep.kept == 40
    from plait.ops.dedup.exact import normalise_text

    texts = toy_corpus.texts(40)
    short = sum(len(t.split()) < 3 for t in texts)
    repeats = len(texts) - len({normalise_text(t) for t in texts})
    assert short and repeats  # the toy corpus has both
    words, dups = rep.steps[0]["would_drop"], rep.steps[1]["would_drop"]
    assert words == {"too_few_words": short} and dups == {"duplicate_of": repeats}
    flagged = [s for s in corpus.samples() if "would_drop" in s.stats]
    by_op = Counter(op for s in flagged for op in s.stats["would_drop"])
    assert by_op == {"word_count": short, "dedup_text": repeats}
    dup = next(s for s in flagged if "dedup_text" in s.stats["would_drop"])
    assert dup.stats["would_drop"]["dedup_text"].startswith("duplicate_of:toy/")
