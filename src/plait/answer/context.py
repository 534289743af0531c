"""Steps 3 and 4: keep what clears the relevance threshold (up to k), then number the kept
sources and fit them into the generator's token budget. Everything left out is reported
with its reason, so an answer can be audited ("re-ranking the context": fewer, better
sources beat a long list a small model cannot read)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from plait.answer.types import Candidate, Cut
from plait.generators import spans


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
    question: str = "",
) -> tuple[list[Candidate], list[Cut]]:
    """Number the sources 1..n in order and trim each one's text to ``per_source`` tokens
    (from the sentence that matches ``question`` best when that lies beyond the first
    ``per_source`` tokens: a long page's answer is often further down); a source that no
    longer fits in ``budget`` tokens is cut (``over_budget``)."""
    out: list[Candidate] = []
    cut: list[Cut] = []
    used = 0
    for c in kept:
        text = _trim(c.text, per_source, count, question)
        need = count(text) + 12  # the number, the kind, the page
        if out and used + need > budget:
            cut.append(Cut(c.sample_id, "over_budget", c.score))
            continue
        used += need
        out.append(replace(c, text=text, n=len(out) + 1))
    return out, cut


def _trim(text: str, limit: int, count: Callable[[str], int], question: str = "") -> str:
    if count(text) <= limit:
        return text
    head = _prefix(text, limit, count)
    start = focus(text, question)
    if start > len(head) - 200:  # the best match is cut off or at the very end: start there
        text = "... " + text[start:]
        if count(text) <= limit:
            return text
        head = _prefix(text, limit, count)
    return head.rstrip() + " ..."


def focus(text: str, question: str, before: int = 200) -> int:
    """Where to start reading ``text`` for ``question``: about ``before`` characters ahead
    of the sentence that shares most of its words (the quoted passage's word pairs, when it
    quotes one), at a word boundary; 0 when no sentence shares any."""
    if not question:
        return 0
    passage = spans.quoted_passage(question)
    want = set(spans.question_terms(question).words)
    best, at = 0.0, 0
    pos = 0
    for sent in spans.sentences(text):
        i = text.find(sent[:40], pos)
        if i < 0:
            continue
        pos = i
        if passage:
            score = spans.passage_overlap(passage, sent)
        else:
            got = set(spans.words(sent))
            score = len(want & got) / len(want) if want else 0.0
        if score > best:
            best, at = score, i
    if best == 0.0 or at <= before:
        return 0
    space = text.find(" ", at - before)
    return space + 1 if 0 <= space < at else at


def _prefix(text: str, limit: int, count: Callable[[str], int]) -> str:
    lo, hi = 0, len(text)
    while lo < hi:  # the longest prefix within the limit
        mid = (lo + hi + 1) // 2
        if count(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]
