"""Export a subset under the export root (needs the API key); poll the job."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from plait.errors import ConfigError, SecurityError
from plait.retrieval.cards import build_where
from plait.server import models
from plait.server.search import to_query
from plait.server.state import CorpusDep, SearchDep, State, WriteKey

router = APIRouter(prefix="/api/corpora/{name}", tags=["export"])


def confine(root: Path, dest: str) -> Path:
    """``dest`` under ``root``; anything reaching outside (``..``, absolute, symlink) is 403.
    A name no file system takes (NUL or other control characters, a part over 255 bytes)
    is a 422."""
    if any(ord(c) < 32 or c == "\x7f" for c in dest):
        raise ConfigError(f"export destination {dest!r} contains a control character")
    if any(len(part.encode()) > 255 for part in dest.replace("\\", "/").split("/")):
        raise ConfigError("export destination has a path part over 255 bytes")
    try:
        target = (root / dest).resolve()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"export destination {dest!r} is not a usable path: {exc}") from exc
    if target == root or not target.is_relative_to(root):
        raise SecurityError(f"export destination {dest!r} is outside the export root")
    return target


@router.post("/export", response_model=models.ExportJob, status_code=202, dependencies=[WriteKey])
def start_export(
    name: str, corpus: CorpusDep, searcher: SearchDep, state: State, req: models.ExportRequest
) -> dict:
    """Start an export job; poll ``GET /exports/{job_id}`` for progress and the count.
    Jobs are kept on disk: a server restarted with the same export root finishes them."""
    s = state.settings
    dest_name = req.dest or f"{name}-{req.format}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    dest = confine(s.export_root, dest_name)
    kwargs: dict[str, Any] = {
        "limit": req.limit,
        "shard_size": req.shard_size,
        "overwrite": req.overwrite,
    }
    if sum(x is not None for x in (req.where, req.query, req.ids)) > 1:
        raise ConfigError("choose the subset by one of where, query or ids")
    if req.query is not None:
        if req.query.k > s.max_export_query:
            raise ConfigError(
                f"query k={req.query.k} is above the export limit of {s.max_export_query}"
            )
        q = req.query.model_copy(update={"filters": _merge(req.query.filters, req.filters)})
        kwargs["ids"] = [h.sample_id for h in searcher(to_query(q, q.k))]
    elif req.ids is not None:
        kwargs["ids"] = req.ids
    else:
        build_where(req.where, req.filters)  # a bad filter is a 422 now, not a failed job
        # the job file holds the request (JSON); the runner builds the filter from it
        kwargs["where"] = {"text": req.where, "filters": req.filters.model_dump()}
    if dest.is_dir() and any(dest.iterdir()) and not req.overwrite:
        raise ConfigError(f"export destination {dest_name!r} is not empty (set overwrite)")

    job = state.jobs.submit(name, req.format, str(dest.relative_to(s.export_root)), kwargs)
    return job.to_dict()


def _merge(a: models.Filters, b: models.Filters) -> models.Filters:
    return models.Filters(
        langs=a.langs + b.langs,
        licences=a.licences + b.licences,
        sources=a.sources + b.sources,
        kinds=a.kinds + b.kinds,
        stats={**a.stats, **b.stats},
    )


@router.get("/exports/{job_id}", response_model=models.ExportJob)
def export_status(corpus: CorpusDep, state: State, job_id: str) -> dict:
    """Progress (``done`` of ``total`` samples) and, when done, the report with the count."""
    return state.jobs.get(job_id).to_dict()
