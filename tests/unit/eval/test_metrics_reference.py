"""Every metric against trec_eval (pytrec_eval) and ranx on random runs with ties.

Runs use few distinct scores, so ties are common; grades include 0 and negative
values (against ranx; pytrec_eval 0.5 can hang on negative grades once a few
evaluators have run, so they are checked against fixed pytrec_eval numbers); some
queries have no relevant document and some run queries have no qrels at all.
pytrec_eval is the reference. ranx breaks ties by insertion
order, not by docid, so it is fed the same run re-scored by trec_eval's order
(``-rank``), which makes the comparison about the metric formulas alone.
"""

from __future__ import annotations

import math
import os
import warnings

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plait.eval.metrics import evaluate, ranked, trec_measure

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # ranx's numba kernels: 2 shared cores here
pytrec_eval = pytest.importorskip("pytrec_eval")
ranx = pytest.importorskip("ranx")

CUTS = (1, 2, 3, 5, 10)
TREC_METRICS = (
    [f"recall@{k}" for k in CUTS]
    + [f"success@{k}" for k in (1, 5, 10)]
    + [f"precision@{k}" for k in CUTS]
    + [f"ndcg@{k}" for k in CUTS]
    + [f"map@{k}" for k in CUTS]
    + ["mrr", "ndcg", "map"]
)
RANX_METRICS = {  # plait name -> ranx name (ranx "ndcg" is the linear-gain, trec_eval one)
    **{f"recall@{k}": f"recall@{k}" for k in CUTS},
    **{f"success@{k}": f"hit_rate@{k}" for k in CUTS},
    **{f"precision@{k}": f"precision@{k}" for k in CUTS},
    **{f"ndcg@{k}": f"ndcg@{k}" for k in CUTS},
    **{f"mrr@{k}": f"mrr@{k}" for k in CUTS},
    "mrr": "mrr",
    "map": "map",
}

DOCS = [f"d{i}" for i in range(12)] + ["D1", "a", "zz", "d10b"]


@st.composite
def run_and_qrels(draw, min_grade: int = 0):
    n_q = draw(st.integers(1, 6))
    run, qrels = {}, {}
    for i in range(n_q):
        qid = f"q{i}"
        docs = draw(st.lists(st.sampled_from(DOCS), min_size=0, max_size=12, unique=True))
        # few distinct scores -> many ties
        scores = draw(
            st.lists(
                st.sampled_from([0.0, 0.5, 1.0, -2.0, 3.25]), min_size=len(docs), max_size=len(docs)
            )
        )
        if docs or draw(st.booleans()):
            run[qid] = dict(zip(docs, scores))
        if draw(st.integers(0, 9)) > 0:  # some run queries have no qrels
            judged = draw(st.lists(st.sampled_from(DOCS), min_size=1, max_size=8, unique=True))
            grades = draw(
                st.lists(st.integers(min_grade, 3), min_size=len(judged), max_size=len(judged))
            )
            qrels[qid] = dict(zip(judged, grades))
    return run, qrels


def _trec(run, qrels, metrics, level=1):
    measures = {trec_measure(m) for m in metrics}
    grouped: dict[str, set[str]] = {}
    for m in measures:
        base, _, cut = m.rpartition("_") if m[-1].isdigit() else (m, "", "")
        grouped.setdefault(base, set()).add(cut)
    # cutoffs must be ascending: trec_eval walks them in order (and loops on "1,10,2")
    spec = {
        b if not cuts - {""} else f"{b}.{','.join(sorted(cuts - {''}, key=int))}"
        for b, cuts in grouped.items()
    }
    return pytrec_eval.RelevanceEvaluator(qrels, spec, relevance_level=level).evaluate(run)


@settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=run_and_qrels(), level=st.sampled_from([1, 2]))
def test_every_metric_matches_trec_eval(data, level):
    run, qrels = data
    ours = evaluate(run, qrels, TREC_METRICS, relevance_level=level)
    ref = _trec(run, qrels, TREC_METRICS, level)
    assert set(ours.per_query) == set(ref)  # same queries evaluated
    for qid, vals in ref.items():
        for m in TREC_METRICS:
            assert math.isclose(ours.per_query[qid][m], vals[trec_measure(m)], abs_tol=1e-9), (
                qid,
                m,
            )


def _ranx_eval(run, qrels, metrics):
    # ranx needs every query on both sides and at least one document per run query
    qids = [q for q in run if q in qrels and run[q]]
    if not qids:
        return qids, {}
    by_trec = {q: {d: -float(r) for r, d in enumerate(ranked(run[q]))} for q in qids}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = ranx.evaluate(
            ranx.Qrels({q: dict(qrels[q]) for q in qids}),
            ranx.Run(by_trec),
            [RANX_METRICS[m] for m in metrics],
            return_mean=False,
            make_comparable=True,
        )
    if len(metrics) == 1:
        scores = {RANX_METRICS[metrics[0]]: scores}
    return qids, scores


@settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(data=run_and_qrels(min_grade=-1))
def test_every_metric_matches_ranx_on_trec_order(data):
    run, qrels = data
    metrics = list(RANX_METRICS)
    qids, ref = _ranx_eval(run, qrels, metrics)
    if not qids:
        return
    ours = evaluate({q: run[q] for q in qids}, qrels, metrics)
    for m in metrics:
        for i, q in enumerate(qids):
            assert math.isclose(
                ours.per_query[q][m], float(ref[RANX_METRICS[m]][i]), abs_tol=1e-9
            ), (q, m)


def test_ties_break_by_docid_descending_like_trec_eval():
    run = {"q": {"a": 1.0, "b": 1.0, "c": 1.0, "d": 2.0}}
    qrels = {"q": {"a": 1, "b": 1, "c": 0}}
    assert ranked(run["q"]) == ["d", "c", "b", "a"]
    ours = evaluate(run, qrels, ["mrr"])
    assert ours.mean["mrr"] == pytest.approx(1 / 3)
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run)
    assert ref["q"]["recip_rank"] == pytest.approx(1 / 3)


def test_ranx_breaks_ties_by_insertion_order_the_documented_difference():
    qrels = {"q": {"a": 1, "c": 0}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = ranx.evaluate(ranx.Qrels(qrels), ranx.Run({"q": {"a": 1.0, "c": 1.0}}), "mrr")
        last = ranx.evaluate(ranx.Qrels(qrels), ranx.Run({"q": {"c": 1.0, "a": 1.0}}), "mrr")
    assert (first, last) == (1.0, 0.5)
    for order in ({"a": 1.0, "c": 1.0}, {"c": 1.0, "a": 1.0}):  # trec_eval: "c" > "a", always first
        assert evaluate({"q": order}, qrels, ["mrr"]).mean["mrr"] == 0.5


def test_negative_grades_gain_nothing_in_ndcg_like_trec_eval():
    # reference values printed by pytrec_eval 0.5 (trec_eval 9.0.8) for these inputs
    qrels = {"q": {"a": -1, "b": 2, "c": -2, "e": 1}}
    run = {"q": {"a": 3.0, "b": 2.0, "x": 1.5, "c": 1.0, "e": 0.5}}
    ours = evaluate(run, qrels, ["ndcg@1", "ndcg@2", "ndcg@5", "ndcg"]).mean
    assert ours["ndcg@1"] == 0.0
    assert math.isclose(ours["ndcg@2"], 0.4796249331362629, abs_tol=1e-12)
    assert math.isclose(ours["ndcg@5"], 0.626665273802673, abs_tol=1e-12)
    assert math.isclose(ours["ndcg"], 0.626665273802673, abs_tol=1e-12)
