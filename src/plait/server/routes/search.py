"""Search: a JSON body for text, like, where and filters; multipart for an image
(alone, or with text: a composed query). Both return the same hits."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import ValidationError

from plait.errors import ConfigError, PayloadTooLargeError
from plait.io.corpus import Corpus
from plait.server import models
from plait.server.search import run_search
from plait.server.state import AppState, CorpusDep, CorpusSearch, SearchDep, State

router = APIRouter(prefix="/api/corpora/{name}", tags=["search"])
# A decoded query image is shrunk to this side before it leaves its decode slot: every
# image encoder reads a few hundred pixels a side, and 1024 px RGB is 3 MB, not 48.
QUERY_SIDE = 1024


def answer(
    name: str,
    corpus: Corpus,
    searcher: CorpusSearch,
    state: AppState,
    req: models.SearchRequest,
    image: bytes | None,
) -> dict:
    """The search's answer, from the cache when the same request met the same table
    versions before (:mod:`plait.server.query_cache`)."""
    s = state.settings
    t0 = time.perf_counter()
    digest = hashlib.sha256(image).hexdigest() if image is not None else None
    key = (name, searcher.versions(), req.model_dump_json(), digest)

    def compute() -> dict:
        if image is None:
            return run_search(corpus, req, None, s.max_page, s.max_offset, searcher)
        from plait.io.media import open_image

        with state.decode_slots:  # bounds the memory that full-size decoded images hold
            pixels = open_image(image, max_pixels=s.max_query_pixels)
            pixels.thumbnail((QUERY_SIDE, QUERY_SIDE))
        # searched outside the slot: holding it through the search let two image queries
        # run at once, so the encoder's batches never held more than two
        return run_search(corpus, req, pixels, s.max_page, s.max_offset, searcher)

    out = state.answers.get_or_compute(key, compute)
    return {**out, "took_ms": (time.perf_counter() - t0) * 1000}


@router.post("/search", response_model=models.SearchResponse)
def search(
    name: str, corpus: CorpusDep, searcher: SearchDep, state: State, req: models.SearchRequest
) -> dict:
    """Text, more-like-this (``like``), ``where``, filters, hybrid, BM25, adaptive top-k."""
    return answer(name, corpus, searcher, state, req, None)


@router.post("/search/image", response_model=models.SearchResponse)
async def search_image(
    name: str,
    corpus: CorpusDep,
    searcher: SearchDep,
    state: State,
    image: Annotated[UploadFile, File(description="The query image.")],
    query: Annotated[
        str,
        Form(description="A SearchRequest as JSON (text makes it composed).", max_length=65536),
    ] = "{}",
) -> dict:
    """An uploaded image, optionally with text and every other SearchRequest field.

    The image's pixel count is read from its header before anything is decoded (413
    over ``max_query_pixels``); bytes that are not a whole image are a 400."""
    s = state.settings
    data = await image.read(s.max_upload_bytes + 1)
    if len(data) > s.max_upload_bytes:
        raise PayloadTooLargeError(
            f"the image is over the upload limit of {s.max_upload_bytes} bytes"
        )
    if not data:
        raise ConfigError("the uploaded image is empty")
    try:
        req = models.SearchRequest.model_validate(json.loads(query or "{}"))
    except (ValueError, ValidationError) as exc:
        raise ConfigError(f"bad query field: {exc}") from exc
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(answer, name, corpus, searcher, state, req, data)
