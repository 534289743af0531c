"""Reruns of ingest: a sample stored incomplete is completed when its images can be read,
quarantine rows go once the input reads, and a sample curation dropped stays dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plait import Corpus
from plait.curate import curate
from plait.errors import NothingReadError
from plait.ingest import ingest
from plait.lineage import why

from ..builders import image_bytes


def _docs(tmp_path: Path) -> tuple[Path, Path]:
    """Two OBELICS documents whose images live under ``img/`` beside nothing: the
    file is in ``docs/``, so the default image root (its folder) finds none."""
    img = tmp_path / "img"
    img.mkdir()
    for i, colour in enumerate(("red", "green", "blue")):
        (img / f"{i}.png").write_bytes(image_bytes(colour, fmt="PNG"))
    rows = [
        {"id": "a", "texts": ["A red square.", None, None], "images": [None, "0.png", "1.png"]},
        {"id": "b", "texts": [None, "A blue one."], "images": ["2.png", None]},
    ]
    docs = tmp_path / "docs"
    docs.mkdir()
    path = docs / "docs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path, img


def test_incomplete_documents_are_completed_by_a_rerun(corpus: Corpus, tmp_path: Path) -> None:
    path, img = _docs(tmp_path)
    first = ingest(corpus, path, dataset="web")
    assert first.added == 2 and first.quarantined == {"missing_file": 3}
    a = corpus.sample("web/a")
    assert a.texts == ["A red square."] and a.stats["missing_images"] == 2
    assert corpus.info().quarantine_by_reason == {"missing_file": 3}

    same = ingest(corpus, path, dataset="web")  # nothing new can be read: nothing changes
    assert (same.added, same.completed, same.skipped) == (0, 0, 2)
    assert corpus.count("quarantine") == 3 and corpus.count("replaced") == 0

    second = ingest(corpus, path, dataset="web", image_root=img)
    assert (second.added, second.completed, second.quarantine_cleared) == (0, 2, 3)
    a = corpus.sample("web/a")
    assert a.texts == ["A red square.", None, None] and len(a.media_ids) == 2
    assert "missing_images" not in a.stats
    assert corpus.media_bytes(a.images[1]) == (img / "0.png").read_bytes()
    assert corpus.count("samples") == 2  # replaced, not added twice
    assert corpus.count("quarantine") == 0 and corpus.info().quarantine_by_reason == {}
    # the incomplete version is kept, and the story says what the rerun did
    old = corpus.read("replaced", where="id = 'web/a'").to_pylist()
    assert [r["op"] for r in old] == ["ingest"] and old[0]["texts"] == ["A red square."]
    events = why(corpus, "web/a").events
    assert [e.command for e in events] == ["ingest", "ingest"]
    assert events[0].run_id == first.run_id and events[1].run_id == second.run_id
    assert "completed" in events[1].what and "2 -> 0" in events[1].what

    third = ingest(corpus, path, dataset="web", image_root=img)
    assert (third.added, third.completed, third.skipped) == (0, 0, 2)


def test_failed_pairs_clear_their_quarantine_when_they_read(corpus: Corpus, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(4):
        (photos / f"{i}.jpg").write_bytes(image_bytes((60 * i, 20, 20)))
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text(
        "image\tcaption\n" + "".join(f"{i}.jpg\ta photo number {i} of four\n" for i in range(4))
    )
    wrong = tmp_path / "elsewhere"
    wrong.mkdir()
    with pytest.raises(NothingReadError, match="4 inputs failed"):
        ingest(corpus, tsv, dataset="p", image_root=wrong)
    assert corpus.count("quarantine") == 4
    rows = corpus.read("quarantine").to_pylist()
    assert {r["sample_id"] for r in rows} == {f"p/{i}.jpg" for i in range(4)}

    second = ingest(corpus, tsv, dataset="p", image_root=photos)
    assert second.added == 4 and second.quarantine_cleared == 4
    assert corpus.count("quarantine") == 0

    # a sample curation dropped is not brought back by a rerun
    rep = curate(corpus, [{"op": "caption_length", "min_chars": 10_000}], workers=0)
    assert rep.rejected == 4 and corpus.count("samples") == 0
    again = ingest(corpus, tsv, dataset="p", image_root=photos)
    assert (again.added, again.skipped) == (0, 4) and corpus.count("samples") == 0


def test_an_older_corpus_without_the_sample_id_column_takes_new_rows(
    corpus: Corpus, tmp_path: Path
) -> None:
    import pyarrow as pa

    from plait import schema

    old = pa.schema([f for f in schema.QUARANTINE if f.name != "sample_id"])
    row = {
        "id": "x",
        "location": "/gone.jpg",
        "reason": "missing_file",
        "error": "no such file",
        "dataset": "p",
        "run_id": "ingest-old",
        "at": schema.now(),
    }
    corpus.append("quarantine", pa.Table.from_pylist([row], schema=old), old)
    path, img = _docs(tmp_path)
    ingest(corpus, path, dataset="web")
    assert corpus.count("quarantine") == 4
    assert "sample_id" in corpus.dataset("quarantine").schema.names


def test_stale_rows_from_before_sample_ids_go_when_a_rerun_skips_their_sample(
    corpus: Corpus, tmp_path: Path
) -> None:
    """A corpus whose retries succeeded before rows carried sample ids: the rerun that
    skips the stored (complete) sample settles the row left at its image's location."""
    import pyarrow as pa

    from plait import schema

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "0.jpg").write_bytes(image_bytes("red"))
    tsv = tmp_path / "pairs.tsv"
    tsv.write_text("image\tcaption\n0.jpg\ta red photo of nothing\n")
    ingest(corpus, tsv, dataset="p", image_root=photos)
    old = pa.schema([f for f in schema.QUARANTINE if f.name != "sample_id"])
    stale = {
        "id": "q-old",
        "location": str(photos / "0.jpg"),
        "reason": "missing_file",
        "error": "no such file",
        "dataset": "p",
        "run_id": "ingest-old",
        "at": schema.now(),
    }
    current = stale | {"id": "q-now", "location": str(photos / "gone.jpg")}
    corpus.append("quarantine", pa.Table.from_pylist([stale, current], schema=old), old)
    again = ingest(corpus, tsv, dataset="p", image_root=photos)
    assert (again.skipped, again.quarantine_cleared) == (1, 1)
    assert corpus.ids("quarantine") == {"q-now"}
