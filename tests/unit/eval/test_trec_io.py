"""TREC run/qrels files: round trip, strict parsing with line numbers, and the CLI on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plait.errors import ConfigError, InputError
from plait.eval.api import eval_files
from plait.eval.metrics import evaluate
from plait.eval.trec import read_qrels, read_run, write_qrels, write_run


def test_round_trip_keeps_scores_and_writes_trec_order(tmp_path: Path) -> None:
    run = {"q1": {"a": 0.5, "b": 0.5, "c": 2.0}, "q2": {"x": -1.25}}
    qrels = {"q1": {"a": 1, "c": 0}, "q2": {"x": 2}}
    rp, qp = write_run(tmp_path / "r.run", run, tag="sys"), write_qrels(tmp_path / "q.qrels", qrels)
    lines = rp.read_text().splitlines()
    assert lines[:3] == ["q1 Q0 c 1 2.0 sys", "q1 Q0 b 2 0.5 sys", "q1 Q0 a 3 0.5 sys"]
    assert read_run(rp) == (run, "sys")
    assert read_qrels(qp) == qrels


def test_rank_column_is_ignored_like_trec_eval(tmp_path: Path) -> None:
    p = tmp_path / "r.run"
    p.write_text("q Q0 a 1 0.1 t\nq Q0 b 2 0.9 t\n")
    run, _ = read_run(p)
    assert evaluate(run, {"q": {"b": 1}}, ["mrr"]).mean["mrr"] == 1.0


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("q Q0 a 1 0.5 t\nq Q0 b 2 t\n", ":2: expected 6 fields"),
        ("q Q0 a 1 high t\n", ":1: rank"),
        ("q Q0 a 1 nan t\n", ":1: score is NaN"),
        ("\nq Q0 a 1 0.5 t\nq Q0 a 2 0.4 t\n", ":3: document 'a' appears twice"),
    ],
)
def test_malformed_run_lines_name_the_line(tmp_path: Path, text: str, needle: str) -> None:
    p = tmp_path / "bad.run"
    p.write_text(text)
    with pytest.raises(InputError, match=needle):
        read_run(p)


def test_malformed_qrels_lines_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "bad.qrels"
    p.write_text("q 0 a 1\nq 0 b yes\n")
    with pytest.raises(InputError, match=r"bad.qrels:2: relevance 'yes'"):
        read_qrels(p)
    p.write_text("q 0 a\n")
    with pytest.raises(InputError, match=":1: expected 4 fields"):
        read_qrels(p)


def test_missing_file_and_unwritable_ids_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        read_run(tmp_path / "nope.run")
    with pytest.raises(ConfigError, match="whitespace"):
        write_run(tmp_path / "x.run", {"q": {"a b": 1.0}})


def test_complete_counts_missing_queries_as_zero(tmp_path: Path) -> None:
    write_run(tmp_path / "r", {"q1": {"a": 1.0}})
    write_qrels(tmp_path / "q", {"q1": {"a": 1}, "q2": {"b": 1}})
    ev, tag = eval_files(tmp_path / "r", tmp_path / "q", ["success@1"])
    assert (ev.mean["success@1"], ev.num_queries, ev.missing, tag) == (1.0, 1, ["q2"], "plait")
    ev, _ = eval_files(tmp_path / "r", tmp_path / "q", ["success@1"], complete=True)
    assert (ev.mean["success@1"], ev.num_queries) == (0.5, 2)


def test_cli_scores_a_run_against_qrels_and_writes_json(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from plait.cli import app

    pytrec_eval = pytest.importorskip("pytrec_eval")
    run = {"q1": {"d3": 0.9, "d2": 0.9, "d1": 0.5}, "q2": {"d5": 0.8, "d4": 0.7}}
    qrels = {"q1": {"d1": 1, "d2": 2, "d3": 0}, "q2": {"d4": 1}}
    write_run(tmp_path / "sys.run", run, tag="mysys")
    write_qrels(tmp_path / "gold.qrels", qrels)
    out = tmp_path / "scores.json"
    res = CliRunner().invoke(
        app,
        [
            "eval",
            "--run",
            str(tmp_path / "sys.run"),
            "--qrels",
            str(tmp_path / "gold.qrels"),
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "mysys" in res.output and "nDCG@10" in res.output
    got = json.loads(out.read_text())["metrics"]
    ref = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "map", "recip_rank"}).evaluate(run)
    for ours, theirs in (("ndcg@10", "ndcg_cut_10"), ("map", "map"), ("mrr", "recip_rank")):
        assert got[ours] == pytest.approx(sum(v[theirs] for v in ref.values()) / 2, abs=1e-12)


def test_cli_needs_both_files(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from plait.cli import app

    res = CliRunner().invoke(app, ["eval", "--run", str(tmp_path / "x")])
    assert res.exit_code != 0
    assert isinstance(res.exception, ConfigError)
