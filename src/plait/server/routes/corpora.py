"""Read-only corpus views: the list of corpora, stats, runs, rejected samples."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from plait.errors import ConfigError
from plait.io.corpus import sql_str
from plait.retrieval.cards import summary
from plait.server import models
from plait.server.lineage import run_out
from plait.server.state import CorpusDep, State
from plait.server.stats import corpus_stats

router = APIRouter(prefix="/api", tags=["corpora"])


@router.get("/corpora", response_model=models.CorporaResponse)
def list_corpora(state: State) -> dict:
    """The corpora this server serves; the first is the default."""
    items = [
        {
            "name": name,
            "samples": c.count("samples"),
            "rejected": c.count("rejected"),
            "encoders": c.embedding_tables(),
        }
        for name, c in state.corpora.items()
    ]
    s = state.settings
    return {
        "default": s.default,
        "corpora": items,
        "writes_enabled": bool(s.api_key),
        "max_page": s.max_page,
        "max_upload_bytes": s.max_upload_bytes,
    }


@router.get("/corpora/{name}/stats", response_model=models.Stats)
def stats(name: str, corpus: CorpusDep, state: State) -> dict:
    """Counts by kind, source, licence and language; quarantine and drop reasons
    (cached for a few seconds; the server's own writes refresh them)."""
    return state.stats.get(name, lambda: corpus_stats(corpus))


def check_page(state: State, limit: int) -> None:
    if limit > state.settings.max_page:
        raise ConfigError(f"limit={limit} is above the page limit of {state.settings.max_page}")


@router.get("/corpora/{name}/runs", response_model=models.RunsPage)
def runs(
    corpus: CorpusDep,
    state: State,
    command: str | None = None,
    limit: Annotated[int, Query(ge=1)] = 50,
) -> dict:
    """Command runs, newest first."""
    check_page(state, limit)
    from plait.io.processes import with_status

    rows = with_status(
        corpus.read("runs", where=f"command = {sql_str(command)}" if command else None).to_pylist()
    )
    rows.sort(key=lambda r: str(r["started_at"]), reverse=True)
    return {"items": [run_out(r) for r in rows[:limit]], "total": len(rows)}


@router.get("/corpora/{name}/rejected", response_model=models.RejectedPage)
def rejected(
    corpus: CorpusDep,
    state: State,
    op: str | None = None,
    reason: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1)] = 50,
) -> dict:
    """Samples operators dropped, with the operator, reason and run; paged."""
    check_page(state, limit)
    conds = [f"op = {sql_str(op)}" if op else "", f"reason = {sql_str(reason)}" if reason else ""]
    where = " AND ".join(c for c in conds if c) or None
    ds = corpus.dataset("rejected")
    if ds is None:
        return {"items": [], "total": 0, "offset": offset, "limit": limit}
    total = ds.count_rows(filter=where)
    tbl = ds.to_table(filter=where, offset=offset, limit=limit)
    from plait.schema import SAMPLES, Sample

    items = []
    for r in tbl.to_pylist():
        s = summary(Sample.from_row({k: r.get(k) for k in SAMPLES.names}))
        items.append(
            {
                "id": r["id"],
                "kind": r["kind"],
                "caption": s["caption"],
                "image": s["image"],
                "dataset": s["dataset"],
                "op": r["op"] or "",
                "reason": r["reason"] or "",
                "run_id": r["rejected_by"],
                "at": r["rejected_at"],
            }
        )
    return {"items": items, "total": total, "offset": offset, "limit": limit}
