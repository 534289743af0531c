"""A sample as a self-describing record: what plait's exports carry so that ingesting
an export gives back the same samples.

Every format plait writes holds, per sample, the record below (WebDataset: under
``"plait"`` in the ``.json`` of the sample's first member group; OBELICS JSONL: in
``general_metadata``; Parquet: as columns) next to the media bytes, whose sha256 is
the media id. A reader that finds a record rebuilds the sample from it: same id,
kind, slots (the same media ids, since the bytes are the same), language tags,
family, provenance, ``meta`` and ``stats``. Only ``run_id`` is new (the ingest run).

Record fields: ``id kind texts images langs parent position source meta stats``,
``source`` = ``uri dataset licence url fetched_at`` (ISO 8601), ``images`` = media
ids (null at text slots), and ``plait`` = the record format version. Readers turn
a record back into a raw sample with :func:`plait.ingest.reassemble.from_record`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from plait.schema import Sample

VERSION = 1
KEY = "plait"  # where a record sits in a WebDataset member's JSON


def to_record(sample: Sample) -> dict[str, Any]:
    """The JSON-safe record of ``sample``."""
    src = sample.source
    return {
        KEY: VERSION,
        "id": sample.id,
        "kind": sample.kind,
        "texts": list(sample.texts),
        "images": list(sample.images),
        "langs": list(sample.langs or [None] * len(sample.texts)),
        "parent": sample.parent,
        "position": sample.position,
        "source": {
            "uri": src.uri,
            "dataset": src.dataset,
            "licence": src.licence,
            "url": src.url,
            "fetched_at": src.fetched_at.isoformat() if src.fetched_at else None,
        },
        "meta": sample.meta,
        "stats": sample.stats,
    }


def is_record(value: Any) -> bool:
    return (
        isinstance(value, Mapping)
        and value.get(KEY) == VERSION
        and isinstance(value.get("id"), str)
        and isinstance(value.get("texts"), list)
        and isinstance(value.get("images"), list)
        and len(value["texts"]) == len(value["images"])
    )


def from_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """A record from a row of plait's Parquet export (the record's fields as columns,
    ``meta`` and ``stats`` as JSON strings)."""
    import json

    def obj(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else (value or {})

    fetched = row.get("fetched_at")
    return {
        KEY: VERSION,
        "id": row.get("id"),
        "kind": row.get("kind"),
        "texts": row.get("texts"),
        "images": row.get("images"),
        "langs": row.get("langs"),
        "parent": row.get("parent"),
        "position": row.get("position"),
        "source": {
            "uri": row.get("uri"),
            "dataset": row.get("dataset"),
            "licence": row.get("licence"),
            "url": row.get("url"),
            "fetched_at": fetched.isoformat() if isinstance(fetched, datetime) else fetched,
        },
        "meta": obj(row.get("meta")),
        "stats": obj(row.get("stats")),
    }
