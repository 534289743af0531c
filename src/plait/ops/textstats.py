"""Vectorised text-quality measurements (Gopher / C4 heuristics) over a whole batch.

The batch is joined into one array of Unicode code points; character classes come
from a lookup table built from Python's own ``str`` predicates, so the results
equal :mod:`plait.ops.textstats_ref` (a plain per-text loop, the reference the
tests and ``bench/curate.py`` compare against) exactly. Words, lines and
paragraphs are identified by polynomial prefix hashes of their code points, so
duplicate counting is a sort, not a Python dictionary per text.

Definitions (shared with the reference):

- ``chars``: code points; ``words``: ``len(text.split())``;
- ``special_ratio``: characters neither alphanumeric nor whitespace, over ``chars``;
- lines: ``text.split("\\n")`` stripped, blank ones ignored; paragraphs: runs of
  non-blank lines, joined and stripped. ``dup_line_frac``: lines equal to an
  earlier line of the same text, over lines; ``dup_line_char_frac``: their
  characters over ``chars`` (the same two for paragraphs);
- ``top_{n}gram_char_frac``: characters of the most frequent word n-gram that
  occurs at least twice (ties: the longer one) times its count, over the
  characters of all words; ``dup_{n}gram_char_frac``: characters of words covered
  by any repeated n-gram, over the characters of all words;
- ``terminal_frac``: non-blank lines ending in terminal punctuation, over lines;
  ``curly``: contains ``{``; ``lorem``: contains "lorem ipsum" (ASCII case-insensitive).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

import numpy as np

TERMINAL = (".", "!", "?", '"', "'", "\u2026", "\u201d")
LOREM = re.compile(r"lorem ipsum", re.IGNORECASE | re.ASCII)
TOP_NGRAMS = (2, 3, 4)
DUP_NGRAMS = (5, 6, 7, 8, 9, 10)

_SPACE, _ALNUM, _TERM = 1, 2, 4
_B = np.uint64(0x100000001B3)  # odd: invertible modulo 2**64
_B_INV = np.uint64(pow(int(_B), -1, 2**64))
_R = np.uint64(0x9E3779B97F4A7C15)


@cache
def _classes() -> np.ndarray:
    """Flags per code point (space, alphanumeric, terminal), from ``str`` predicates."""
    table = np.zeros(0x110000, dtype=np.uint8)
    for cp in range(0x110000):
        ch = chr(cp)
        if ch.isspace():
            table[cp] = _SPACE
        elif ch.isalnum():
            table[cp] = _ALNUM
    for ch in TERMINAL:
        table[ord(ch)] |= _TERM
    return table


def bad_words_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """Whole-word, case-insensitive match of any listed word (None: no list)."""
    listed = sorted({w.strip() for w in words if w.strip()}, key=len, reverse=True)
    if not listed:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, listed)) + r")(?!\w)", re.IGNORECASE)


class _Spans:
    """Prefix hashes over the joined code points, to hash any [a, b) span in O(1)."""

    def __init__(self, cps: np.ndarray) -> None:
        n = len(cps)
        pw = np.empty(n + 1, dtype=np.uint64)
        pw[0] = 1
        ipw = np.empty(n + 1, dtype=np.uint64)
        ipw[0] = 1
        with np.errstate(over="ignore"):
            if n:
                pw[1:] = np.cumprod(np.full(n, _B, dtype=np.uint64), dtype=np.uint64)
                ipw[1:] = np.cumprod(np.full(n, _B_INV, dtype=np.uint64), dtype=np.uint64)
            pre = np.zeros(n + 1, dtype=np.uint64)
            pre[1:] = np.cumsum((cps.astype(np.uint64) + np.uint64(1)) * pw[:-1], dtype=np.uint64)
        self._pre, self._ipw = pre, ipw

    def hash(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            h = (self._pre[b] - self._pre[a]) * self._ipw[a]
            return h ^ (b - a).astype(np.uint64) * _R


def _dup_counts(doc: np.ndarray, key: np.ndarray, length: np.ndarray, n_docs: int):
    """Per doc: items equal to an earlier item of the same doc, and their lengths."""
    if len(key) == 0:
        return np.zeros(n_docs, np.int64), np.zeros(n_docs, np.int64)
    order = np.lexsort((key, doc))
    d, k, ln = doc[order], key[order], length[order]
    repeat = np.r_[False, (d[1:] == d[:-1]) & (k[1:] == k[:-1])]
    return (
        np.bincount(d[repeat], minlength=n_docs),
        np.bincount(d[repeat], weights=ln[repeat], minlength=n_docs).astype(np.int64),
    )


def _shift_right(x: np.ndarray, fill: bool) -> np.ndarray:
    """``x`` moved one place right (``out[i] = x[i-1]``), ``fill`` first; empty stays empty."""
    return np.r_[fill, x[:-1]] if len(x) else x


def _shift_left(x: np.ndarray, fill: bool) -> np.ndarray:
    return np.r_[x[1:], fill] if len(x) else x


def _frac(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = num.astype(np.float64)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def measure(
    texts: Sequence[str],
    *,
    top_ngrams: Sequence[int] = TOP_NGRAMS,
    dup_ngrams: Sequence[int] = DUP_NGRAMS,
    bad_words: re.Pattern[str] | None = None,
    groups: Sequence[str] = ("basic", "lines", "ngrams", "c4"),
) -> dict[str, np.ndarray]:
    """Every measurement of the selected groups, one array entry per text."""
    n = len(texts)
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    joined = "".join(texts)
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    doc = np.repeat(np.arange(n), lengths)
    flags = _classes()[cps]
    space = (flags & _SPACE) > 0
    out: dict[str, np.ndarray] = {"chars": lengths}
    first = np.zeros(len(cps), dtype=bool)
    first[starts[:-1][lengths > 0]] = True
    last = np.zeros(len(cps), dtype=bool)
    last[starts[1:][lengths > 0] - 1] = True

    wstart = ~space & (first | _shift_right(space, True))
    wend = ~space & (last | _shift_left(space, True))
    ws, we = np.flatnonzero(wstart), np.flatnonzero(wend) + 1
    wdoc = doc[ws]
    if "basic" in groups:
        out["words"] = np.bincount(wdoc, minlength=n)
        special = ~space & ((flags & _ALNUM) == 0)
        out["special_ratio"] = _frac(np.bincount(doc[special], minlength=n), lengths)

    spans = _Spans(cps) if ("lines" in groups or "ngrams" in groups) else None
    if "lines" in groups or "c4" in groups:
        newline = cps == 10
        line_id = np.cumsum(first | _shift_right(newline, False)) - 1
        ns = np.flatnonzero(~space)
        lid = line_id[ns]
        change = lid[1:] != lid[:-1]
        lfirst = ns[np.r_[True, change]] if len(ns) else ns
        llast = ns[np.r_[change, True]] if len(ns) else ns
        lids = line_id[lfirst]
        ldoc = doc[lfirst]
        n_lines = np.bincount(ldoc, minlength=n)
        if "c4" in groups:
            term = (flags[llast] & _TERM) > 0
            out["terminal_frac"] = _frac(np.bincount(ldoc[term], minlength=n), n_lines)
            out["curly"] = np.bincount(doc[cps == 123], minlength=n) > 0
            out["lorem"] = _regex_hits(LOREM, texts, starts)
            if bad_words is not None:
                out["bad_words"] = _regex_hits(bad_words, texts, starts)
        if "lines" in groups:
            assert spans is not None
            llen = llast + 1 - lfirst
            dup, dupc = _dup_counts(ldoc, spans.hash(lfirst, llast + 1), llen, n)
            out["dup_line_frac"] = _frac(dup, n_lines)
            out["dup_line_char_frac"] = _frac(dupc, lengths)
            gap = (lids[1:] != lids[:-1] + 1) | (ldoc[1:] != ldoc[:-1])
            pstart = lfirst[np.r_[True, gap]] if len(lfirst) else lfirst
            pend = llast[np.r_[gap, True]] + 1 if len(lfirst) else lfirst
            pdoc = doc[pstart]
            dup, dupc = _dup_counts(pdoc, spans.hash(pstart, pend), pend - pstart, n)
            out["dup_para_frac"] = _frac(dup, np.bincount(pdoc, minlength=n))
            out["dup_para_char_frac"] = _frac(dupc, lengths)

    if "ngrams" in groups:
        assert spans is not None
        wh = spans.hash(ws, we)
        wl = we - ws
        wchars = np.bincount(wdoc, weights=wl, minlength=n)
        cum = np.r_[0, np.cumsum(wl)]
        for size in sorted(set(top_ngrams) | set(dup_ngrams)):
            m = len(wh) - size + 1
            if m <= 0:
                if size in top_ngrams:
                    out[f"top_{size}gram_char_frac"] = np.zeros(n)
                if size in dup_ngrams:
                    out[f"dup_{size}gram_char_frac"] = np.zeros(n)
                continue
            valid = wdoc[:m] == wdoc[size - 1 :]
            g = np.zeros(m, dtype=np.uint64)
            with np.errstate(over="ignore"):
                for k in range(size):
                    g = g * _R + wh[k : k + m]
            idx = np.flatnonzero(valid)
            gd, gk = wdoc[idx], g[idx]
            order = np.lexsort((gk, gd))
            sd, sk = gd[order], gk[order]
            brk = (
                np.r_[True, (sd[1:] != sd[:-1]) | (sk[1:] != sk[:-1])]
                if len(sd)
                else sd.astype(bool)
            )
            run = np.cumsum(brk) - 1
            counts_sorted = np.bincount(run)[run]
            count = np.empty(len(idx), dtype=np.int64)
            count[order] = counts_sorted
            dup = count >= 2
            if size in top_ngrams:
                chars = cum[idx + size] - cum[idx]
                key = np.where(dup, count * (1 << 32) + chars, 0)
                best = np.zeros(n, dtype=np.int64)
                np.maximum.at(best, gd, key)
                val = (best >> 32) * (best & 0xFFFFFFFF)
                out[f"top_{size}gram_char_frac"] = _frac(val, wchars)
            if size in dup_ngrams:
                dstart = np.zeros(len(wh) + 1, dtype=np.int64)
                dstart[idx[dup] + 1] = 1
                cs = np.cumsum(dstart)
                j = np.arange(len(wh))
                covered = cs[j + 1] - cs[np.maximum(j - size + 1, 0)] > 0
                out[f"dup_{size}gram_char_frac"] = _frac(
                    np.bincount(wdoc[covered], weights=wl[covered], minlength=n), wchars
                )
    return out


def _regex_hits(pattern: re.Pattern[str], texts: Sequence[str], starts: np.ndarray) -> np.ndarray:
    """Which texts the pattern matches, from one scan of the texts joined by NULs."""
    hit = np.zeros(len(texts), dtype=bool)
    joined = "\x00".join(texts)
    sep_starts = starts[:-1] + np.arange(len(texts))
    for m in pattern.finditer(joined):
        hit[np.searchsorted(sep_starts, m.start(), side="right") - 1] = True
    return hit
