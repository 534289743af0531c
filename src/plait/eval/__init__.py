"""Retrieval evaluation: trec_eval-exact metrics, TREC files, benchmarks and the harness.

``from plait.eval import evaluate`` scores a ``{qid: {docid: score}}`` run
against ``{qid: {docid: grade}}`` qrels with trec_eval's conventions (see
:mod:`plait.eval.metrics`). Benchmark loaders live in
:mod:`plait.eval.benchmarks`, the corpus harness in :mod:`plait.eval.harness`.
"""

from __future__ import annotations

from plait.eval.metrics import DEFAULT_METRICS, Evaluation, evaluate, parse_metric, ranked

__all__ = ["DEFAULT_METRICS", "Evaluation", "evaluate", "parse_metric", "ranked"]
