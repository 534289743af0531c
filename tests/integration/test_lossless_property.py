"""Nothing is lost, on random corpora and random recipes (hypothesis).

Random small corpora (pairs with one to five tagged or untagged captions, documents
with pages, text samples; repeated, short and HTML-escaped texts) go through one to
three curate runs of random recipes (mappers, filters in drop and annotate mode,
exact and near deduplicators), cut into random shards and batches. Then:

- after every run no page is kept without its document;
- ``why`` names every change: each drop with its run and operator, each mapper change
  with its run and mapper;
- restoring every run, newest first, gives back the corpus as it was, slot for slot.

``PLAIT_PROPERTY_EXAMPLES`` sets the number of examples (default 10; the heavy
variant runs 100).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "executors"))

from plait import Corpus  # noqa: E402
from plait.curate import curate  # noqa: E402
from plait.lineage import restore, why  # noqa: E402
from plait.schema import DOCUMENT, PAGE, PAIR, TEXT, Sample, Source, samples_table  # noqa: E402

EXAMPLES = int(os.environ.get("PLAIT_PROPERTY_EXAMPLES", "10"))
WORDS = ["red", "dog", "runs", "a", "the", "big", "cat", "on", "grass", "&amp;", "<b>x</b>"]
LANGS = [None, "en", "en_GB", "de", "fr"]

text = st.lists(st.sampled_from(WORDS), min_size=1, max_size=6).map(" ".join)
caption = st.tuples(text, st.sampled_from(LANGS))
media = st.sampled_from([f"m{i:02d}" for i in range(6)])  # ids only: no op here decodes pixels

pair = st.tuples(st.just(PAIR), media, st.lists(caption, min_size=1, max_size=5))
doc = st.tuples(st.just(DOCUMENT), text, st.lists(st.tuples(text, media), max_size=3))
plain = st.tuples(st.just(TEXT), caption)
corpus_spec = st.lists(st.one_of(pair, doc, plain), min_size=1, max_size=14)

mode = st.sampled_from(["drop", "annotate"])
step = st.one_of(
    st.just({"op": "clean_captions"}),
    st.just({"op": "toy_ops:Lower"}),
    st.builds(
        lambda langs, untagged: {
            "op": "select_langs",
            "languages": langs,
            "keep_untagged": untagged,
        },
        st.lists(st.sampled_from(["en", "de", "fr"]), min_size=1, max_size=2, unique=True),
        st.booleans(),
    ),
    st.builds(
        lambda n, m: {"op": "word_count", "min_words": n, "mode": m}, st.integers(1, 4), mode
    ),
    st.builds(lambda n: {"op": "caption_length", "min_chars": n}, st.integers(1, 18)),
    st.builds(lambda m: {"op": "dedup_text", "mode": m}, mode),
    st.builds(lambda m: {"op": "dedup_media", "mode": m}, mode),
    st.builds(lambda t: {"op": "near_dup_text", "threshold": t}, st.sampled_from([0.5, 0.8])),
)
run = st.tuples(st.lists(step, min_size=1, max_size=4), st.integers(1, 8), st.integers(1, 6))


def _build(path: Path, spec: list[tuple[Any, ...]]) -> Corpus:
    rows: list[Sample] = []
    for i, item in enumerate(spec):
        src = Source(f"mem://{i}", "p", "CC0-1.0")
        if item[0] == PAIR:
            _, mid, caps = item
            rows.append(
                Sample(
                    f"p/{i}",
                    PAIR,
                    [None, *(t for t, _ in caps)],
                    [mid] + [None] * len(caps),
                    src,
                    langs=[None, *(lang for _, lang in caps)],
                )
            )
        elif item[0] == DOCUMENT:
            _, title, pages = item
            rows.append(Sample(f"p/{i}", DOCUMENT, [title], [None], src))
            for k, (t, mid) in enumerate(pages):
                rows.append(
                    Sample(
                        f"p/{i}#p{k}",
                        PAGE,
                        [None, t],
                        [mid, None],
                        src,
                        parent=f"p/{i}",
                        position=k,
                    )
                )
        else:
            _, (t, lang) = item
            rows.append(Sample(f"p/{i}", TEXT, [t], [None], src, langs=[lang]))
    # pages after all documents, in reverse: families are not adjacent in the table
    rows.sort(key=lambda s: (s.kind == PAGE, s.id if s.kind != PAGE else "~" + s.id[::-1]))
    corpus = Corpus.init(path)
    corpus.append("samples", samples_table(rows))
    return corpus


def _slots(corpus: Corpus) -> dict[str, tuple]:
    return {
        s.id: (s.kind, s.texts, s.images, s.langs, s.parent, s.position, s.source.licence)
        for s in corpus.samples()
    }


def _no_orphans(corpus: Corpus) -> None:
    kept = {s.id: s.parent for s in corpus.samples()}
    orphans = [sid for sid, parent in kept.items() if parent and parent not in kept]
    assert not orphans, orphans


def _explained(corpus: Corpus, run_id: str) -> None:
    dropped = corpus.read("rejected", where=f"rejected_by = '{run_id}'").to_pylist()
    changed = corpus.read("replaced", where=f"replaced_by = '{run_id}'").to_pylist()
    for row in dropped:
        what = [e.what for e in why(corpus, row["id"]).events if e.run_id == run_id]
        assert what and f"dropped by {row['op']}: {row['reason']}" in what[0], (row["id"], what)
    for row in changed:
        what = [e.what for e in why(corpus, row["id"]).events if e.run_id == run_id]
        assert what and f"changed by {row['op']}" in what[0], (row["id"], what)


def _check(spec: list[tuple[Any, ...]], runs: list[tuple[list[dict], int, int]]) -> None:
    root = Path(tempfile.mkdtemp(prefix="plait-prop-"))
    try:
        corpus = _build(root / "c", spec)
        before = _slots(corpus)
        done = []
        for recipe, shard_size, batch_size in runs:
            rep = curate(
                corpus,
                recipe,
                workers=0,
                shard_size=shard_size,
                batch_size=batch_size,
                resume=False,
            )
            done.append(rep.run_id)
            _no_orphans(corpus)
            assert rep.kept == corpus.count("samples")
            assert rep.replaced == corpus.count("replaced", f"replaced_by = '{rep.run_id}'")
        event(f"dropped: {corpus.count('rejected') > 0}")
        event(f"changed: {corpus.count('replaced') > 0}")
        cascaded = corpus.count("rejected", "reason LIKE 'parent_dropped%'")
        event(f"pages dropped with their document: {cascaded > 0}")
        for run_id in done:
            _explained(corpus, run_id)
        for run_id in reversed(done):
            if corpus.count("rejected", f"rejected_by = '{run_id}'") or corpus.count(
                "replaced", f"replaced_by = '{run_id}' AND restored_by IS NULL"
            ):
                restore(corpus, run_id)
        assert _slots(corpus) == before
        assert corpus.count("rejected") == 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


_SETTINGS = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@settings(max_examples=EXAMPLES, **_SETTINGS)
@given(corpus_spec, st.lists(run, min_size=1, max_size=3))
def test_curate_then_restore_gives_back_the_corpus(spec, runs) -> None:
    _check(spec, runs)


@pytest.mark.heavy
@settings(max_examples=max(EXAMPLES, 100), **_SETTINGS)
@given(corpus_spec, st.lists(run, min_size=1, max_size=3))
def test_curate_then_restore_gives_back_the_corpus_many(spec, runs) -> None:
    _check(spec, runs)
