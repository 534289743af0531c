"""Samples and media: a paged listing with filters, one sample with its lineage,
media bytes (or a thumbnail), and restoring dropped samples (needs the key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from plait.export.select import checked_count
from plait.io.where import to_sql
from plait.retrieval.cards import build_where, play_info, summary
from plait.schema import Sample
from plait.server import models
from plait.server.lineage import sample_detail
from plait.server.media_ranges import is_timed, timed_response
from plait.server.routes.corpora import check_page
from plait.server.state import CorpusDep, State, WriteKey, make_thumb

router = APIRouter(prefix="/api/corpora/{name}", tags=["samples"])

MEDIA_ID = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="sha256 of the bytes.")]

# Media is user data: never let a served SVG run script or be sniffed as HTML.
MEDIA_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
}


@router.get("/samples", response_model=models.SamplePage)
def list_samples(
    corpus: CorpusDep,
    state: State,
    where: Annotated[str | None, Query(max_length=models.MAX_WHERE)] = None,
    lang: Annotated[list[str] | None, Query()] = None,
    licence: Annotated[list[str] | None, Query()] = None,
    source: Annotated[list[str] | None, Query()] = None,
    kind: Annotated[list[str] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1)] = 24,
) -> dict:
    """Browse samples in storage order, filtered like a search (no ranking)."""
    check_page(state, limit)
    filters = models.Filters(
        langs=lang or [], licences=licence or [], sources=source or [], kinds=kind or []
    )
    clause = to_sql(build_where(where, filters))
    total = checked_count(corpus, "samples", clause)
    ds = corpus.dataset("samples")
    rows = [] if ds is None else ds.to_table(filter=clause, offset=offset, limit=limit).to_pylist()
    shown = [Sample.from_row(r) for r in rows]
    play = play_info(corpus, shown)
    items = [{**summary(s), "play": play.get(s.id)} for s in shown]
    return {"items": items, "total": total, "offset": offset, "limit": limit}


@router.get("/samples/{sample_id:path}", response_model=models.SampleDetail)
def get_sample(name: str, corpus: CorpusDep, state: State, sample_id: str) -> dict:
    """One sample, present or dropped: slots, source, meta, stats and lineage."""
    return sample_detail(corpus, sample_id, state.lineage[name])


@router.get(
    "/media/{media_id}", response_class=Response, responses={200: {"content": {"image/*": {}}}}
)
def media(
    corpus: CorpusDep,
    state: State,
    request: Request,
    media_id: MEDIA_ID,
    size: Annotated[int | None, Query(ge=16, le=1024)] = None,
) -> Response:
    """The media bytes with their content type; ``size`` gives a JPEG thumbnail. Video and
    sound answer ``Range`` requests (206), so players can seek (``plait.server.media_ranges``)."""
    info = corpus.media_info(media_id)
    mime = info.get("mime") or "application/octet-stream"
    headers = {**MEDIA_HEADERS, "ETag": f'"{media_id}{"-" + str(size) if size else ""}"'}
    if is_timed(mime):
        return timed_response(corpus, media_id, info, request.headers.get("range"), headers)
    if size and mime.startswith("image/") and mime != "image/svg+xml":
        thumb = state.thumbs.get((media_id, size))
        if thumb is None:
            thumb = make_thumb(corpus.media_bytes(media_id), size)
            state.thumbs.put((media_id, size), thumb)
        return Response(thumb, media_type="image/jpeg", headers=headers)
    return Response(corpus.media_bytes(media_id), media_type=mime, headers=headers)


@router.post("/restore", response_model=models.RestoreResponse, dependencies=[WriteKey])
def restore_samples(corpus: CorpusDep, state: State, req: models.RestoreRequest) -> dict:
    """Undo one run: its dropped samples come back, the samples it changed get their earlier
    version back (needs the API key; 422 while a later run changed the same samples)."""
    from plait.lineage import restore

    with state.write_lock:
        report = restore(corpus, req.run)
    state.written()
    return dict(report.__dict__)
