"""One rule for a slot's language (tag, else the sample's detected language), and the
three places it runs agree: per slot in Python, counted over Arrow, filtered in SQL."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from plait.langs import _counts_py, detected, lang_counts, lang_where, sample_langs, slot_langs

LANGS = ["en", "de", "fr", "en_GB"]


def test_tag_first_then_detected_then_unknown() -> None:
    texts = ["a dog", None, "ein Hund", "un chien"]
    tags = [None, None, "de", None]
    assert slot_langs(texts, tags, {"lang": "en"}) == ["en", None, "de", "en"]
    assert slot_langs(texts, tags, {}) == [None, None, "de", None]
    assert slot_langs(texts, None, '{"lang": "fr", "lang_confidence": 0.9}') == [
        "fr",
        None,
        "fr",
        "fr",
    ]
    assert detected('{"lang": null}') is None and detected({"lang": ""}) is None
    # a fully tagged sample is in its tags' languages only
    assert sample_langs(["x", "y"], ["de", "fr"], {"lang": "en"}) == {"de", "fr"}


slot = st.one_of(
    st.tuples(st.just("image"), st.none()),
    st.tuples(st.just("text"), st.none() | st.sampled_from(LANGS)),
)
row = st.tuples(
    st.lists(slot, min_size=0, max_size=5),
    st.none() | st.sampled_from(LANGS),  # detected language
    st.booleans(),  # langs column null
)


def _table(rows: list) -> pa.Table:
    out = {"id": [], "texts": [], "images": [], "langs": [], "stats": []}
    for i, (slots, det, no_tags) in enumerate(rows):
        out["id"].append(f"s{i}")
        out["texts"].append([f"t{j}" if k == "text" else None for j, (k, _) in enumerate(slots)])
        out["images"].append([f"m{j}" if k == "image" else None for j, (k, _) in enumerate(slots)])
        out["langs"].append(None if no_tags else [tag for _, tag in slots])
        out["stats"].append(json.dumps({"lang": det, "lang_confidence": 0.5} if det else {}))
    strings = pa.list_(pa.string())
    sch = pa.schema(
        [("id", pa.string()), ("texts", strings), ("images", strings), ("langs", strings)]
        + [("stats", pa.string())]
    )
    return pa.table(out, schema=sch)


@settings(max_examples=60, deadline=None)
@given(st.lists(row, min_size=1, max_size=12))
def test_arrow_counts_match_the_rule_row_by_row(rows) -> None:
    table = _table(rows)
    assert lang_counts(table) == _counts_py(table)


@settings(max_examples=15, deadline=None)
@given(st.lists(row, min_size=1, max_size=12))
def test_sql_filter_selects_what_the_rule_says(tmp_path_factory, rows) -> None:
    import lance

    table = _table(rows)
    path = Path(tmp_path_factory.mktemp("langs")) / "s.lance"
    ds = lance.write_dataset(table, str(path))
    for lang in LANGS:
        got = set(ds.to_table(filter=lang_where([lang]), columns=["id"]).column("id").to_pylist())
        want = {
            r["id"]
            for r in table.to_pylist()
            if lang in sample_langs(r["texts"], r["langs"], r["stats"])
        }
        assert got == want, lang


def test_align_reads_captions_by_the_same_rule(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from plait import Corpus
    from plait.align.pairs import read_pairs
    from plait.cli import app
    from plait.schema import PAIR, Sample, Source, samples_table

    src = Source("mem", "m")
    rows = [
        Sample(
            "m/a",
            PAIR,
            [None, "a dog", "a brown dog"],
            ["m1", None, None],
            src,
            stats={"lang": "en"},
        ),
        Sample(
            "m/b", PAIR, [None, "apple", "Apfel"], ["m2", None, None], src, langs=[None, "en", "de"]
        ),
        Sample("m/c", PAIR, [None, "ein Hund"], ["m3", None], src),
    ]
    corpus = Corpus.init(tmp_path / "c")
    corpus.append("samples", samples_table(rows))
    en = read_pairs(corpus, langs=["en"])
    assert en.sample_ids == ["m/a", "m/b"] and en.captions == [["a dog", "a brown dog"], ["apple"]]
    assert read_pairs(corpus, langs=[None]).captions == [["ein Hund"]]
    assert len(read_pairs(corpus)) == 3
    # what align reports it trained on, by the same rule
    assert en.langs == {"en": 3}
    assert read_pairs(corpus).langs == {"en": 3, "de": 1, "none": 1}
    res = CliRunner().invoke(app, ["align", "--help"])
    assert "--lang" in res.output
