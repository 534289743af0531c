"""A YAML recipe of registered operators through ``plait curate``, then audit and why."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "executors"))

import toy_corpus  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from plait.audit import audit  # noqa: E402
from plait.cli import app  # noqa: E402

RECIPE = """
- op: caption_length
  min_chars: 8
- op: word_count
  min_words: 3
- op: dedup_text
"""


def test_registered_ops_recipe_via_cli(tmp_path: Path) -> None:
    corpus = toy_corpus.text_corpus(tmp_path / "c", 300)
    recipe = tmp_path / "basic.yaml"
    recipe.write_text(RECIPE)
    runner = CliRunner()
    res = runner.invoke(app, ["curate", str(corpus.path), str(recipe), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "dedup_text" in res.output and not corpus.has("rejected")
    res = runner.invoke(
        app,
        [
            "curate",
            str(corpus.path),
            str(recipe),
            "--workers",
            "0",
            "--shard-size",
            "100",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    rejected = corpus.read("rejected").to_pylist()
    ops = {r["op"] for r in rejected}
    assert "dedup_text" in ops and ops <= {"caption_length", "word_count", "dedup_text"}
    assert corpus.count("samples") + len(rejected) == 300
    rep = audit(corpus)
    assert rep.duplicates.duplicates == sum(r["op"] == "dedup_text" for r in rejected)
    assert rep.duplicates.clusters > 0

    bad = tmp_path / "bad.yaml"
    bad.write_text("- op: word_count\n  min_words: 3\n- op: caption_length\n  min_chars: many\n")
    res = runner.invoke(app, ["curate", str(corpus.path), str(bad)])
    assert res.exit_code != 0
    assert "step 2" in str(res.exception) and "caption_length" in str(res.exception)
    assert "min_chars" in str(res.exception)
