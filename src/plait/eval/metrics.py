"""Retrieval metrics that give trec_eval's numbers, to the last bit that matters.

Runs and qrels are plain dicts: ``run = {qid: {docid: score}}`` and
``qrels = {qid: {docid: grade}}``. The conventions are trec_eval's (9.0.x, the
code inside ``pytrec_eval``), because papers disagree and only one reference
can be trusted:

- Ranking: documents are sorted by score descending, and ties by docid
  *descending* (byte order of the UTF-8 string, i.e. ``strcmp`` reversed). The
  rank column of a run file is ignored. ``ranx`` breaks ties by dict insertion
  order instead, so the two disagree on tied scores; :func:`ranked` gives the
  trec_eval order explicitly.
- Relevance: a document is relevant when its grade is ``>= relevance_level``
  (default 1); grade 0, negative grades and unjudged documents are not.
- Gains (nDCG): the grade itself (linear gain, not ``2**g - 1``), negative grades
  count as 0, discount ``1 / log2(rank + 1)``; the ideal ranking holds every
  judged document of the query sorted by grade, cut at the same k.
- Queries: a run query absent from the qrels is skipped; a qrels query with no
  relevant document scores 0 on every metric; a qrels query absent from the run
  is skipped when averaging unless ``complete=True`` (trec_eval ``-c``), which
  counts it as 0.

Metric names: ``recall@k`` (relevant retrieved in the top k / all relevant: TREC
``recall_k``), ``success@k`` (1 if any relevant in the top k: TREC ``success_k``;
what M-BEIR and most image-text papers call "Recall@k"), ``precision@k``
(TREC ``P_k``, divides by k even when fewer were retrieved), ``mrr`` / ``mrr@k``
(reciprocal rank of the first relevant, 0 beyond the cutoff), ``ndcg`` /
``ndcg@k`` (TREC ``ndcg`` / ``ndcg_cut_k``), ``map`` / ``map@k`` (TREC ``map``
/ ``map_cut_k``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from plait.errors import ConfigError

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]

DEFAULT_METRICS = (
    "recall@1", "recall@5", "recall@10",
    "success@1", "success@5", "success@10",
    "mrr", "ndcg@10", "map",
)  # fmt: skip
_FAMILIES = ("recall", "success", "precision", "mrr", "ndcg", "map")
_CUT_REQUIRED = ("recall", "success", "precision")
_NAME = re.compile(r"^([a-z]+)(?:@(\d+))?$")


def parse_metric(name: str) -> tuple[str, int | None]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``; ConfigError for anything else."""
    m = _NAME.match(name.strip().lower())
    if not m or m.group(1) not in _FAMILIES:
        raise ConfigError(
            f"unknown metric {name!r}; use one of {', '.join(_FAMILIES)} with an optional @k"
        )
    family, k = m.group(1), (int(m.group(2)) if m.group(2) else None)
    if k is None and family in _CUT_REQUIRED:
        raise ConfigError(f"metric {name!r} needs a cutoff, e.g. {family}@10")
    if k is not None and k < 1:
        raise ConfigError(f"metric {name!r}: the cutoff must be at least 1")
    return family, k


def ranked(scores: Mapping[str, float]) -> list[str]:
    """Docids in trec_eval order: score descending, then docid descending."""
    for doc, s in scores.items():
        if not isinstance(s, (int, float)) or math.isnan(s):
            raise ConfigError(f"document {doc!r} has a score that is not a number: {s!r}")
    return [d for d, _ in sorted(scores.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)]


@dataclass
class Judged:
    """A run joined with its qrels: one row per query, one column per rank.

    ``grades[i, r]`` is the grade of the document at rank ``r`` (``-inf`` for
    unjudged documents and past the end of the list, marked by ``length``); ``ideal[i]``
    holds the query's positive grades, best first, for nDCG's ideal ranking.
    """

    qids: list[str]
    grades: np.ndarray  # (Q, D) float64
    length: np.ndarray  # (Q,) int: documents retrieved
    num_rel: np.ndarray  # (Q,) int: relevant documents in the qrels
    ideal: np.ndarray  # (Q, R) float64, descending, zero-padded

    @classmethod
    def build(
        cls, run: Run, qrels: Qrels, relevance_level: int = 1, qids: Iterable[str] | None = None
    ) -> Judged:
        qids = list(qids) if qids is not None else [q for q in run if q in qrels]
        lists = [ranked(run.get(q, {})) for q in qids]
        depth = max((len(x) for x in lists), default=0)
        # unjudged documents and padding: -inf, never relevant at any level, gain 0
        grades = np.full((len(qids), max(depth, 1)), -np.inf, dtype=np.float64)
        length = np.array([len(x) for x in lists], dtype=np.int64)
        num_rel = np.zeros(len(qids), dtype=np.int64)
        pos = [
            sorted((float(g) for g in qrels.get(q, {}).values() if g > 0), reverse=True)
            for q in qids
        ]
        ideal = np.zeros((len(qids), max((len(p) for p in pos), default=0) or 1), dtype=np.float64)
        for i, (q, docs) in enumerate(zip(qids, lists)):
            judged = qrels.get(q, {})
            grades[i, : len(docs)] = [judged.get(d, -np.inf) for d in docs]
            num_rel[i] = sum(1 for g in judged.values() if g >= relevance_level)
            ideal[i, : len(pos[i])] = pos[i]
        return cls(qids, grades, length, num_rel, ideal)


