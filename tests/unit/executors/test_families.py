"""Documents and their pages (videos and their clips) are judged together: a step that
drops a document drops its pages (reason ``parent_dropped``), wherever the rows sit in
the table and however the snapshot is cut into shards and batches."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from plait import Corpus  # noqa: E402
from plait.curate import curate  # noqa: E402
from plait.executors.families import cascade, family_bounds, family_order  # noqa: E402
from plait.lineage import restore, why  # noqa: E402
from plait.schema import DOCUMENT, PAGE, Sample, Source, samples_table  # noqa: E402


def test_order_puts_each_family_together_and_bounds_never_split_one() -> None:
    ids = ["p1", "a", "d", "p2", "q1", "b", "e"]
    parents = ["d", None, None, "d", "e", None, None]
    order = family_order(ids, parents)
    assert order == [1, 2, 0, 3, 5, 6, 4]  # roots in row order, each followed by its pages
    assert family_order(["a", "b"], [None, "gone"]) is None  # no parent present: row order
    o_ids, o_par = [ids[i] for i in order], [parents[i] for i in order]
    cuts = family_bounds(o_ids, o_par, 2)
    assert cuts == [(0, 4), (4, 7)]  # a cut waits for the end of the family in hand
    for a, b in cuts:
        inside = set(o_ids[a:b])
        assert all(p in inside for p in o_par[a:b] if p in ids)
    assert family_bounds(o_ids, o_par, 100) == [(0, 7)]


def test_cascade_reaches_grandchildren() -> None:
    ids, parents = ["v", "c1", "c2", "k"], [None, "v", "c1", None]
    assert cascade(ids, parents, {"v": "x"}) == {
        "c1": "parent_dropped:v",
        "c2": "parent_dropped:c1",
    }
    assert cascade(ids, parents, {"c2": "x"}) == {}


def _documents(path: Path, n: int, seed: int) -> Corpus:
    """``n`` documents of 3 pages; odd documents have a one-word title; rows shuffled,
    so pages sit before, after and far from their document."""
    rows = []
    for k in range(n):
        doc = f"d/{k:03d}"
        title = "short" if k % 2 else f"a long enough title number {k}"
        rows.append(Sample(doc, DOCUMENT, [title], [None], Source("m", "d")))
        for p in range(3):
            text = f"page {p} of document {k} says something"
            rows.append(
                Sample(
                    f"{doc}#p{p}", PAGE, [text], [None], Source("m", "d"), parent=doc, position=p
                )
            )
    random.Random(seed).shuffle(rows)
    corpus = Corpus.init(path)
    corpus.append("samples", samples_table(rows))
    return corpus


@pytest.mark.parametrize("shard_size,batch_size", [(3, 2), (1000, 256)])
def test_dropping_a_document_drops_its_pages(tmp_path: Path, shard_size, batch_size) -> None:
    corpus = _documents(tmp_path / "c", 12, seed=shard_size)
    recipe = [
        {"op": "word_count", "min_words": 3},
        {"op": "dedup_text"},  # page texts are unique: drops nothing, but cuts a stage
    ]
    rep = curate(corpus, recipe, workers=0, shard_size=shard_size, batch_size=batch_size)
    rejected = {r["id"]: r for r in corpus.read("rejected").to_pylist()}
    short = {f"d/{k:03d}" for k in range(12) if k % 2}
    assert {i for i, r in rejected.items() if r["reason"] == "too_few_words"} == short
    for k in range(1, 12, 2):
        for p in range(3):
            r = rejected[f"d/{k:03d}#p{p}"]
            assert (r["op"], r["reason"]) == ("word_count", f"parent_dropped:d/{k:03d}")
    kept = corpus.samples()
    ids = {s.id for s in kept}
    assert len(kept) == 24 and all(s.parent in ids for s in kept if s.parent)
    step = rep.steps[0]
    assert step["dropped"] == {"too_few_words": 6, "parent_dropped": 18}
    assert step["in"] - step["kept"] == 24 and rep.steps[1]["in"] == step["kept"]
    assert "parent_dropped:d/001" in why(corpus, "d/001#p2").events[-1].what
    restore(corpus, rep.run_id)
    assert corpus.count("samples") == 48 and corpus.count("rejected") == 0


def test_a_page_dropped_alone_leaves_its_document(tmp_path: Path) -> None:
    doc = Sample("d/x", DOCUMENT, ["A report on three things"], [None], Source("m", "d"))
    pages = [
        Sample(f"d/x#p{p}", PAGE, [t], [None], Source("m", "d"), parent="d/x", position=p)
        for p, t in enumerate(["The first page has words.", "", "The third page too."])
    ]
    corpus = Corpus.init(tmp_path / "c")
    corpus.append("samples", samples_table([*pages, doc]))
    rep = curate(corpus, [{"op": "word_count", "min_words": 1}], workers=0)
    assert [(r["id"], r["reason"]) for r in corpus.read("rejected").to_pylist()] == [
        ("d/x#p1", "too_few_words")
    ]
    assert rep.kept == 3 and "d/x" in corpus.ids()


def test_annotate_mode_flags_the_pages_that_would_go_too(tmp_path: Path) -> None:
    corpus = _documents(tmp_path / "c", 4, seed=1)
    recipe = [
        {"op": "word_count", "min_words": 3, "mode": "annotate"},
        {"op": "dedup_text", "mode": "annotate"},
    ]
    rep = curate(corpus, recipe, workers=0, shard_size=2)
    assert rep.rejected == 0 and rep.kept == 16
    assert rep.steps[0]["would_drop"] == {"too_few_words": 2, "parent_dropped": 6}
    flags = {s.id: s.stats.get("would_drop", {}) for s in corpus.samples()}
    assert flags["d/001#p0"] == {"word_count": "parent_dropped:d/001"}
    assert flags["d/000#p0"] == {}


def test_audit_counts_pages_kept_without_their_document(tmp_path: Path) -> None:
    from plait.audit import audit

    corpus = _documents(tmp_path / "c", 4, seed=2)
    curate(corpus, [{"op": "word_count", "min_words": 3}], workers=0)
    assert audit(corpus).orphans == 0
    stray = Sample(
        "d/gone#p0",
        PAGE,
        ["a page of a lost document"],
        [None],
        Source("m", "d"),
        parent="d/gone",
        position=0,
    )
    corpus.append("samples", samples_table([stray]))
    assert audit(corpus).orphans == 1


def test_a_video_and_its_clips_are_one_family(tmp_path: Path) -> None:
    """The same rule for videos: dropping one drops its clips; restoring brings all back."""
    from plait.schema import CLIP, VIDEO

    rows = []
    for k, title in enumerate(["shaky", "a walk along the river at dusk"]):
        vid = f"v/{k}.mp4"
        rows.append(Sample(vid, VIDEO, [title], [None], Source("m", "v")))
        rows += [
            Sample(
                f"{vid}#c{c}",
                CLIP,
                [f"shot {c} of video {k} here"],
                [None],
                Source("m", "v"),
                parent=vid,
                position=c,
            )
            for c in range(2)
        ]
    corpus = Corpus.init(tmp_path / "c")
    corpus.append("samples", samples_table(rows[::-1]))
    rep = curate(corpus, [{"op": "word_count", "min_words": 3}], workers=0, shard_size=2)
    reasons = {r["id"]: r["reason"] for r in corpus.read("rejected").to_pylist()}
    assert reasons == {
        "v/0.mp4": "too_few_words",
        "v/0.mp4#c0": "parent_dropped:v/0.mp4",
        "v/0.mp4#c1": "parent_dropped:v/0.mp4",
    }
    restore(corpus, rep.run_id)
    assert corpus.count("samples") == 6
