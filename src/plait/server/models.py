"""Request and response bodies of the HTTP API (they make the OpenAPI schema).

The typed client (:mod:`plait.client`) parses responses into these same
models, so the server and the client cannot drift apart. Only pydantic is
imported here: the client must not pull in FastAPI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

Modality = Literal["image", "text"]

# Request size caps (422 above), the same as the library's: a query's text
# (plait.retrieval.types.MAX_TEXT), a where filter (plait.io.where.MAX_CHARS), names.
MAX_TEXT = 4096
MAX_WHERE = 4000
MAX_NAME = 1024
MAX_VALUES = 100  # values in one structured filter
Name = Annotated[str, StringConstraints(max_length=MAX_NAME)]
Value = Annotated[str, StringConstraints(max_length=256)]
ExportFormat = Literal["webdataset", "parquet", "jsonl"]


class ErrorBody(BaseModel):
    """Every error the API returns has this shape, whatever its status."""

    error: str = Field(description="Exception class name, e.g. NotFoundError.")
    message: str
    status: int
    kind: str | None = Field(None, description="For unknown names: what was looked up.")
    name: str | None = None
    valid: list[str] | None = Field(None, description="For unknown names: the valid ones.")
    detail: list[dict[str, Any]] | None = Field(None, description="Field errors of a bad request.")


class CorpusInfo(BaseModel):
    name: str
    samples: int
    rejected: int
    encoders: list[str]


class CorporaResponse(BaseModel):
    default: str
    corpora: list[CorpusInfo]
    writes_enabled: bool = Field(description="False when the server has no API key.")
    max_page: int
    max_upload_bytes: int


class Filters(BaseModel):
    """Structured filters, turned into a ``where`` clause by the server (no SQL quoting
    left to the caller). Each list means "any of these"; lists combine with AND."""

    langs: list[Value] = Field(
        default_factory=list, max_length=MAX_VALUES, description="Language of any text slot."
    )
    licences: list[Value] = Field(default_factory=list, max_length=MAX_VALUES)
    sources: list[Value] = Field(
        default_factory=list, max_length=MAX_VALUES, description="source.dataset values."
    )
    kinds: list[Value] = Field(default_factory=list, max_length=MAX_VALUES)
    stats: dict[Value, tuple[float | None, float | None]] = Field(
        default_factory=dict,
        max_length=MAX_VALUES,
        description="Ranges over stats keys, e.g. {'clip_score': [0.3, null]}.",
    )


class SearchRequest(BaseModel):
    """Every query kind of :class:`plait.retrieval.Query`, plus paging and filters."""

    text: str | None = Field(None, max_length=MAX_TEXT)
    like: Name | None = Field(None, description="A sample id: more like this.")
    where: str | None = Field(
        None,
        max_length=MAX_WHERE,
        description="A filter over samples columns in plait's where grammar (a SQL subset).",
    )
    modality: Modality | None = None
    kind: Name | None = None
    k: int = Field(10, ge=1, description="Results per page (the server caps it).")
    offset: int = Field(0, ge=0)
    encoder: Name | None = None
    hybrid: bool = False
    fulltext: bool = Field(False, description="BM25 only: no vectors, no encoder.")
    adaptive: bool = False
    rollup: bool = True
    text_weight: float = Field(
        0.5, ge=0.0, le=1.0, description="Composed queries: weight of the text."
    )
    filters: Filters = Field(default_factory=Filters)
    min_score: float | None = None
    max_score: float | None = None


class Play(BaseModel):
    """What a player loads for a clip, video or sound: a media id (a clip's is its parent
    video's file, served with byte ranges) and the span to play, in seconds."""

    media: str
    kind: Literal["video", "audio"]
    start: float
    end: float


class SampleSummary(BaseModel):
    id: str
    kind: str
    caption: str
    image: str | None = Field(None, description="Media id of the first (or matched) image.")
    dataset: str
    licence: str
    langs: list[str] = Field(default_factory=list)
    n_slots: int = 0
    parent: str | None = Field(None, description="The document of a page.")
    position: int | None = Field(None, description="A page's number in its document (from 0).")
    time: list[float] | None = Field(None, description="A clip's or sound's span (seconds).")
    play: Play | None = None


class Hit(BaseModel):
    sample_id: str
    score: float
    parts: dict[str, float]
    slot: int | None = None
    kind: str
    sample: SampleSummary | None = None
    pages: list[str] = Field(
        default_factory=list, description="A rolled-up document's matching pages, best first."
    )
    page: SampleSummary | None = Field(None, description="The best matching page of a document.")
    time: list[float] | None = Field(
        None,
        description="Where the match is in the file: the matched line's span, else the clip's.",
    )


class SearchResponse(BaseModel):
    hits: list[Hit]
    k: int
    offset: int
    took_ms: float


class SamplePage(BaseModel):
    items: list[SampleSummary]
    total: int
    offset: int
    limit: int


class Slot(BaseModel):
    index: int
    type: Literal["text", "image", "video", "audio"]
    text: str | None = None
    lang: str | None = None
    media_id: str | None = None
    mime: str | None = None
    width: int | None = None
    height: int | None = None
    time: list[float] | None = Field(None, description="A keyframe's instant, a line's span.")


class Run(BaseModel):
    run_id: str
    command: str
    status: str
    params: dict[str, Any]
    counts: dict[str, Any]
    versions: dict[str, Any] = Field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float | None = None


class LineageEvent(BaseModel):
    """One run's effect on a sample (from :func:`plait.lineage.why`)."""

    run_id: str
    command: str
    at: datetime | None = None
    what: str


class SampleDetail(BaseModel):
    id: str
    kind: str
    status: Literal["present", "rejected"]
    slots: list[Slot]
    source: dict[str, Any]
    meta: dict[str, Any]
    stats: dict[str, Any]
    parent: str | None = None
    position: int | None = None
    pages: list[SampleSummary] = Field(
        default_factory=list, description="A document's pages in order, with text and image."
    )
    lineage: list[LineageEvent]
    play: Play | None = Field(None, description="A clip's, video's or sound's player source.")
    versions: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Earlier versions runs replaced (a mapper's change), oldest first: "
        "replaced_by, op, change, restored_by, texts, images, langs.",
    )


class Stats(BaseModel):
    samples: int
    by_kind: dict[str, int]
    by_source: dict[str, int]
    by_licence: dict[str, int]
    by_lang: dict[str, int]
    media: int
    media_bytes: int
    quarantine_by_reason: dict[str, int]
    rejected: int
    rejected_by_reason: dict[str, int] = Field(description="Keys are 'op: reason'.")
    rejected_by_op: dict[str, int]
    embeddings: dict[str, int]


class RunsPage(BaseModel):
    items: list[Run]
    total: int


class RejectedItem(BaseModel):
    id: str
    kind: str
    caption: str
    image: str | None
    dataset: str
    op: str
    reason: str
    run_id: str | None
    at: datetime | None


class RejectedPage(BaseModel):
    items: list[RejectedItem]
    total: int
    offset: int
    limit: int


class ExportRequest(BaseModel):
    """A subset (``where``, ``query`` or ``ids``; none means the whole corpus) written
    under the server's export root."""

    format: ExportFormat = "webdataset"
    dest: Name | None = Field(None, description="Folder relative to the export root.")
    where: str | None = Field(None, max_length=MAX_WHERE)
    query: SearchRequest | None = Field(None, description="Its k is the subset size.")
    ids: list[Name] | None = Field(None, max_length=100_000)
    filters: Filters = Field(default_factory=Filters)
    limit: int | None = Field(None, ge=1)
    shard_size: int = Field(10_000, ge=1)
    overwrite: bool = False


class ExportJob(BaseModel):
    job_id: str
    status: Literal["queued", "running", "done", "failed"]
    format: ExportFormat
    dest: str
    done: int = 0
    total: int = 0
    attempts: int = 0  # above 1: a restart took up a job its earlier server left unfinished
    report: dict[str, Any] | None = None
    error: ErrorBody | None = None


class RestoreRequest(BaseModel):
    run: str = Field(description="The curate run whose drops are undone.")


class RestoreResponse(BaseModel):
    run_id: str = Field(description="The restore run.")
    undone: str
    restored: int
    already_present: int
    by_reason: dict[str, int]
    reverted: int = Field(0, description="Samples put back to the version the run replaced.")