@dataclass
class Evaluation:
    """Per-query scores and their means (over ``num_queries`` queries)."""

    metrics: list[str]
    per_query: dict[str, dict[str, float]]
    mean: dict[str, float]
    num_queries: int
    relevance_level: int = 1
    complete: bool = False
    missing: list[str] = field(default_factory=list)  # qrels queries with no run

    def to_dict(self) -> dict[str, object]:
        return {
            "metrics": self.mean,
            "num_queries": self.num_queries,
            "relevance_level": self.relevance_level,
            "complete": self.complete,
            "missing_queries": len(self.missing),
            "per_query": self.per_query,
        }


def compute(judged: Judged, metric: str, relevance_level: int = 1) -> np.ndarray:
    """One metric for every query of ``judged``, as a (Q,) float64 array."""
    family, k = parse_metric(metric)
    q, depth = judged.grades.shape
    ranks = np.arange(1, depth + 1, dtype=np.float64)
    inside = ranks[None, :] <= judged.length[:, None]
    if k is not None:
        inside &= ranks[None, :] <= k
    rel = (judged.grades >= relevance_level) & inside
    n_rel = judged.num_rel.astype(np.float64)
    safe = np.where(n_rel > 0, n_rel, 1.0)
    if family == "recall":
        return np.where(n_rel > 0, rel.sum(1) / safe, 0.0)
    if family == "precision":
        assert k is not None  # parse_metric requires a cutoff for precision
        return np.asarray(rel.sum(1) / float(k), np.float64)
    if family == "success":
        return np.asarray(rel.any(1), np.float64)
    if family == "mrr":
        first = np.where(rel.any(1), rel.argmax(1) + 1, 0)
        return np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0)
    if family == "map":
        prec = np.cumsum(rel, axis=1) / ranks[None, :]
        return np.where(n_rel > 0, (prec * rel).sum(1) / safe, 0.0)
    # ndcg
    disc = 1.0 / np.log2(ranks + 1.0)
    gains = np.where(inside, np.maximum(judged.grades, 0.0), 0.0)
    dcg = (gains * disc[None, :]).sum(1)
    cut = judged.ideal.shape[1] if k is None else min(k, judged.ideal.shape[1])
    ideal_disc = 1.0 / np.log2(np.arange(1, cut + 1, dtype=np.float64) + 1.0)
    idcg = (judged.ideal[:, :cut] * ideal_disc[None, :]).sum(1)
    return np.where(idcg > 0, dcg / np.where(idcg > 0, idcg, 1.0), 0.0)


def evaluate(
    run: Run,
    qrels: Qrels,
    metrics: Iterable[str] = DEFAULT_METRICS,
    *,
    relevance_level: int = 1,
    complete: bool = False,
) -> Evaluation:
    """Score ``run`` against ``qrels`` as trec_eval would (see the module docstring)."""
    names = list(dict.fromkeys(metrics))
    for name in names:
        parse_metric(name)
    missing = [q for q in qrels if q not in run]
    qids = [q for q in run if q in qrels] + (missing if complete else [])
    judged = Judged.build(run, qrels, relevance_level, qids)
    values = {m: compute(judged, m, relevance_level) for m in names}
    per_query = {q: {m: float(values[m][i]) for m in names} for i, q in enumerate(qids)}
    mean = {m: float(values[m].mean()) if len(qids) else 0.0 for m in names}
    return Evaluation(names, per_query, mean, len(qids), relevance_level, complete, missing)


def trec_measure(metric: str) -> str:
    """The trec_eval / pytrec_eval measure name of a plait metric (``ndcg@10`` -> ``ndcg_cut_10``)."""
    family, k = parse_metric(metric)
    table = {
        "recall": "recall",
        "success": "success",
        "precision": "P",
        "ndcg": "ndcg_cut",
        "map": "map_cut",
    }
    if family == "mrr":
        if k is not None:
            raise ConfigError("trec_eval has no cutoff for recip_rank")
        return "recip_rank"
    if k is None:
        return family  # ndcg, map
    return f"{table[family]}_{k}"
