"""Typed spans and question terms for the model-free answers of ``extractive``.

Deterministic rules over text: which words of a question are its anchors (names,
numbers, dates: what a source must contain to be about the same thing), what type of
answer the question wants (an amount, a date, a place, a name, a passage, images), and
where in a source's lines a labelled field's value sits (OCR of a receipt puts
``TOTAL:`` on one line and ``9.00`` on the next).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

WORD = re.compile(r"[A-Za-z0-9]+(?:[.'&/-][A-Za-z0-9]+)*")
AMOUNT = re.compile(
    r"(?<![\d.,])(?:RM|\$|USD|EUR|£|€)?\s?(\d{1,3}(?:,\d{3})+|\d+)[.,](\d{2})(?![\d])"
)
DATE = re.compile(
    r"(?<![\d/.-])(\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{4}[/.-]\d{1,2}[/.-]\d{1,2}|"
    r"\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{2,4})",
    re.I,
)
_STOP = """a an the of on in at to for from by with and or is was were are be been what which
    who whom whose when where how much many did does do show me find give tell list any all
    this that these those it its there their please picture pictures photo photos image
    images some one receipt receipts dated date total amount page document paper say says
    said about according"""
STOP = frozenset(_STOP.split())
# Words that ask for a type of answer, and the type.
TYPES = (
    (("show", "picture", "photo", "image", "images", "pictures", "photos"), "image"),
    (("total", "amount", "much", "price", "cost", "paid", "pay", "sum"), "amount"),
    (("when", "date", "day"), "date"),
    (("address", "where", "located", "location"), "address"),
    (("company", "shop", "store", "who", "merchant", "vendor", "issued"), "name"),
)


@dataclass(frozen=True)
class Terms:
    words: frozenset[str]  # content words, lower case
    anchors: tuple[str, ...]  # names, numbers and dates the answer must be about
    kind: str  # image, amount, date, address, name, blank or passage
    label: str  # the field word the question names ("total"), if any


def words(text: str) -> list[str]:
    return [w.lower() for w in WORD.findall(text)]


BLANK = re.compile(r"_{3,}")  # a cloze question's gap: "fill the ____ in ..."
DAY = re.compile(r"^\d{1,2}-\d{1,2}-\d{2,4}$")  # a normalised date anchor
_MONTHS = {
    m: str(i)
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


def norm_date(text: str) -> str:
    """One form for the ways a day is written: ``25/12/2018``, ``25-12-18``,
    ``25.12.2018``, ``25 Dec 2018`` and ``2018-12-25`` all become ``25-12-18``."""
    parts = [p for p in re.split(r"[/.\-\s,]+", text.strip().lower()) if p]
    parts = [p if p.isdigit() else _MONTHS.get(p[:3], p) for p in parts]
    if len(parts) == 3 and len(parts[0]) == 4 and parts[0].isdigit():  # year first
        parts = [parts[2], parts[1], parts[0]]
    if len(parts) == 3 and parts[2].isdigit() and len(parts[2]) == 4 and len(parts[0]) <= 2:
        parts[2] = parts[2][2:]
    return "-".join(p.lstrip("0") or "0" for p in parts)


def dates_in(text: str) -> set[str]:
    """The days a text names, normalised (:func:`norm_date`)."""
    return {norm_date(d) for d in DATE.findall(text)}


def question_terms(question: str) -> Terms:
    q = question.strip()
    lower = words(q)
    kind = "blank" if BLANK.search(q) else "passage"
    first = lower[0] if lower else ""
    for keys, k in TYPES if kind == "passage" else ():
        if k == "image":
            if first in ("show", "find") or any(w in keys[1:] for w in lower[:4]):
                kind = "image"
                break
            continue
        if any(w in keys for w in lower):
            kind = k
            break
    label = next((w for w in lower if w in ("total", "subtotal", "tax", "change", "cash")), "")
    anchors: list[str] = [norm_date(d) for d in DATE.findall(q)]
    masked = DATE.sub(" ", q)
    for w in WORD.findall(masked):
        lw = w.lower()
        if lw in STOP:
            continue
        if w[0].isupper() or any(c.isdigit() for c in w):
            anchors.append(lw)
    content = frozenset(w for w in lower if w not in STOP)
    return Terms(content, tuple(dict.fromkeys(anchors)), kind, label)


def squash(text: str) -> str:
    """Lower case letters and digits only: OCR often drops the spaces between words."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def coverage(terms: Terms, text: str) -> float:
    """Share of the question's anchors (else content words) that ``text`` contains,
    weighted by length (a long name counts more than a two-letter word). Matching is on
    squashed text, so ``ABCHOTRADING`` holds ``abc``, ``ho`` and ``trading``."""
    want = terms.anchors or tuple(terms.words)
    if not want:
        return 0.0
    dates = dates_in(text)
    flat = squash(text)
    total = hit = 0.0
    date_missed = False
    for a in want:
        weight = float(len(squash(a)) or 1)
        total += weight
        if a in dates or (squash(a) and squash(a) in flat and "-" not in a):
            hit += weight
        elif "-" in a and a[0].isdigit():
            date_missed = True
    # a date the question names is a hard constraint: another day's receipt is not it
    return hit / total * (0.5 if date_missed else 1.0)


