"""``plait audit``: the HTML page's numbers are the corpus's numbers."""

from __future__ import annotations

import base64
import re
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "executors"))

import toy_corpus  # noqa: E402

from plait import schema  # noqa: E402
from plait.curate import curate  # noqa: E402


class Cells(HTMLParser):
    """Collects {section: {key: number}} from data-section/data-key cells, and the images."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, dict[str, int]] = {}
        self.images: list[str] = []
        self._cur: tuple[str, str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-section" in a:
            self._cur = (a["data-section"], a["data-key"])
        if tag == "img":
            self.images.append(a["src"])

    def handle_data(self, data):
        if self._cur:
            sec, key = self._cur
            self.values.setdefault(sec, {})[key] = int(data)
            self._cur = None


def _corpus(tmp_path: Path):
    corpus = toy_corpus.text_corpus(tmp_path / "c", 200)
    other = toy_corpus.text_corpus(tmp_path / "o", 60, seed=3, dataset="other")
    rows = other.read("samples").to_pylist()
    for r in rows:
        r["source"]["licence"] = "CC-BY-4.0"
        r["langs"] = ["de"]
    corpus.append("samples", pa.Table.from_pylist(rows, schema=schema.SAMPLES))
    q = [
        {
            "id": f"q{i}",
            "location": f"bad/{i}.jpg",
            "reason": reason,
            "error": "x",
            "dataset": "other",
            "run_id": "ingest-x",
            "at": schema.now(),
        }
        for i, reason in enumerate(["corrupt_image"] * 3 + ["truncated_image"])
    ]
    corpus.append("quarantine", pa.Table.from_pylist(q, schema=schema.QUARANTINE))
    curate(
        corpus, [{"op": "toy_ops:MinWords", "min_words": 3}, {"op": "toy_ops:ExactText"}], workers=0
    )
    return corpus


def test_html_numbers_match_the_corpus(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from plait.cli import app

    corpus = _corpus(tmp_path)
    out = tmp_path / "audit.html"
    res = CliRunner().invoke(app, ["audit", str(corpus.path), "--html", str(out)])
    assert res.exit_code == 0, res.output
    assert "drop reasons per operator" in res.output
    page = Cells()
    page.feed(out.read_text())
    v = page.values

    samples = corpus.read("samples").to_pylist()
    rejected = corpus.read("rejected").to_pylist()
    assert v["summary"]["samples"] == len(samples) and v["summary"]["rejected"] == len(rejected)
    assert v["summary"]["quarantined"] == 4
    assert v["sources"] == dict(Counter(r["source"]["dataset"] for r in samples))
    assert v["licences"] == dict(Counter(r["source"]["licence"] for r in samples))
    assert v["languages"] == dict(Counter(r["langs"][0] for r in samples))
    assert set(v["languages"]) == {"en", "de"}
    assert v["drops"] == dict(
        Counter(f"{r['op']}: {r['reason'].split(' of ')[0]}" for r in rejected)
    )
    assert v["quarantine"] == {"corrupt_image": 3, "truncated_image": 1}
    kept_of = Counter(r["reason"].split(" of ")[1] for r in rejected if r["op"] == "toy-exact-text")
    assert v["summary"]["clusters"] == len(kept_of) > 0
    assert v["summary"]["duplicates"] == sum(kept_of.values())
    assert v["cluster_sizes"] == {
        str(k): n for k, n in Counter(c + 1 for c in kept_of.values()).items()
    }
    assert set(kept_of) <= corpus.ids()  # every cluster is led by a kept sample
    # self-contained: every plot is an embedded PNG
    assert page.images and all(src.startswith("data:image/png;base64,") for src in page.images)
    assert base64.b64decode(page.images[0].split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r"(src|href)=\"https?://", out.read_text())
