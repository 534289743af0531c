"""Views of a sample that exporters and result cards read: image-text pairs, and one caption.

Exporters never read interleaved slots themselves; they ask for a view, so a
document with three images exports as three pairs, each image with the text
slot nearest to it (the following text wins a tie: captions usually follow).
"""

from __future__ import annotations

from dataclasses import dataclass

from plait.schema import Sample, image_slots


@dataclass(slots=True)
class PairView:
    """One image slot of a sample with the text that describes it."""

    sample: Sample
    slot: int
    media_id: str
    caption: str
    captions: list[str]  # every caption of a pair sample; the nearest text otherwise


def nearest_text(sample: Sample, slot: int) -> str:
    """The text slot closest to ``slot``; "" when the sample has no text."""
    ranked = [(abs(i - slot), 0 if i > slot else 1, i) for i, t in enumerate(sample.texts) if t]
    return sample.texts[min(ranked)[2]] or "" if ranked else ""


def pairs(sample: Sample) -> list[PairView]:
    """Each image of ``sample`` with its caption (pairs keep all their captions)."""
    texts = [t for t in sample.texts if t]
    out: list[PairView] = []
    if not image_slots(sample.kind):
        return out  # a video's or a sound's media slot is not an image
    for i, media_id in enumerate(sample.images):
        if media_id is None:
            continue
        if sample.kind == "pair":
            caps = texts
        else:
            near = nearest_text(sample, i)
            caps = [near] if near else []
        out.append(PairView(sample, i, media_id, caps[0] if caps else "", caps))
    return out
