"""``extractive``: answers with the best-supported field or sentence of the sources. No model.

The deterministic baseline, and the fallback where no model is installed. It reads the
prompt's structured form (the question and its numbered sources), so it needs no
prompt parsing, and it writes its answer in the same form a model is asked for:
text with ``[n]`` citations, images as ``![caption](image n)``, or the abstention.

Rules (see :mod:`plait.generators.spans`): the source that contains most of the
question's anchors (names, numbers, dates) is the one the answer comes from; when no
source holds at least half of them the answer is an abstention. The question's wording
picks the span: a labelled amount (``total``), a date, or the line that shares most words
with the question. A "show me" question answers with the image sources, best first; a
cloze question ("which word fills the blank in ...") with the word that stands in the
gap where a source holds the sentence.
"""

from __future__ import annotations

from collections.abc import Iterator

from plait.generators import spans
from plait.generators.base import (
    ABSTAIN,
    BaseGenerator,
    GenOptions,
    Prompt,
    Warn,
    as_float,
    as_int,
)


class ExtractiveGenerator(BaseGenerator):
    accepts_images = False
    context_tokens = 1 << 20

    def __init__(self, *, min_coverage: object = 0.5, max_images: object = 3) -> None:
        super().__init__()
        self.name = "extractive"
        self.min_coverage = as_float(min_coverage, "min_coverage", "the extractive generator")
        self.show_images = as_int(max_images, "max_images", "the extractive generator", 1)

    def stream(
        self, prompt: Prompt, options: GenOptions = GenOptions(), warn: Warn | None = None
    ) -> Iterator[str]:
        yield self.answer(prompt)

    def answer(self, prompt: Prompt) -> str:
        question = prompt.question or (prompt.messages[-1].text() if prompt.messages else "")
        terms = spans.question_terms(question)
        sources = prompt.sources
        if not sources:
            return ABSTAIN
        if terms.kind == "image":
            shown = [s for s in sources if s.kind == "image"][: self.show_images]
            if not shown:
                return ABSTAIN
            parts = spans.question_parts(question)
            if len(parts) > 1:
                shown = _in_turn(parts, [s for s in sources if s.kind == "image"])
                if not shown:
                    return ABSTAIN
            return " ".join(f"![{_label(s.label or s.text)}](image {s.n})" for s in shown)
        if terms.kind == "blank":
            return self._blank(question, sources)
        scored = [(spans.coverage(terms, s.text), -i, s) for i, s in enumerate(sources) if s.text]
        if not scored:
            return ABSTAIN
        cov, _, best = max(scored, key=lambda t: (t[0], t[1]))
        if cov < self.min_coverage:
            return ABSTAIN
        value = self._span(terms, best.text)
        return f"{value} [{best.n}]" if value else ABSTAIN

    def _blank(self, question: str, sources: list) -> str:
        """The source whose text holds the quoted sentence with the most context around
        the gap (the earlier source on a tie); its word there is the answer."""
        best: tuple[int, int, str, int] | None = None
        for i, s in enumerate(sources):
            got = spans.fill_blank(question, s.text)
            if got and (best is None or (got[1], -i) > (best[0], best[1])):
                best = (got[1], -i, got[0], s.n)
        if best is None or best[0] < 2:  # one word either side is a coincidence
            return ABSTAIN
        return f"{best[2]} [{best[3]}]"

    def _span(self, terms: spans.Terms, text: str) -> str:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if terms.kind == "amount":
            got = spans.labelled_amount(lines, terms.label or "total")
            if got:
                return got[0]
            line = spans.best_line(terms, lines)
            found = spans.amounts(line[0]) if line else []
            return found[-1] if found else ""
        if terms.kind == "date":
            got = spans.first_date(lines)
            return got[0] if got else ""
        if terms.kind == "name" and lines:
            return lines[0].strip()
        line = spans.best_line(terms, spans.sentences(text))
        return line[0] if line else ""


def _in_turn(parts: list[str], images: list) -> list:
    """For each part in turn, the image source whose text shares most of its words (one
    not placed yet; sources are in relevance order, so ties go to the better one)."""
    out: list = []
    for part in parts:
        want = set(spans.question_terms(part).words)
        left = [s for s in images if s not in out]
        if not left or not want:
            continue
        best = max(left, key=lambda s: len(want & set(spans.words(s.label or s.text))))
        if want & set(spans.words(best.label or best.text)):
            out.append(best)
    return out


def _label(text: str, words: int = 8) -> str:
    """A short caption for an image link: its first words, without brackets."""
    flat = " ".join(text.replace("[", "(").replace("]", ")").split())
    parts = flat.split(" ")
    return " ".join(parts[:words]) + ("..." if len(parts) > words else "")
