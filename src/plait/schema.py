"""The corpus contract: Arrow schemas of every table, and the records behind them.

A corpus is a directory of Lance tables (see DESIGN.md). Columns that hold
free-form dictionaries (``meta``: what the input said; ``stats``: what
operators measured) are JSON strings, so operators can add keys without a
schema migration. Everything else is typed so ``where`` filters can use it.

Nothing is lost, and every change is explained by a run:

- ``rejected`` holds every sample a run dropped, as it was when dropped;
- ``replaced`` holds every sample version a run replaced (a mapper rewrote its
  slots, an ingest rerun completed it), as it was before that run;
- ``plait restore --run R`` puts back both: R's drops and R's replaced versions.

Families: a sample with a ``parent`` (a page of a document, later a clip of a
video) is judged with its parent. A curate step that drops the parent drops its
children too, in the same run, with reason ``parent_dropped:<parent id>``; a
child may be dropped alone (its parent stays). So a kept child always has its
parent kept, and restoring the run brings the family back together.

Incomplete samples: a sample stored without some of its images (they could not be
read) carries ``stats["missing_images"]`` (how many); a later ingest that can read
them replaces it. A ``quarantine`` row stands for a failure that is still current:
the run that reads the input successfully removes it.

Languages (:mod:`plait.langs`): a text slot's language is its tag from the input
(``langs``), else the language detected for its sample (``stats["lang"]``, from the
``language_id`` operator), else unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

FORMAT_VERSION = 1

# Sample kinds.
PAIR = "pair"  # one image with one or more captions
DOCUMENT = "document"  # an interleaved document, or a whole PDF
PAGE = "page"  # one page of a document (``parent`` is the document id)
IMAGE = "image"  # an image with no text
TEXT = "text"  # text with no image
VIDEO = "video"  # a video file: its media slot holds the video, text slots its captions
CLIP = "clip"  # a span of a video (``parent``/``position``, ``meta.start``/``meta.end``)
AUDIO = "audio"  # a sound file: its media slot holds the sound, text slots its captions
KINDS = (PAIR, DOCUMENT, PAGE, IMAGE, TEXT, VIDEO, CLIP, AUDIO)
# Kinds whose media slots hold time-based media (video, sound), not images: image
# operators, image embedders and image exporters skip those slots.
TIMED_MEDIA = (VIDEO, AUDIO)


def image_slots(kind: str) -> bool:
    """Whether a sample of ``kind`` holds images in its media slots (a clip's are
    its keyframes; a video's or a sound's media slot is the file itself)."""
    return kind not in TIMED_MEDIA


SOURCE_TYPE = pa.struct(
    [
        pa.field("uri", pa.string()),  # where the raw input was read (file, tar#member, URL)
        pa.field("dataset", pa.string()),  # the named source it came from
        pa.field("licence", pa.string()),  # SPDX id or free text; "unknown" if not given
        pa.field("url", pa.string()),  # original web URL, if any
        pa.field("fetched_at", pa.timestamp("us", tz="UTC")),
    ]
)

SAMPLES = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("kind", pa.string(), nullable=False),
        # Interleaved slots: at every position exactly one of texts[i] / images[i] is
        # non-null; an image slot holds a media id (sha256 of the bytes).
        pa.field("texts", pa.list_(pa.string())),
        pa.field("images", pa.list_(pa.string())),
        # Language tag per text slot (null for image slots and unknown languages).
        pa.field("langs", pa.list_(pa.string())),
        pa.field("parent", pa.string()),  # page -> document id
        pa.field("position", pa.int32()),  # page number within the parent, 0-based
        pa.field("source", SOURCE_TYPE),
        pa.field("meta", pa.string()),  # JSON: what the input said; never changed
        pa.field("stats", pa.string()),  # JSON: what operators measured
        pa.field("run_id", pa.string()),  # the run that added the sample
    ]
)

MEDIA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),  # sha256 hex of the bytes
        # Null when stored by reference. Image files are already compressed and (being
        # content-addressed) never repeat: Lance's default general-purpose compression and
        # its trial of a dictionary encoding would cost CPU on every write and save
        # nothing, so the column asks for neither (a large dict-divisor is Lance's way
        # to rule the dictionary out: 0.1 s less CPU per 270 MB written, measured).
        pa.field(
            "bytes",
            pa.large_binary(),
            metadata={
                "lance-encoding:compression": "none",
                "lance-encoding:dict-divisor": "1000000000",
            },
        ),
        pa.field("uri", pa.string()),  # external location when not copied
        pa.field("mime", pa.string()),
        pa.field("width", pa.int32()),
        pa.field("height", pa.int32()),
        pa.field("size", pa.int64()),
    ]
)

QUARANTINE = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),  # hash of (location, reason)
        pa.field("location", pa.string()),  # file, tar#member, URL, pdf#page
        pa.field("reason", pa.string()),  # short code, e.g. corrupt_image
        pa.field("error", pa.string()),  # the full message
        pa.field("dataset", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("at", pa.timestamp("us", tz="UTC")),
        # the sample the failed input belonged to (an image slot), when known: a later
        # run that stores that sample complete removes the row
        pa.field("sample_id", pa.string()),
    ]
)

REJECTED = pa.schema(
    list(SAMPLES)
    + [
        pa.field("op", pa.string()),  # the operator that dropped it
        pa.field("reason", pa.string()),
        pa.field("rejected_by", pa.string(), nullable=False),  # run id of the dropping run
        pa.field("rejected_at", pa.timestamp("us", tz="UTC")),
    ]
)

REPLACED = pa.schema(
    list(SAMPLES)
    + [
        pa.field("op", pa.string()),  # what changed it: the mapper steps, comma-separated
        pa.field("change", pa.string()),  # the change in words ("text slots 70 -> 2: ...")
        pa.field("replaced_by", pa.string()),  # run id of the replacing run
        pa.field("replaced_at", pa.timestamp("us", tz="UTC")),
        pa.field("restored_by", pa.string()),  # run id of the restore that put it back
    ]
)

RUNS = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("command", pa.string()),
        pa.field("status", pa.string()),  # ok, failed, interrupted
        pa.field("params", pa.string()),  # JSON
        pa.field("versions", pa.string()),  # JSON: package versions
        pa.field("counts", pa.string()),  # JSON
        pa.field("started_at", pa.timestamp("us", tz="UTC")),
        pa.field("finished_at", pa.timestamp("us", tz="UTC")),
        pa.field("seconds", pa.float64()),
    ]
)


ANSWERS = pa.schema(
    [
        pa.field("answer_id", pa.string(), nullable=False),
        pa.field("question", pa.string()),
        pa.field("generator", pa.string()),
        pa.field("abstained", pa.bool_()),
        pa.field("answer", pa.string()),  # markdown
        pa.field("sources", pa.string()),  # JSON: the numbered sources given, with scores
        pa.field("cited", pa.list_(pa.string())),  # sample ids cited or shown, in order
        pa.field("segments", pa.string()),  # JSON
        pa.field("cut", pa.string()),  # JSON: what rerank and the budget left out, and why
        pa.field("timings", pa.string()),  # JSON: seconds per step
        pa.field("params", pa.string()),  # JSON: k, threshold, rerank, where, tokens, warnings
        pa.field("at", pa.timestamp("us", tz="UTC")),
    ]
)


def embeddings_schema(dim: int) -> pa.Schema:
    """One row per embedded slot of a sample, for one encoder."""
    return pa.schema(
        [
            pa.field("sample_id", pa.string(), nullable=False),
            # position in the sample's slots; -1 = whole sample
            pa.field("slot", pa.int32(), nullable=False),
            pa.field("modality", pa.string()),  # image or text
            pa.field("content", pa.string()),  # media id or text hash: the embedding cache key
            pa.field("vector", pa.list_(pa.float32(), dim)),
        ]
    )


TABLES: dict[str, pa.Schema] = {
    "samples": SAMPLES,
    "media": MEDIA,
    "quarantine": QUARANTINE,
    "rejected": REJECTED,
    "replaced": REPLACED,
    "runs": RUNS,
    "answers": ANSWERS,
}

# The key of each table family: a key is stored once, whatever writers run at once
# (declared as Lance's unenforced primary key; see plait.io.tables). ``embeddings/*`` and
# other tables under a folder take their family's key.
KEYS: dict[str, tuple[str, ...]] = {
    "samples": ("id",),
    "media": ("id",),
    "quarantine": ("id",),
    "rejected": ("id", "rejected_by"),
    "runs": ("run_id",),
    "embeddings": ("sample_id", "slot"),
}


def now() -> datetime:
    return datetime.now(timezone.utc)


def dumps(obj: dict[str, Any] | None) -> str:
    if not obj:  # most samples' stats: skip the encoder (ingest writes two per sample)
        return "{}"
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, default=str)


def loads(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


@dataclass(slots=True)
class Source:
    """Provenance of one sample."""

    uri: str
    dataset: str
    licence: str = "unknown"
    url: str | None = None
    fetched_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "uri": self.uri,
            "dataset": self.dataset,
            "licence": self.licence,
            "url": self.url,
            "fetched_at": self.fetched_at,
        }


@dataclass(slots=True)
class Sample:
    """One row of ``samples``: interleaved text and media-id slots."""

    id: str
    kind: str
    texts: list[str | None]
    images: list[str | None]
    source: Source
    langs: list[str | None] | None = None
    parent: str | None = None
    position: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.images):
            raise ValueError(f"sample {self.id}: texts and images must have one entry per slot")
        for i, (t, m) in enumerate(zip(self.texts, self.images)):
            if (t is None) == (m is None):
                raise ValueError(
                    f"sample {self.id}: slot {i} must hold exactly one of text or image"
                )
        if self.langs is None:
            self.langs = [None] * len(self.texts)

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "texts": self.texts,
            "images": self.images,
            "langs": self.langs,
            "parent": self.parent,
            "position": self.position,
            "source": self.source.to_dict(),
            "meta": dumps(self.meta),
            "stats": dumps(self.stats),
            "run_id": self.run_id,
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Sample:
        src = row.get("source") or {}
        return cls(
            id=row["id"],
            kind=row["kind"],
            texts=list(row["texts"] or []),
            images=list(row["images"] or []),
            langs=list(row["langs"]) if row.get("langs") is not None else None,
            parent=row.get("parent"),
            position=row.get("position"),
            source=Source(
                uri=src.get("uri") or "",
                dataset=src.get("dataset") or "",
                licence=src.get("licence") or "unknown",
                url=src.get("url"),
                fetched_at=src.get("fetched_at"),
            ),
            meta=loads(row.get("meta")),
            stats=loads(row.get("stats")),
            run_id=row.get("run_id"),
        )

    @property
    def text(self) -> str:
        """The text-only view: every text slot joined."""
        return "\n".join(t for t in self.texts if t)

    @property
    def media_ids(self) -> list[str]:
        return [m for m in self.images if m]

    @property
    def image_ids(self) -> list[str]:
        """Media ids of the slots that hold images (none for a video or a sound)."""
        return self.media_ids if image_slots(self.kind) else []


def samples_table(samples: list[Sample]) -> pa.Table:
    return pa.Table.from_pylist([s.to_row() for s in samples], schema=SAMPLES)
