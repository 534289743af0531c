"""Search: a JSON body for text, like, where and filters; multipart for an image
(alone, or with text: a composed query). Both return the same hits."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import ValidationError

from plait.errors import ConfigError, PayloadTooLargeError
from plait.server import models
from plait.server.search import run_search
from plait.server.state import CorpusDep, SearchDep, State

router = APIRouter(prefix="/api/corpora/{name}", tags=["search"])


@router.post("/search", response_model=models.SearchResponse)
def search(corpus: CorpusDep, searcher: SearchDep, state: State, req: models.SearchRequest) -> dict:
    """Text, more-like-this (``like``), ``where``, filters, hybrid, BM25, adaptive top-k."""
    s = state.settings
    return run_search(corpus, req, None, s.max_page, s.max_offset, searcher)


@router.post("/search/image", response_model=models.SearchResponse)
async def search_image(
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

    def decode_and_search() -> dict:
        from plait.io.media import open_image

        with state.decode_slots:  # bounds the memory that decoded query images hold
            pixels = open_image(data, max_pixels=s.max_query_pixels)
            return run_search(corpus, req, pixels, s.max_page, s.max_offset, searcher)

    return await run_in_threadpool(decode_and_search)
