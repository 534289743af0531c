"""Corpus rows by the key a benchmark names them with: a sample ``dataset/key`` is key
``key`` of ``dataset`` (what ``plait ingest`` writes). Binding a benchmark to a corpus
(:mod:`plait.eval.bind`, :mod:`plait.eval.av`) looks items up this way."""

from __future__ import annotations

from typing import Any

from plait.errors import ConfigError


def split_id(row: dict[str, Any]) -> tuple[str, str]:
    """(dataset, key) of a sample id ``dataset/key``."""
    ds = (row.get("source") or {}).get("dataset") or ""
    sid = row["id"]
    return (ds, sid[len(ds) + 1 :]) if ds and sid.startswith(ds + "/") else ("", sid)


def by_key(rows: list[dict[str, Any]], dataset: str | None) -> dict[str, list[dict[str, Any]]]:
    """Corpus rows by their key within ``dataset`` (every dataset when None)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        ds, key = split_id(r)
        if dataset is None or ds == dataset:
            out.setdefault(key, []).append(r)
    return out


def one(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    """The one row holding ``key``; several datasets holding it need ``dataset=``."""
    if len(rows) > 1:
        names = sorted(split_id(r)[0] for r in rows)
        raise ConfigError(
            f"{key!r} is in several datasets of the corpus ({', '.join(names)}); pass dataset="
        )
    return rows[0]
