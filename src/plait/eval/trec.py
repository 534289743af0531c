"""TREC run and qrels files, read strictly and written in the form trec_eval reads.

Run lines: ``qid Q0 docid rank score tag`` (six whitespace-separated fields; the
rank column is ignored on reading, as trec_eval ignores it: order comes from
the score). Qrels lines: ``qid iter docid rel`` (four fields, integer rel).
Blank lines are skipped. Any other line is a :class:`~plait.errors.InputError`
naming the file and line number, because a silently skipped line changes the
numbers; a document listed twice for one query is an error for the same reason
(trec_eval refuses it too). A missing file is a :class:`~plait.errors.ConfigError`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from pathlib import Path

from plait.errors import ConfigError, InputError
from plait.eval.metrics import ranked


def _lines(path: str | Path) -> Iterator[tuple[int, list[str]]]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{p}: no such file")
    with open(p, encoding="utf-8", errors="strict") as f:
        try:
            for n, line in enumerate(f, 1):
                if line.strip():
                    yield n, line.split()
        except UnicodeDecodeError as exc:
            raise InputError("bad_encoding", f"{p}: not valid UTF-8 ({exc})", str(p)) from exc


def _bad(path: str | Path, n: int, why: str) -> InputError:
    return InputError("malformed_line", f"{path}:{n}: {why}", f"{path}:{n}")


def read_run(path: str | Path) -> tuple[dict[str, dict[str, float]], str]:
    """``({qid: {docid: score}}, tag)`` from a TREC run file (tag of the first line)."""
    run: dict[str, dict[str, float]] = {}
    tag = ""
    for n, fields in _lines(path):
        if len(fields) != 6:
            raise _bad(
                path, n, f"expected 6 fields 'qid Q0 docid rank score tag', found {len(fields)}"
            )
        qid, _, doc, rank, score, this_tag = fields
        try:
            int(rank)
            value = float(score)
        except ValueError:
            raise _bad(
                path, n, f"rank {rank!r} must be an integer and score {score!r} a number"
            ) from None
        if math.isnan(value):
            raise _bad(path, n, "score is NaN")
        docs = run.setdefault(qid, {})
        if doc in docs:
            raise _bad(path, n, f"document {doc!r} appears twice for query {qid!r}")
        docs[doc] = value
        tag = tag or this_tag
    return run, tag


def read_qrels(path: str | Path) -> dict[str, dict[str, int]]:
    """``{qid: {docid: grade}}`` from a TREC qrels file."""
    qrels: dict[str, dict[str, int]] = {}
    for n, fields in _lines(path):
        if len(fields) != 4:
            raise _bad(path, n, f"expected 4 fields 'qid iter docid rel', found {len(fields)}")
        qid, _, doc, rel = fields
        try:
            grade = int(rel)
        except ValueError:
            raise _bad(path, n, f"relevance {rel!r} must be an integer") from None
        docs = qrels.setdefault(qid, {})
        if doc in docs:
            raise _bad(path, n, f"document {doc!r} is judged twice for query {qid!r}")
        docs[doc] = grade
    return qrels


def _check_token(value: str, what: str) -> None:
    if not value or any(ch.isspace() for ch in value):
        raise ConfigError(
            f"{what} {value!r} cannot be written to a TREC file (empty or has whitespace)"
        )


def write_run(path: str | Path, run: Mapping[str, Mapping[str, float]], tag: str = "plait") -> Path:
    """Write a run in trec_eval order with ranks 1..n; returns the path."""
    _check_token(tag, "run tag")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", encoding="utf-8") as f:
        for qid, docs in run.items():
            _check_token(qid, "query id")
            for rank, doc in enumerate(ranked(docs), 1):
                _check_token(doc, "document id")
                f.write(f"{qid} Q0 {doc} {rank} {float(docs[doc])!r} {tag}\n")
    return p


def write_qrels(path: str | Path, qrels: Mapping[str, Mapping[str, int]]) -> Path:
    """Write qrels as ``qid 0 docid rel`` lines; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", encoding="utf-8") as f:
        for qid, docs in qrels.items():
            _check_token(qid, "query id")
            for doc, grade in docs.items():
                _check_token(doc, "document id")
                f.write(f"{qid} 0 {doc} {int(grade)}\n")
    return p
