"""Views of a sample that exporters and result cards read: image-text pairs, and one caption.

Exporters never read interleaved slots themselves; they ask for a view, so a
document with three images exports as three pairs, each image with the text
slot nearest to it (the following text wins a tie: captions usually follow).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from plait.errors import ConfigError
from plait.schema import Sample, image_slots
from plait.slots import added_by, original_slots, provenance


@dataclass(slots=True)
class PairView:
    """One image slot of a sample with the text that describes it."""

    sample: Sample
    slot: int
    media_id: str
    caption: str
    captions: list[str]  # every caption of a pair sample; the nearest text otherwise
    caption_slot: int | None = None  # the slot ``caption`` came from (pair samples)


def nearest_text(sample: Sample, slot: int) -> str:
    """The text slot closest to ``slot``; "" when the sample has no text."""
    ranked = [(abs(i - slot), 0 if i > slot else 1, i) for i, t in enumerate(sample.texts) if t]
    return sample.texts[min(ranked)[2]] or "" if ranked else ""


CAPTION_RULES = ("first", "original", "best", "generated", "mix:P")


def check_caption_rule(rule: str) -> float | None:
    """The rule's mix fraction (``mix:0.3`` -> 0.3; None for the other rules)."""
    if rule in CAPTION_RULES[:4]:
        return None
    if rule.startswith("mix:"):
        try:
            p = float(rule[4:])
        except ValueError:
            p = -1.0
        if 0 <= p <= 1:
            return p
    raise ConfigError(
        f"caption must be one of first, original, best, generated or mix:P (0 <= P <= 1), "
        f"not {rule!r}"
    )


def choose_caption(sample: Sample, rule: str = "first", seed: int = 0) -> int | None:
    """The text slot a pair exports as its caption, by ``rule``:

    - ``first``: the first text slot (what the input listed first);
    - ``original``: the first slot no operator added;
    - ``best``: the slot ``best_caption`` chose, else the original;
    - ``generated``: the best-scored generated slot (by ``best_caption``'s scores),
      else the first generated one, else the original;
    - ``mix:P``: Recap-DataComp's mix: a fraction P of samples (picked by a hash of the
      sample id and ``seed``, so an export is reproducible) take ``generated``, the
      rest ``original``.
    """
    texts = [i for i, t in enumerate(sample.texts) if t]
    if not texts:
        return None
    if rule == "first":
        return texts[0]
    orig = [i for i in original_slots(sample) if sample.texts[i]]
    fallback = orig[0] if orig else texts[0]
    p = check_caption_rule(rule)
    if p is not None:
        digest = hashlib.sha256(f"{seed}:{sample.id}".encode()).digest()
        rule = "generated" if int.from_bytes(digest[:8], "big") / 2**64 < p else "original"
    if rule == "original":
        return fallback
    if rule == "best":
        best = sample.stats.get("best_caption")
        ok = isinstance(best, int) and 0 <= best < len(sample.texts) and sample.texts[best]
        return best if ok else fallback
    gen = [i for i in texts if i in added_by(sample)]
    if not gen:
        return fallback
    scores = sample.stats.get("caption_scores") or {}
    scored = [i for i in gen if str(i) in scores]
    return max(scored, key=lambda i: scores[str(i)]) if scored else gen[0]


def caption_source(sample: Sample, slot: int | None) -> str | None:
    """``original``, or the operator that generated the slot (from its provenance)."""
    if slot is None:
        return None
    if slot not in added_by(sample):
        return "original"
    return (provenance(sample, slot) or {}).get("op") or "generated"


def pairs(sample: Sample, caption: str = "first", seed: int = 0) -> list[PairView]:
    """Each image of ``sample`` with its caption (pairs keep all their captions; which
    one is *the* caption follows ``caption``, see :func:`choose_caption`)."""
    texts = [t for t in sample.texts if t]
    out: list[PairView] = []
    if not image_slots(sample.kind):
        return out  # a video's or a sound's media slot is not an image
    chosen = choose_caption(sample, caption, seed) if sample.kind == "pair" else None
    for i, media_id in enumerate(sample.images):
        if media_id is None:
            continue
        if sample.kind == "pair":
            caps = texts
            first = sample.texts[chosen] or "" if chosen is not None else ""
        else:
            near = nearest_text(sample, i)
            caps = [near] if near else []
            first = caps[0] if caps else ""
        out.append(PairView(sample, i, media_id, first, caps, chosen))
    return out
