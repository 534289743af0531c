"""A typed Python client for ``plait serve``, mirroring the HTTP API one method per route.

Responses parse into the server's own pydantic models (:mod:`plait.server.models`),
and error bodies turn back into the same :mod:`plait.errors` classes the server
raised, so ``except NotFoundError`` works across the wire.

>>> from plait.client import PlaitClient
>>> with PlaitClient("http://127.0.0.1:8765") as c:  # doctest: +SKIP
...     hits = c.search("a dog on a beach", k=5).hits
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from plait import errors as plait_errors
from plait._deps import require
from plait.errors import ApiError, PlaitError, UnknownNameError
from plait.server import models

_SIMPLE_INIT = (plait_errors.InputError, plait_errors.MissingDependencyError, UnknownNameError)


def _raise_for(response: Any) -> None:
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = {"error": "HTTPError", "message": response.text[:500]}
    name, msg = str(body.get("error", "HTTPError")), str(body.get("message", ""))
    if name == "UnknownNameError":
        raise UnknownNameError(
            body.get("kind") or "name", body.get("name") or "", body.get("valid") or []
        )
    cls = getattr(plait_errors, name, None)
    if isinstance(cls, type) and issubclass(cls, PlaitError) and not issubclass(cls, _SIMPLE_INIT):
        exc = cls(msg)
        exc.body = body  # type: ignore[attr-defined]  # the server's JSON, for callers who want it
        raise exc
    raise ApiError(response.status_code, name, msg, body)


class PlaitClient:
    """``corpus`` None uses the server's default corpus; ``api_key`` is needed for writes."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:8765",
        *,
        corpus: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        transport: Any = None,
    ) -> None:
        httpx = require("httpx", "fetch", "plait.client")
        headers = {"X-API-Key": api_key} if api_key else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport
        )
        self._corpus = corpus

    # -- plumbing ----------------------------------------------------------------------------
    def __enter__(self) -> PlaitClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def corpus(self) -> str:
        if self._corpus is None:
            self._corpus = self.corpora().default
        return self._corpus

    def _url(self, path: str) -> str:
        return f"/api/corpora/{self.corpus}{path}"

    def _get(self, path: str, **params: Any) -> Any:
        r = self._http.get(path, params={k: v for k, v in params.items() if v is not None})
        _raise_for(r)
        return r

    def _post(self, path: str, **kw: Any) -> Any:
        r = self._http.post(path, **kw)
        _raise_for(r)
        return r

    # -- reads -------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return self._get("/api/health").json()

    def corpora(self) -> models.CorporaResponse:
        return models.CorporaResponse.model_validate(self._get("/api/corpora").json())

    def stats(self) -> models.Stats:
        return models.Stats.model_validate(self._get(self._url("/stats")).json())

    def runs(self, command: str | None = None, limit: int = 50) -> models.RunsPage:
        return models.RunsPage.model_validate(
            self._get(self._url("/runs"), command=command, limit=limit).json()
        )

    def rejected(
        self, op: str | None = None, reason: str | None = None, offset: int = 0, limit: int = 50
    ) -> models.RejectedPage:
        r = self._get(self._url("/rejected"), op=op, reason=reason, offset=offset, limit=limit)
        return models.RejectedPage.model_validate(r.json())

    def samples(
        self,
        where: str | None = None,
        *,
        lang: list[str] | None = None,
        licence: list[str] | None = None,
        source: list[str] | None = None,
        kind: list[str] | None = None,
        offset: int = 0,
        limit: int = 24,
    ) -> models.SamplePage:
        r = self._get(
            self._url("/samples"),
            where=where,
            lang=lang,
            licence=licence,
            source=source,
            kind=kind,
            offset=offset,
            limit=limit,
        )
        return models.SamplePage.model_validate(r.json())

    def sample(self, sample_id: str) -> models.SampleDetail:
        return models.SampleDetail.model_validate(
            self._get(self._url(f"/samples/{sample_id}")).json()
        )

    def media(self, media_id: str, size: int | None = None) -> bytes:
        return self._get(self._url(f"/media/{media_id}"), size=size).content

    def search(
        self, text: str | None = None, *, image: bytes | str | Path | None = None, **fields: Any
    ) -> models.SearchResponse:
        """Any query kind: ``text``, ``image`` (bytes or a path), ``like``, ``where``,
        ``modality``, ``kind``, ``k``, ``offset``, ``encoder``, ``hybrid``, ``adaptive``,
        ``rollup``, ``filters`` (dict or :class:`models.Filters`), ``min_score``, ``max_score``."""
        req = models.SearchRequest(text=text, **fields)
        body = req.model_dump(mode="json")
        if image is None:
            r = self._post(self._url("/search"), json=body)
        else:
            data = image if isinstance(image, bytes) else Path(image).read_bytes()
            r = self._post(
                self._url("/search/image"),
                files={"image": ("query", data)},
                data={"query": json.dumps(body)},
            )
        return models.SearchResponse.model_validate(r.json())

    # -- writes (API key) --------------------------------------------------------------------
    def export(
        self,
        fmt: str = "webdataset",
        dest: str | None = None,
        *,
        wait: bool = True,
        poll: float = 0.2,
        timeout: float | None = None,
        **fields: Any,
    ) -> models.ExportJob:
        """Start an export (``where``, ``query``, ``ids``, ``filters``, ``limit``,
        ``shard_size``, ``overwrite``); with ``wait`` poll until it is done or failed."""
        req = models.ExportRequest.model_validate({"format": fmt, "dest": dest, **fields})
        job = models.ExportJob.model_validate(
            self._post(
                self._url("/export"), json=req.model_dump(mode="json", exclude_none=True)
            ).json()
        )
        deadline = None if timeout is None else time.monotonic() + timeout
        while wait and job.status in ("queued", "running"):
            if deadline is not None and time.monotonic() > deadline:
                break
            time.sleep(poll)
            job = self.export_status(job.job_id)
        return job

    def export_status(self, job_id: str) -> models.ExportJob:
        return models.ExportJob.model_validate(self._get(self._url(f"/exports/{job_id}")).json())

    def restore(self, run: str) -> models.RestoreResponse:
        """Undo the drops of the curate run ``run``."""
        r = self._post(self._url("/restore"), json={"run": run})
        return models.RestoreResponse.model_validate(r.json())