def amounts(line: str) -> list[str]:
    return [f"{a.replace(',', '')}.{b}" for a, b in AMOUNT.findall(line)]


# Words beside a label that say its value is a part (lower weight) or the final figure
# (higher weight): "SUB TOTAL", "TOTAL QTY" vs "ROUNDED TOTAL", "TOTAL (INCL. GST)".
_PART = ("sub", "qty", "quantity", "item", "disc", "excl", "saving", "gst", "tax", "before")
_FINAL = ("round", "incl", "nett", "net ", "grand", "payable", "due", "rm")


def labelled_amount(lines: list[str], label: str) -> tuple[str, int] | None:
    """The amount a label names: on the label's line, else on one of the next two lines.

    Every line that holds ``label`` votes for its value; a label with a modifier
    (``SUB TOTAL``, ``TOTAL QTY``) votes less, one that says it is final (``ROUNDED``,
    ``INCL. GST``) more. The value with most votes wins, the later one on a tie (a
    receipt's final total comes last). Returns (value, line).
    """
    votes: dict[str, float] = {}
    where: dict[str, int] = {}
    for i, line in enumerate(lines):
        low = line.lower()
        if label not in low:
            continue
        final = any(m in low for m in _FINAL if m != label)
        weight = 1.5 if final else 0.3 if any(m in low for m in _PART if m != label) else 1.0
        after = low.split(label, 1)[1]
        found = amounts(after)
        j = i
        if not found:
            for j in range(i + 1, min(i + 3, len(lines))):
                found = amounts(lines[j])
                if found:
                    break
                if re.search(r"[a-z]{3}", lines[j].lower()):  # another label: no value here
                    break
        if found:
            v = found[0]
            votes[v] = votes.get(v, 0.0) + weight
            where[v] = max(where.get(v, -1), j)
    if not votes:
        return None
    best = max(votes, key=lambda v: (votes[v], where[v]))
    return best, where[best]


def first_date(lines: list[str]) -> tuple[str, int] | None:
    for i, line in enumerate(lines):
        m = DATE.search(line)
        if m:
            return m.group(1), i
    return None


def best_line(terms: Terms, lines: list[str]) -> tuple[str, int] | None:
    """The line (or sentence) sharing most content words with the question."""
    best, score = None, 0.0
    for i, line in enumerate(lines):
        have = set(words(line))
        s = len(terms.words & have) + 0.5 * sum(1 for a in terms.anchors if a in have)
        if s > score:
            best, score = (line.strip(), i), s
    return best


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        out.extend(s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9])", line) if s.strip())
    return out


