"""The image-text pairs of a corpus, as ``plait align`` sees them.

Each sample with at least one image and one text contributes one pair group: the
image (its first image slot) with every text slot of the sample as a caption. A
Flickr-style pair sample (image + 5 captions) gives one image with 5 captions.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from plait.io.corpus import Corpus
from plait.io.where import where_sql
from plait.langs import slot_langs


@dataclass
class Pairs:
    sample_ids: list[str]
    media_ids: list[str]  # one image per sample
    captions: list[list[str]]  # the sample's texts
    # captions by language (plait.langs's rule; "none" = unknown): what the tower reads
    langs: Counter[str] = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.sample_ids)

    def subset(self, idx: list[int]) -> Pairs:
        return Pairs(
            [self.sample_ids[i] for i in idx],
            [self.media_ids[i] for i in idx],
            [self.captions[i] for i in idx],
        )


def read_pairs(
    corpus: Corpus, where: str | None = None, langs: Sequence[str | None] | None = None
) -> Pairs:
    """Pairs of the samples matching ``where`` (SQL over sample columns), in id order.

    ``langs`` keeps only captions in one of these languages by :mod:`plait.langs`'s rule
    (tag, else the sample's detected language; ``None`` = unknown), so a tower that reads
    one language is not trained on the other 76.
    """
    sids: list[str] = []
    mids: list[str] = []
    caps: list[list[str]] = []
    cols = ["id", "texts", "images", "langs", "stats"]
    rows = corpus.read("samples", columns=cols, where=where_sql(where)).to_pylist()
    rows.sort(key=lambda r: r["id"])
    allowed = None if langs is None else set(langs)
    by_lang: Counter[str] = Counter()
    for r in rows:
        images = [m for m in (r["images"] or []) if m]
        tags = slot_langs(r["texts"] or [], r["langs"], r["stats"])
        kept = [
            (t, tag)
            for t, tag in zip(r["texts"] or [], tags, strict=False)
            if t and t.strip() and (allowed is None or tag in allowed)
        ]
        if images and kept:
            sids.append(r["id"])
            mids.append(images[0])
            caps.append([t for t, _ in kept])
            by_lang.update(tag or "none" for _, tag in kept)
    return Pairs(sids, mids, caps, by_lang)
