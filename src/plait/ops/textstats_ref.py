"""The plain-Python reference for :mod:`plait.ops.textstats`: one text at a time.

Slow on purpose and easy to read; the vectorised kernel must agree with it
exactly (tests), and ``bench/curate.py`` reports the kernel's speed against it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from plait.ops.textstats import DUP_NGRAMS, LOREM, TERMINAL, TOP_NGRAMS


def _frac(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def _dups(items: list[str]) -> tuple[int, int]:
    seen: set[str] = set()
    n = chars = 0
    for item in items:
        if item in seen:
            n += 1
            chars += len(item)
        else:
            seen.add(item)
    return n, chars


def measure_one(
    text: str,
    *,
    top_ngrams: Sequence[int] = TOP_NGRAMS,
    dup_ngrams: Sequence[int] = DUP_NGRAMS,
    bad_words: re.Pattern[str] | None = None,
) -> dict[str, Any]:
    chars = len(text)
    words = text.split()
    out: dict[str, Any] = {
        "chars": chars,
        "words": len(words),
        "special_ratio": _frac(sum(1 for c in text if not (c.isalnum() or c.isspace())), chars),
    }
    raw_lines = text.split("\n")
    lines = [ln.strip() for ln in raw_lines if ln.strip()]
    out["terminal_frac"] = _frac(sum(ln.endswith(TERMINAL) for ln in lines), len(lines))
    out["curly"] = "{" in text
    out["lorem"] = LOREM.search(text) is not None
    if bad_words is not None:
        out["bad_words"] = bad_words.search(text) is not None
    n, c = _dups(lines)
    out["dup_line_frac"] = _frac(n, len(lines))
    out["dup_line_char_frac"] = _frac(c, chars)
    paras: list[str] = []
    group: list[str] = []
    for ln in [*raw_lines, ""]:
        if ln.strip():
            group.append(ln)
        elif group:
            paras.append("\n".join(group).strip())
            group = []
    n, c = _dups(paras)
    out["dup_para_frac"] = _frac(n, len(paras))
    out["dup_para_char_frac"] = _frac(c, chars)
    wchars = sum(map(len, words))
    for size in sorted(set(top_ngrams) | set(dup_ngrams)):
        grams = [tuple(words[i : i + size]) for i in range(len(words) - size + 1)]
        counts = Counter(grams)
        if size in top_ngrams:
            best = max(((k, sum(map(len, g))) for g, k in counts.items() if k >= 2), default=(0, 0))
            out[f"top_{size}gram_char_frac"] = _frac(best[0] * best[1], wchars)
        if size in dup_ngrams:
            covered = [False] * len(words)
            for i, g in enumerate(grams):
                if counts[g] >= 2:
                    covered[i : i + size] = [True] * size
            out[f"dup_{size}gram_char_frac"] = _frac(
                sum(len(w) for w, cov in zip(words, covered) if cov), wchars
            )
    return out
