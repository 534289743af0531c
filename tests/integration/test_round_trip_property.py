"""Export then ingest gives back the same samples, on random small corpora (hypothesis).

Random pairs (one to five captions, tagged or not), images, texts, documents (text and
image slots in any order, images repeated) with pages, random unicode texts, ids,
licences, meta and stats, exported as WebDataset, Parquet or OBELICS JSONL in random
shard sizes, then ingested into an empty corpus: every sample comes back as it was
(only its ``run_id`` is new), with the same media, nothing quarantined.

``PLAIT_PROPERTY_EXAMPLES`` sets the number of examples (default 10; the heavy variant
runs 100).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plait import Corpus
from plait.export import export
from plait.ingest import ingest
from plait.io.media import media_row
from plait.schema import DOCUMENT, IMAGE, MEDIA, PAGE, PAIR, TEXT, Sample, Source, samples_table

from ..builders import image_bytes

EXAMPLES = int(os.environ.get("PLAIT_PROPERTY_EXAMPLES", "10"))
COLOURS = ["red", "green", "blue", "yellow", "white"]
_MEDIA: list[dict[str, Any]] = []


def _media() -> list[dict[str, Any]]:
    """Five small images, JPEG and PNG (built once)."""
    if not _MEDIA:
        for i, c in enumerate(COLOURS):
            _MEDIA.append(media_row(image_bytes(c, fmt="PNG" if i % 2 else "JPEG", size=16)))
    return _MEDIA


# texts: any unicode a caption may hold (no lone surrogates, which no file can carry)
text = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
lang = st.sampled_from([None, "en", "de", "zh-Hans", "pt_BR"])
image = st.integers(0, len(COLOURS) - 1)
key = st.text(st.sampled_from("abcxyz019 .-_#éλ"), min_size=1, max_size=12)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**31), 2**31) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=6,
)
extras = st.dictionaries(st.sampled_from(["a", "score", "note", "lang"]), json_value, max_size=3)
source = st.fixed_dictionaries(
    {
        "licence": st.sampled_from(["CC-BY-4.0", "GPL-2.0", "research-only", "unknown"]),
        "url": st.none() | st.just("https://example.org/x?y=1&z=é"),
        "fetched": st.none() | st.just(datetime(2025, 3, 1, 12, 30, tzinfo=timezone.utc)),
    }
)
slot = st.one_of(st.tuples(st.just("t"), text, lang), st.tuples(st.just("i"), image, st.none()))
spec = st.one_of(
    st.tuples(st.just(PAIR), st.lists(st.tuples(st.just("t"), text, lang), min_size=1, max_size=5)),
    st.tuples(st.just(IMAGE), st.just([])),
    st.tuples(st.just(TEXT), st.lists(st.tuples(st.just("t"), text, lang), min_size=1, max_size=1)),
    st.tuples(st.just(DOCUMENT), st.lists(slot, min_size=1, max_size=5)),
)
entry = st.tuples(spec, key, source, extras, extras, st.integers(0, 2))


def _samples(entries: list[Any]) -> list[Sample]:
    media = _media()
    out: list[Sample] = []
    seen: set[str] = set()
    for n, ((kind, slots), k, src, meta, stats, pages) in enumerate(entries):
        sid = f"ds{n % 2}/{k}"
        if sid in seen:
            continue
        seen.add(sid)
        if kind in (PAIR, IMAGE):
            slots = [("i", n % len(media), None), *slots]
        texts = [v if t == "t" else None for t, v, _ in slots]
        images = [media[v]["id"] if t == "i" else None for t, v, _ in slots]
        langs = [tag for _, _, tag in slots]
        source = Source(f"/in/{k}", f"ds{n % 2}", src["licence"], src["url"], src["fetched"])
        out.append(Sample(sid, kind, texts, images, source, langs, meta=meta, stats=stats))
        if kind == DOCUMENT:
            for p in range(pages):
                out.append(
                    Sample(
                        f"{sid}#p{p}",
                        PAGE,
                        [f"page {p} of {k}", None],
                        [None, media[(n + p) % len(media)]["id"]],
                        source,
                        parent=sid,
                        position=p,
                        stats={"page": p},
                    )
                )
    return out


def _state(corpus: Corpus) -> dict[str, dict[str, Any]]:
    return {s.id: s.to_row() | {"run_id": None} for s in corpus.samples()}


def _check(entries: list[Any], fmt: str, shard_size: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="plait-rt-"))
    try:
        samples = _samples(entries)
        original = Corpus.init(root / "c")
        used = {m for s in samples for m in s.images if m}
        rows = [m for m in _media() if m["id"] in used]
        original.append("media", pa.Table.from_pylist(rows, schema=MEDIA))
        original.append("samples", samples_table(samples))
        export(original, root / "out", fmt, shard_size=shard_size)
        back = Corpus.init(root / "back")
        report = ingest(back, root / "out", dataset="export")
        assert not report.quarantined, report.examples
        assert _state(back) == _state(original)
        assert back.ids("media") == used
        assert all(back.media_bytes(m) == original.media_bytes(m) for m in used)
    finally:
        shutil.rmtree(root, ignore_errors=True)


_SETTINGS = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
corpora = st.lists(entry, min_size=1, max_size=8)
formats = st.sampled_from(["webdataset", "parquet", "jsonl"])


@settings(max_examples=EXAMPLES, **_SETTINGS)
@given(corpora, formats, st.integers(1, 5))
def test_export_then_ingest_gives_back_the_corpus(entries, fmt, shard_size) -> None:
    _check(entries, fmt, shard_size)


@pytest.mark.heavy
@settings(max_examples=max(EXAMPLES, 100), **_SETTINGS)
@given(corpora, formats, st.integers(1, 5))
def test_export_then_ingest_gives_back_the_corpus_many(entries, fmt, shard_size) -> None:
    _check(entries, fmt, shard_size)
