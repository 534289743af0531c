"""A slot's language: one rule, used by every command that selects or counts by language.

- A text slot's language is its tag from the input (``langs[i]``: a sidecar's
  ``LANG.utf8=`` line, a dataset's language column), else the language detected for
  its sample (``stats["lang"]``, written by the ``language_id`` operator), else
  unknown (``None``). Image slots have no language.
- A sample is in language X when one of its text slots is (so: a slot is tagged X,
  or the sample's detected language is X and it has an untagged text slot).

``plait embed --lang`` and ``plait align --lang`` select text slots by
:func:`slot_langs` (``none`` selects slots of unknown language); the corpus stats
behind the language facet count samples by :func:`sample_langs` (vectorised in
:func:`lang_counts`), and the facet's filter is :func:`lang_where`, the same test
in SQL, so a facet count is what its filter returns.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

_DETECTED = re.compile(r'"lang": "(?P<lang>(?:[^"\\]|\\.)*)"')


def detected(stats: dict[str, Any] | str | None) -> str | None:
    """The language detected for a sample (``stats["lang"]``), from the dict or its JSON."""
    if isinstance(stats, str):
        m = _DETECTED.search(stats)
        return json.loads(f'"{m.group(1)}"') if m else None
    value = (stats or {}).get("lang")
    return value if isinstance(value, str) and value else None


def slot_langs(
    texts: Sequence[str | None],
    tags: Sequence[str | None] | None,
    stats: dict[str, Any] | str | None,
) -> list[str | None]:
    """The language of every slot by the rule (``None`` for image slots and unknowns)."""
    tags = tags or [None] * len(texts)
    fallback = detected(stats)
    return [
        None if t is None else (tag or fallback)
        for t, tag in zip(texts, list(tags) + [None] * (len(texts) - len(tags)), strict=False)
    ]


def sample_langs(
    texts: Sequence[str | None],
    tags: Sequence[str | None] | None,
    stats: dict[str, Any] | str | None,
) -> set[str]:
    """The languages a sample is in: the languages of its text slots."""
    return {x for x in slot_langs(texts, tags, stats) if x}


def lang_where(values: Iterable[str]) -> str:
    """SQL over ``samples`` for "the sample is in one of ``values``" (see the module doc)."""
    from plait.io.corpus import sql_str

    parts = []
    for v in values:
        like = json.dumps(v, ensure_ascii=False)[1:-1].replace("'", "''")
        parts.append(
            f"array_has(langs, {sql_str(v)}) OR "
            f'(stats LIKE \'%"lang": "{like}"%\' AND {_UNTAGGED_TEXT})'
        )
    return "(" + " OR ".join(f"({p})" for p in parts) + ")" if parts else "TRUE"


# A sample has an untagged text slot: a position where ``images`` is null (a text slot)
# and ``langs`` is null too.
_UNTAGGED_TEXT = (
    "((langs IS NULL AND cardinality(array_positions(images, NULL)) > 0) OR "
    "cardinality(array_intersect(array_positions(images, NULL), array_positions(langs, NULL))) > 0)"
)


def lang_counts(table: Any) -> dict[str, int]:
    """Samples per language by the rule, over an Arrow table with ``texts``, ``langs``
    and ``stats`` columns (vectorised); ``(unknown)`` counts samples with a text slot
    but no language. Tags sit on text slots only, so a sample has an untagged text
    slot when it has fewer tags than text slots."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    if n == 0:
        return {}
    strings = pa.list_(pa.string())
    texts = table.column("texts").combine_chunks().cast(strings)
    tags = table.column("langs").combine_chunks().cast(strings)
    text_rows = pc.list_parent_indices(texts).to_numpy()
    is_text = pc.is_valid(pc.list_flatten(texts)).to_numpy(zero_copy_only=False)
    text_n = np.bincount(text_rows[is_text], minlength=n)
    flat = pc.list_flatten(tags)
    is_tag = pc.is_valid(flat)
    tag_rows = pc.list_parent_indices(tags).to_numpy()[is_tag.to_numpy(zero_copy_only=False)]
    untagged = text_n > np.bincount(tag_rows, minlength=n)
    found = pc.extract_regex(
        table.column("stats").combine_chunks().fill_null(""), _DETECTED.pattern
    )
    det = pc.struct_field(found, [0])
    use = pc.and_(pc.is_valid(det), pa.array(untagged)).to_numpy(zero_copy_only=False)
    pairs = (
        pa.concat_tables(
            [
                pa.table({"row": pa.array(tag_rows, pa.int64()), "lang": flat.filter(is_tag)}),
                pa.table(
                    {
                        "row": pa.array(np.flatnonzero(use), pa.int64()),
                        "lang": det.filter(pa.array(use)).cast(pa.string()),
                    }
                ),
            ]
        )
        .group_by(["row", "lang"])
        .aggregate([])
    )
    counts = pairs.group_by("lang").aggregate([("row", "count")]).to_pylist()
    out = {r["lang"]: r["row_count"] for r in counts}
    unknown = int(
        ((text_n > 0) & (np.bincount(pairs.column("row").to_numpy(), minlength=n) == 0)).sum()
    )
    if unknown:
        out["(unknown)"] = unknown
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _counts_py(table: Any) -> dict[str, int]:
    """:func:`lang_counts` row by row (the reference the tests check it against)."""
    from collections import Counter

    counts: Counter[str] = Counter()
    cols = [table.column(c).to_pylist() for c in ("texts", "langs", "stats")]
    for texts, tags, stats in zip(*cols, strict=True):
        if not texts or all(t is None for t in texts):
            continue
        counts.update(sample_langs(texts, tags, stats) or ["(unknown)"])
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