_PREAMBLE = re.compile(
    r"^\s*(?:show|find)\s+(?:me\s+)?(?:\w+\s+)?(?:photos|pictures|images)\s*:\s*", re.I
)
_IN_TURN = re.compile(r"(?:^|,|;)\s*(?:and\s+)?(?:first|then|next|after\s+that|finally)\s+", re.I)


def question_parts(question: str) -> list[str]:
    """The descriptions a "show me" question asks for in turn ("show me two photos:
    first A, then B" -> [A, B]), in the order asked; ``[question]`` when it asks for one
    thing. Each part is retrieved, judged and placed on its own, so the answer shows
    the images in the order the question gives (MRAMG-Bench's ordering)."""
    if question_terms(question).kind != "image":
        return [question]
    body = _PREAMBLE.sub("", question.strip())
    parts = [p.strip(" ,;.") for p in _IN_TURN.split(body)]
    parts = [p for p in parts if len(words(p)) >= 2]
    return parts if len(parts) > 1 else [question]


QUOTED = re.compile(r"[\"\u201c](.*)[\"\u201d]", re.S)


def quoted_passage(question: str, least: int = 5) -> str | None:
    """The passage a question quotes (``least`` words or more, a cloze gap left out), or
    None: text to be matched word for word, which BM25 does and a sentence vector,
    averaging over a page, does not."""
    m = QUOTED.search(question)
    if not m:
        return None
    passage = " ".join(BLANK.sub(" ", m.group(1)).split())
    return passage if len(passage.split()) >= least else None


def passage_overlap(passage: str, text: str) -> float:
    """The share of the passage's word pairs (in order) that ``text`` holds: 1 for a
    source that has the passage word for word, near 0 for one on another subject."""
    pairs = set(zip(words(passage), words(passage)[1:], strict=False))
    if not pairs:
        return 0.0
    got = set(zip(words(text), words(text)[1:], strict=False))
    return len(pairs & got) / len(pairs)


def fill_blank(question: str, text: str, most: int = 4) -> tuple[str, int] | None:
    """The word of ``text`` that stands where the question's quoted sentence has its
    gap, and how many words of context on each side agreed (the most, from ``most``
    down to one); None when the sentence is not in ``text``."""
    quoted = QUOTED.search(question)
    parts = BLANK.split(quoted.group(1) if quoted else question, maxsplit=1)
    if len(parts) != 2:
        return None
    left, right = parts[0].split(), parts[1].split()
    flat = " ".join(text.split())
    for n in range(most, 0, -1):
        lw, rw = left[-n:] if left else [], right[:n]
        if not lw and not rw:
            break
        pattern = (
            (r"\s+".join(map(re.escape, lw)) + r"\s+" if lw else r"(?:^|\s)")
            + r"(\S+)"
            + (r"\s+" + r"\s+".join(map(re.escape, rw)) if rw else r"(?:\s|$)")
        )
        m = re.search(pattern, flat, re.I)
        if m:
            return m.group(1).strip(".,;:!?\"'()"), n
    return None


# Words a model wraps a one-word answer in ("The missing word is ...").
_FILLER = frozenset(
    [
        "the",
        "a",
        "an",
        "missing",
        "word",
        "is",
        "answer",
        "blank",
        "fills",
        "fill",
        "it",
        "that",
        "which",
        "in",
    ]
)


def short_answer(question: str, text: str) -> str:
    """The answer's span of the type the question asks for: the last amount for "what was
    the total" (models restate the question, dates included, before the figure), the
    first date for "when", the word for a cloze gap; otherwise the whole text."""
    kind = question_terms(question).kind
    if kind == "amount":
        found = amounts(text)
        if found:
            return found[-1]
    if kind == "date":
        m = DATE.search(text)
        if m:
            return m.group(1)
    if kind == "blank":
        quoted = re.search(r"[\"'\u201c\u2018]([^\"'\u201d\u2019\s]+)[\"'\u201d\u2019]", text)
        if quoted:
            return quoted.group(1)
        kept = [w for w in WORD.findall(text) if w.lower() not in _FILLER]
        return kept[0] if kept else text
    return text
