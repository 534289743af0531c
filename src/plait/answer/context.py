"""Steps 3 and 4: keep what clears the relevance threshold (up to k), then number the kept
sources and fit them into the generator's token budget. Everything left out is reported
with its reason, so an answer can be audited ("re-ranking the context": fewer, better
sources beat a long list a small model cannot read)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from plait.answer.types import Candidate, Cut


def select(
    candidates: Sequence[Candidate], scores: Sequence[float], threshold: float, k: int
) -> tuple[list[Candidate], list[Cut]]:
    """Candidates with ``score >= threshold``, best first (ties keep retrieval order), at
    most ``k``; the rest as cuts (``below_threshold`` or ``beyond_k``)."""
    scored = [replace(c, score=float(s)) for c, s in zip(candidates, scores, strict=True)]
    order = sorted(scored, key=lambda c: (-c.score, c.rank))
    kept: list[Candidate] = []
    cut: list[Cut] = []
    for c in order:
        if c.score < threshold:
            cut.append(Cut(c.sample_id, "below_threshold", c.score))
        elif len(kept) >= k:
            cut.append(Cut(c.sample_id, "beyond_k", c.score))
        else:
            kept.append(c)
    return kept, cut


def fit(
    kept: Sequence[Candidate],
    budget: int,
    count: Callable[[str], int],
    per_source: int = 700,
) -> tuple[list[Candidate], list[Cut]]:
    """Number the sources 1..n in order and trim each one's text to ``per_source`` tokens;
    a source that no longer fits in ``budget`` tokens is cut (``over_budget``)."""
    out: list[Candidate] = []
    cut: list[Cut] = []
    used = 0
    for c in kept:
        text = _trim(c.text, per_source, count)
        need = count(text) + 12  # the number, the kind, the page
        if out and used + need > budget:
            cut.append(Cut(c.sample_id, "over_budget", c.score))
            continue
        used += need
        out.append(replace(c, text=text, n=len(out) + 1))
    return out, cut


def _trim(text: str, limit: int, count: Callable[[str], int]) -> str:
    if count(text) <= limit:
        return text
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix within the limit
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo].rstrip() + " ..."
