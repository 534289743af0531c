"""Text-quality filters (Gopher and C4 heuristics) over a sample's text view.

Every filter measures the whole batch at once with :func:`plait.ops.textstats.measure`
(vectorised; exact to the plain-Python reference). Stats keys are prefixed
``text_``. Samples without text get zeros and are judged like empty text only by
the length filters; the ratio filters keep them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plait.ops import textstats
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import Sample


def _texts(batch: list[Sample]) -> list[str]:
    return [s.text for s in batch]


def _rows(values: dict[str, Any], keys: dict[str, str], n: int) -> list[dict[str, Any]]:
    """Columns of the kernel's arrays -> one stats dict per sample (floats to 6 places)."""
    names = list(keys.values())
    cols = []
    for k in keys:
        arr = values[k]
        cols.append((arr.round(6) if arr.dtype.kind == "f" else arr).tolist())
    return [dict(zip(names, row)) for row in zip(*cols)] if cols else [{} for _ in range(n)]


class CaptionLength(Filter):
    """Drop samples whose text is shorter than ``min_chars`` or longer than ``max_chars``.

    Writes ``text_chars``; reasons ``caption_too_short``, ``caption_too_long``.
    """

    name = "caption_length"
    example = {"min_chars": 6}

    def __init__(self, min_chars: int = 6, max_chars: int | None = None, mode: str = DROP) -> None:
        super().__init__(mode)
        self.min_chars, self.max_chars = min_chars, max_chars

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        return [{"text_chars": len(t)} for t in _texts(batch)]

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        n = stats["text_chars"]
        if n < self.min_chars:
            return "caption_too_short"
        if self.max_chars is not None and n > self.max_chars:
            return "caption_too_long"
        return None


class WordCount(Filter):
    """Drop samples with fewer than ``min_words`` or more than ``max_words`` words.

    Writes ``text_words``; reasons ``too_few_words``, ``too_many_words``.
    """

    name = "word_count"
    example = {"min_words": 3}

    def __init__(self, min_words: int = 3, max_words: int | None = None, mode: str = DROP) -> None:
        super().__init__(mode)
        self.min_words, self.max_words = min_words, max_words

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        v = textstats.measure(_texts(batch), groups=("basic",))
        return _rows(v, {"words": "text_words"}, len(batch))

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        n = stats["text_words"]
        if n < self.min_words:
            return "too_few_words"
        if self.max_words is not None and n > self.max_words:
            return "too_many_words"
        return None


class SpecialChars(Filter):
    """Drop samples whose share of characters that are neither letters, digits nor
    whitespace exceeds ``max_ratio``. Writes ``text_special_ratio``; reason ``too_many_special_chars``.
    """

    name = "special_chars"
    example = {"max_ratio": 0.25}

    def __init__(self, max_ratio: float = 0.25, mode: str = DROP) -> None:
        super().__init__(mode)
        self.max_ratio = max_ratio

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        v = textstats.measure(_texts(batch), groups=("basic",))
        return _rows(v, {"special_ratio": "text_special_ratio"}, len(batch))

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        return "too_many_special_chars" if stats["text_special_ratio"] > self.max_ratio else None


_GOPHER_TOP = {2: 0.20, 3: 0.18, 4: 0.16}
_GOPHER_DUP = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}


class Repetition(Filter):
    """Gopher repetition filter: duplicate lines and paragraphs, the most frequent
    repeated n-gram (n = 2..4) and text covered by repeated n-grams (n = 5..10).

    Thresholds default to Gopher's (Rae et al. 2021, table A1). Writes ``text_dup_line_frac``,
    ``text_dup_line_char_frac``, ``text_dup_para_frac``, ``text_dup_para_char_frac``,
    ``text_top_{n}gram_char_frac``, ``text_dup_{n}gram_char_frac``; the reason names the
    first failed check, e.g. ``dup_line_frac`` or ``top_2gram_char_frac``.
    """

    name = "repetition"
    example = {"max_dup_line_frac": 0.3}

    def __init__(
        self,
        max_dup_line_frac: float = 0.30,
        max_dup_para_frac: float = 0.30,
        max_dup_line_char_frac: float = 0.20,
        max_dup_para_char_frac: float = 0.20,
        max_top_ngram_char_frac: dict[int, float] | None = None,
        max_dup_ngram_char_frac: dict[int, float] | None = None,
        mode: str = DROP,
    ) -> None:
        super().__init__(mode)
        self.max_dup_line_frac = max_dup_line_frac
        self.max_dup_para_frac = max_dup_para_frac
        self.max_dup_line_char_frac = max_dup_line_char_frac
        self.max_dup_para_char_frac = max_dup_para_char_frac
        self.max_top_ngram_char_frac = {
            int(k): float(v) for k, v in (max_top_ngram_char_frac or _GOPHER_TOP).items()
        }
        self.max_dup_ngram_char_frac = {
            int(k): float(v) for k, v in (max_dup_ngram_char_frac or _GOPHER_DUP).items()
        }
        self._limits = {
            "dup_line_frac": max_dup_line_frac,
            "dup_para_frac": max_dup_para_frac,
            "dup_line_char_frac": max_dup_line_char_frac,
            "dup_para_char_frac": max_dup_para_char_frac,
            **{f"top_{n}gram_char_frac": t for n, t in self.max_top_ngram_char_frac.items()},
            **{f"dup_{n}gram_char_frac": t for n, t in self.max_dup_ngram_char_frac.items()},
        }

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        v = textstats.measure(
            _texts(batch),
            top_ngrams=sorted(self.max_top_ngram_char_frac),
            dup_ngrams=sorted(self.max_dup_ngram_char_frac),
            groups=("lines", "ngrams"),
        )
        return _rows(v, {k: f"text_{k}" for k in self._limits}, len(batch))

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        for key, limit in self._limits.items():
            if stats[f"text_{key}"] > limit:
                return key
        return None


class C4Quality(Filter):
    """C4-style page heuristics: share of lines ending in terminal punctuation,
    "lorem ipsum", curly braces (code), and an optional bad-words list.

    Writes ``text_terminal_frac``, ``text_lorem``, ``text_curly`` (and ``text_bad_words``);
    reasons ``few_terminal_lines``, ``lorem_ipsum``, ``curly_braces``, ``bad_words``.
    ``min_terminal_frac`` defaults to 0 (off): captions rarely end in a full stop.
    """

    name = "c4_quality"
    example = {"min_terminal_frac": 0.0}

    def __init__(
        self,
        min_terminal_frac: float = 0.0,
        drop_lorem: bool = True,
        drop_curly: bool = True,
        bad_words: Sequence[str] | None = None,
        mode: str = DROP,
    ) -> None:
        super().__init__(mode)
        self.min_terminal_frac = min_terminal_frac
        self.drop_lorem, self.drop_curly = drop_lorem, drop_curly
        self.bad_words = list(bad_words) if bad_words else None
        self._bad = textstats.bad_words_pattern(self.bad_words or [])

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        v = textstats.measure(_texts(batch), bad_words=self._bad, groups=("c4",))
        keys = {"terminal_frac": "text_terminal_frac", "lorem": "text_lorem", "curly": "text_curly"}
        if self._bad is not None:
            keys["bad_words"] = "text_bad_words"
        return _rows(v, keys, len(batch))

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        if self.drop_lorem and stats["text_lorem"]:
            return "lorem_ipsum"
        if self.drop_curly and stats["text_curly"]:
            return "curly_braces"
        if stats.get("text_bad_words"):
            return "bad_words"
        if sample.text and stats["text_terminal_frac"] < self.min_terminal_frac:
            return "few_terminal_lines"
        return None
