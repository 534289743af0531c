"""Step 6: the generator's text as ordered segments: text with ``[n]`` citations, images
placed as ``![caption](image N)`` (MMDocRAG's convention), or an abstention.

A citation of a source that was not given, or an image link to a source without an
image, is dropped with a warning. A text segment a small model left uncited is
attributed to the source that contains its words (and the warning says so), so every
claim points somewhere or is marked as unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from plait.answer.types import Candidate, Segment
from plait.generators import spans
from plait.generators.base import ABSTAIN

IMAGE = re.compile(r"!\[([^\]]{0,200})\]\(\s*(?:image\s*)?(\d{1,3})\s*\)", re.I)
CITE = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_ABSTAIN = re.compile(
    r"(sources? (do|does) not (answer|say|contain|mention|include)|"
    r"(cannot|can't|can not|unable to) (be )?(answer|determine|find)|"
    r"not (found|mentioned|available|provided) in the (sources?|context)|"
    r"no (information|answer) (about|on|in|for)|i (do not|don't) know)",
    re.I,
)


def is_abstention(text: str) -> bool:
    flat = " ".join(text.split())
    if not flat:
        return True
    return ABSTAIN.lower() in flat.lower() or (
        len(flat.split()) <= 30 and _ABSTAIN.search(flat) is not None
    )


_NAMED = re.compile(r"\b(?:source|image)\s*(?:number\s*)?(?:is\s*)?#?(\d{1,3})\b", re.I)


def parse(
    raw: str, sources: Sequence[Candidate], question: str = ""
) -> tuple[list[Segment], list[str]]:
    """Segments in reading order, and warnings about what was dropped or attributed.

    For a "show me" question answered without an image link, the image sources the
    answer names ("[2]", "source 2", "image 2") are placed after its text."""
    segments, warnings = _parse(raw, sources)
    if question and spans.question_terms(question).kind == "image":
        if segments and not any(s.kind in ("image", "abstain") for s in segments):
            by_n = {c.n: c for c in sources}
            named = [n for s in segments for n in s.cites]
            named += [int(m.group(1)) for m in _NAMED.finditer(raw)]
            placed = []
            for n in dict.fromkeys(named):
                c = by_n.get(n)
                if c is not None and c.is_image:
                    placed.append(
                        Segment(
                            "image", _caption(c), n=n, media_id=c.media_id, sample_id=c.sample_id
                        )
                    )
            if placed:
                warnings.append("the answer named image sources without links; placed them")
                segments = placed
    return segments, warnings


def _parse(raw: str, sources: Sequence[Candidate]) -> tuple[list[Segment], list[str]]:
    warnings: list[str] = []
    by_n = {c.n: c for c in sources}
    if is_abstention(raw):
        return [Segment("abstain", ABSTAIN)], warnings
    segments: list[Segment] = []
    pos = 0
    for m in IMAGE.finditer(raw):
        _text(raw[pos : m.start()], by_n, segments, warnings)
        n = int(m.group(2))
        c = by_n.get(n)
        if c is None or not c.is_image:
            warnings.append(f"dropped a link to image {n}: no image source has that number")
        else:
            caption = " ".join(m.group(1).split()) or _caption(c)
            segments.append(
                Segment("image", caption, n=n, media_id=c.media_id, sample_id=c.sample_id)
            )
        pos = m.end()
    _text(raw[pos:], by_n, segments, warnings)
    if not segments:
        return [Segment("abstain", ABSTAIN)], warnings
    return segments, warnings


def _text(chunk: str, by_n: dict[int, Candidate], out: list[Segment], warnings: list[str]) -> None:
    cites: list[int] = []
    for m in CITE.finditer(chunk):
        for part in re.split(r"[,;]", m.group(1)):
            n = int(part)
            if n in by_n:
                if n not in cites:
                    cites.append(n)
            else:
                warnings.append(f"dropped citation [{n}]: no source has that number")
    text = " ".join(CITE.sub("", chunk).split())
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    if not text.strip(" .,;:-"):
        if cites and out and out[-1].kind == "text":  # "[2]" on its own line
            out[-1].cites.extend(n for n in cites if n not in out[-1].cites)
        return
    if not cites:
        found = attribute(text, list(by_n.values()))
        if found is not None:
            cites = [found]
            warnings.append(
                f"the answer cited nothing; attributed to source [{found}] by its words"
            )
    out.append(Segment("text", text, cites=cites))


def attribute(text: str, sources: Sequence[Candidate]) -> int | None:
    """The source holding most of the text's numbers and words (numbers count double)."""
    want = spans.words(text)
    if not want:
        return None
    best, score = None, 0.0
    for c in sources:
        have = set(spans.words(c.text))
        s = sum(2.0 if any(ch.isdigit() for ch in w) else 1.0 for w in want if w in have)
        if s > score:
            best, score = c.n, s
    return best if score >= max(1.0, 0.5 * len(want)) else None


def _caption(c: Candidate, words: int = 8) -> str:
    line = next((ln for ln in c.text.splitlines() if ln.strip()), "") or c.sample_id
    parts = line.split()
    return " ".join(parts[:words])
