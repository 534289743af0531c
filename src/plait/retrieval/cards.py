"""What a listing or a search hit shows of a sample (a "card"), and the filters that
choose samples by language, licence, source, kind and stats ranges.

Plain Python over :class:`plait.schema.Sample`: the HTTP API, the export library and
the CLI all use it, so nothing here needs the ``serve`` extra.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from plait.av.timing import time_range
from plait.io.corpus import Corpus, sql_in, sql_str
from plait.langs import lang_where, sample_langs
from plait.schema import AUDIO, CLIP, VIDEO, Sample, image_slots
from plait.views import nearest_text

if TYPE_CHECKING:
    from plait.io.where import Expr


class FilterSpec(Protocol):
    """Structured filters: each list means "any of these"; lists combine with AND."""

    langs: list[str]
    licences: list[str]
    sources: list[str]
    kinds: list[str]


def build_where(where: str | Expr | None, filters: FilterSpec | None) -> Expr | None:
    """``where`` (parsed by :mod:`plait.io.where`) AND the structured filters: one
    expression tree, so no text in ``where`` can reach past its own parentheses.
    ``to_sql(tree)`` gives the SQL for Lance."""
    from plait.io import where as w

    if filters is None:
        return w.tree(where)
    return w.all_of(
        w.tree(where),
        w.Sql(lang_where(filters.langs)) if filters.langs else None,  # plait.langs's rule
        w.one_of("source.licence", filters.licences),
        w.one_of("source.dataset", filters.sources),
        w.one_of("kind", filters.kinds),
    )


def in_ranges(stats: dict[str, Any], ranges: dict[str, tuple[float | None, float | None]]) -> bool:
    """True when every ranged stat is a number inside its ``(lo, hi)`` (``None``: open)."""
    for key, (lo, hi) in ranges.items():
        value = stats.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            return False
    return True


def summary(sample: Sample, slot: int | None = None) -> dict[str, Any]:
    """What a result card shows: the caption nearest the matched slot, one image (a clip's
    keyframe; a video's or a sound's own file is no image), and a timed sample's range."""
    image = None
    pictures = image_slots(sample.kind)
    if pictures and slot is not None and 0 <= slot < len(sample.images) and sample.images[slot]:
        image = sample.images[slot]
    image = image or next(iter(sample.image_ids), None)
    if slot is not None and 0 <= slot < len(sample.texts) and sample.texts[slot]:
        caption = sample.texts[slot] or ""
    elif slot is not None and 0 <= slot < len(sample.images):
        caption = nearest_text(sample, slot)
    else:
        caption = next((t for t in sample.texts if t), "")
    return {
        "id": sample.id,
        "kind": sample.kind,
        "caption": caption[:500],
        "image": image,
        "dataset": sample.source.dataset,
        "licence": sample.source.licence,
        "langs": sorted(sample_langs(sample.texts, sample.langs, sample.stats)),
        "n_slots": len(sample.texts),
        "parent": sample.parent,
        "position": sample.position,
        "time": list(rng) if (rng := time_range(sample)) else None,
    }


def play_info(corpus: Corpus, samples: Iterable[Sample]) -> dict[str, dict[str, Any]]:
    """What a player needs for each clip, video or sound: the media to load (a clip's is
    its parent video's file), whether it is video or sound, and the span to play."""
    samples = [s for s in samples if s.kind in (CLIP, VIDEO, AUDIO)]
    parents = load_samples(
        corpus, sorted({s.parent for s in samples if s.kind == CLIP and s.parent})
    )
    out: dict[str, dict[str, Any]] = {}
    for s in samples:
        owner = parents.get(s.parent or "") if s.kind == CLIP else s
        rng = time_range(s)
        if owner is None or not owner.media_ids or rng is None:
            continue
        kind = "audio" if owner.kind == AUDIO else "video"
        out[s.id] = {"media": owner.media_ids[0], "kind": kind, "start": rng[0], "end": rng[1]}
    return out


def pages(corpus: Corpus, document_id: str, limit: int = 1000) -> list[dict[str, Any]]:
    """The cards of a document's pages, in page order (the first ``limit``)."""
    rows = corpus.samples(where=f"parent = {sql_str(document_id)}")
    rows.sort(key=lambda s: (s.position is None, s.position or 0, s.id))
    return [summary(s) for s in rows[:limit]]


def load_samples(corpus: Corpus, ids: list[str]) -> dict[str, Sample]:
    """Samples by id (in chunks of 500, so the ``IN`` list stays small)."""
    out: dict[str, Sample] = {}
    for i in range(0, len(ids), 500):
        out.update((s.id, s) for s in corpus.samples(where=sql_in("id", ids[i : i + 500])))
    return out
