"""A sample as the sample page shows it: slots with media info, and its lineage
(added by which run, dropped by which operator and why, restored when) from
:func:`plait.lineage.why`, which reads it back from ``runs`` and ``rejected``."""

from __future__ import annotations

from typing import Any

from plait import schema
from plait.io.corpus import Corpus, sql_in, sql_str
from plait.langs import slot_langs
from plait.retrieval.cards import pages

_SAMPLE_COLS = schema.SAMPLES.names


def run_out(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        "params": schema.loads(row.get("params")),
        "counts": schema.loads(row.get("counts")),
        "versions": schema.loads(row.get("versions")),
    }


def sample_detail(corpus: Corpus, sample_id: str) -> dict[str, Any]:
    """The sample (present or rejected) with its slots, media info and lineage."""
    from plait.lineage import why

    lineage = why(corpus, sample_id)  # NotFoundError when neither present nor rejected
    table = "samples" if lineage.status == "present" else "rejected"
    rows = corpus.read(table, where=f"id = {sql_str(sample_id)}").to_pylist()
    sample = schema.Sample.from_row({k: rows[-1].get(k) for k in _SAMPLE_COLS})
    media = _media_info(corpus, sample.media_ids)
    langs = slot_langs(sample.texts, sample.langs, sample.stats)  # tag, else detected
    slots = []
    for i, (text, mid) in enumerate(zip(sample.texts, sample.images)):
        if mid is None:
            slots.append({"index": i, "type": "text", "text": text, "lang": langs[i]})
        else:
            m = media.get(mid, {})
            slots.append(
                {
                    "index": i,
                    "type": "image",
                    "media_id": mid,
                    "mime": m.get("mime"),
                    "width": m.get("width"),
                    "height": m.get("height"),
                }
            )
    return {
        "id": sample.id,
        "kind": sample.kind,
        "status": lineage.status,
        "slots": slots,
        "source": sample.source.to_dict(),
        "meta": sample.meta,
        "stats": sample.stats,
        "parent": sample.parent,
        "position": sample.position,
        "pages": pages(corpus, sample.id) if sample.kind == schema.DOCUMENT else [],
        "lineage": [e.__dict__ for e in lineage.events],
        "versions": lineage.versions,  # what runs replaced (a mapper's change), oldest first
    }


def _media_info(corpus: Corpus, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    cols = ["id", "mime", "width", "height"]
    return {
        r["id"]: r for r in corpus.read("media", columns=cols, where=sql_in("id", ids)).to_pylist()
    }
