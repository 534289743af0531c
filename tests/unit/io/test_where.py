"""The where grammar: what it accepts runs on Lance and selects what the raw SQL would;
what it refuses (unknown columns and functions, break-outs, oversized filters) is a
ConfigError before Lance sees it; structured filters hold whatever ``where`` says."""

from __future__ import annotations

from pathlib import Path

import pytest

from plait import Corpus, Sample, Source
from plait.errors import ConfigError
from plait.io import where as w
from plait.schema import samples_table

ACCEPTED = [
    "source.licence = 'CC-BY-4.0'",
    "kind IN ('pair', 'page')",
    "kind NOT IN ('pair')",
    "array_has(langs, 'de')",
    "stats LIKE '%clip%'",
    "id NOT LIKE 'a/%'",
    "position BETWEEN 1 AND 3",
    "parent IS NULL",
    "parent IS NOT NULL AND position >= 0",
    "NOT (kind = 'page') OR source.dataset != 'b'",
    "source.fetched_at > TIMESTAMP '2020-01-01 00:00:00'",
    "length(id) > 3 and lower(kind) = 'pair'",
    "-1 < position",
    "kind <> 'pair'",
    "array_length(texts) = 2",
    "starts_with(id, 'a/') AND (kind = 'pair' OR kind = 'page')",
    "source.url = 'it''s'",
]

REFUSED = {
    "length(repeat(id, 40000)) > 0": "function 'repeat' is not allowed",
    "1=1) OR (1=1": "unexpected ')'",
    "nope = 1": "unknown column 'nope'",
    "source.secret = 1": "unknown column 'source.secret'",
    "id = 'x'; DROP TABLE samples": "unexpected ';'",
    '"id" = 1': "unexpected '\"'",
    "id = 'x' -- comment": "unexpected '-'",
    "id = 'x' /* c */": "unexpected '/'",
    "kind = ": "ends too early",
    "kind IN ()": "expected a value",
    "lower(kind, id) = 'a'": "takes 1 argument",
    "id || 'x' = 'y'": "unexpected '|'",
    "kind = 'a' OR": "ends too early",
    "arrow_cast(id, 'Int64') = 1": "is not allowed",
    "kind IS 'pair'": "expected NULL",
}


def _corpus(path: Path) -> Corpus:
    corpus = Corpus.init(path)
    rows = []
    for i in range(12):
        rows.append(
            Sample(
                id=f"{'ab'[i % 2]}/{i}",
                kind=("pair", "page", "text")[i % 3],
                texts=["x", None] if i % 4 else ["y"],
                images=[None, "m"] if i % 4 else [None],
                langs=[("de", "en")[i % 2], None] if i % 4 else ["fr"],
                parent=None if i % 3 != 1 else "a/0",
                position=i % 5,
                source=Source(
                    uri=f"f{i}",
                    dataset="ab"[i % 2],
                    licence=("CC-BY-4.0", "MIT")[i % 2],
                    url="it's" if i == 3 else None,
                ),
                stats={"clip": 0.1} if i % 2 else {},
            )
        )
    corpus.append("samples", samples_table(rows))
    return corpus


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_filters_select_what_the_raw_sql_selects(tmp_path: Path, text: str) -> None:
    corpus = _corpus(tmp_path / "c")
    rendered = w.where_sql(text)
    assert rendered is not None and w.where_sql(rendered) == rendered  # stable round trip
    assert corpus.ids("samples", where=rendered) == corpus.ids("samples", where=text)


@pytest.mark.parametrize(("text", "why"), list(REFUSED.items()))
def test_refused_filters_say_why(text: str, why: str) -> None:
    with pytest.raises(ConfigError, match="invalid where filter") as info:
        w.parse(text)
    assert why in str(info.value)


def test_size_limits() -> None:
    with pytest.raises(ConfigError, match="limit is"):
        w.parse("kind = 'a' OR " * 400 + "kind = 'b'")
    with pytest.raises(ConfigError, match="values in IN"):
        w.parse("id IN (" + ",".join("1" for _ in range(w.MAX_LIST + 5)) + ")")
    with pytest.raises(ConfigError, match="nested"):
        w.parse("(" * 60 + "kind = 'a'" + ")" * 60)
    with pytest.raises(ConfigError, match="string over"):
        w.parse("id = '" + "x" * (w.MAX_STRING + 1) + "'")
    with pytest.raises(ConfigError, match="NUL"):
        w.parse("id = 'a\0'")


def test_structured_filters_hold_whatever_where_says(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "c")
    mit = w.one_of("source.licence", ["MIT"])
    # an OR in `where` binds inside its own parentheses: the licence filter still applies
    sql = w.where_sql("kind = 'pair' OR kind = 'page' OR 1 = 1", mit)
    got = corpus.read("samples", columns=["source"], where=sql).column("source").to_pylist()
    assert got and {s["licence"] for s in got} == {"MIT"}
    with pytest.raises(ConfigError):
        w.where_sql("1=1) OR (1=1", mit)
    langs = w.has_any("langs", ["de", "fr"])
    ids = corpus.ids("samples", where=w.where_sql(None, langs, w.one_of("kind", ["pair"])))
    assert ids == {"a/0", "a/6"}  # pairs (i % 3 == 0) with a German or French caption
