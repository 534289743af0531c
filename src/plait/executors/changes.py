"""What a step changed in a sample: a content key to compare before and after, and the
change in words for ``replaced.change`` and ``plait why``.

Content is everything but ``stats`` (measurements) and ``run_id``: the slots and
their language tags, kind, family, provenance and ``meta``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from plait import schema

_FIELDS = ("kind", "parent", "position")


def content_key(s: schema.Sample) -> tuple[Any, ...]:
    src = s.source
    return (
        tuple(s.texts),
        tuple(s.images),
        tuple(s.langs or ()),
        s.kind,
        s.parent,
        s.position,
        (src.uri, src.dataset, src.licence, src.url, src.fetched_at),
        schema.dumps(s.meta),
    )


def describe_change(old: dict[str, Any], new: dict[str, Any], limit: int = 12) -> str:
    """``old`` -> ``new`` (``samples`` rows) in words: what slots went, came or changed."""
    parts: list[str] = []
    ot, nt = _text_slots(old), _text_slots(new)
    oi, ni = _image_slots(old), _image_slots(new)
    if ot != nt:
        gone = Counter(ot) - Counter(nt)
        came = Counter(nt) - Counter(ot)
        head = f"text slots {len(ot)} -> {len(nt)}"
        if gone and not came:
            langs = Counter(lang or "untagged" for _, lang in gone.elements())
            parts.append(f"{head}, removed {sum(gone.values())} ({_langs(langs, limit)})")
        elif len(ot) == len(nt):
            changed = sum(a != b for a, b in zip(ot, nt, strict=True))
            parts.append(f"{changed} of {len(ot)} text slots rewritten")
        else:
            parts.append(f"{head}, {sum(gone.values())} removed, {sum(came.values())} added")
    if oi != ni:
        parts.append(f"image slots {len(oi)} -> {len(ni)}")
    for f in _FIELDS:
        if old.get(f) != new.get(f):
            parts.append(f"{f} {old.get(f)!r} -> {new.get(f)!r}")
    if (old.get("source") or {}) != (new.get("source") or {}):
        parts.append("source changed")
    if schema.loads(old.get("meta")) != schema.loads(new.get("meta")):
        parts.append("meta changed")
    if not parts and (old.get("langs") or []) != (new.get("langs") or []):
        parts.append("language tags changed")
    return "; ".join(parts) or "order of slots changed"


def _text_slots(row: dict[str, Any]) -> list[tuple[str, str | None]]:
    texts = row.get("texts") or []
    langs = row.get("langs") or [None] * len(texts)
    return [(t, lang) for t, lang in zip(texts, langs, strict=False) if t is not None]


def _image_slots(row: dict[str, Any]) -> list[str]:
    return [m for m in row.get("images") or [] if m is not None]


def _langs(counts: Counter, limit: int) -> str:
    top = counts.most_common(limit)
    more = len(counts) - len(top)
    return ", ".join(f"{k} {n}" if n > 1 else k for k, n in top) + (
        f", {more} more" if more > 0 else ""
    )
