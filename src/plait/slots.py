"""Text slots an operator adds, and what stats say about single slots.

Operators that add text slots (transcripts, sound labels, rewritten or generated
captions) append them at the end and record them in ``stats.added_slots`` (operator ->
slot indices), so a rerun replaces them instead of doubling them. Two stats keys hold
per-slot records keyed by slot index: ``times`` (a timed slot's span, see
:mod:`plait.av.timing`), ``generated`` (a generated slot's provenance: operator,
generator, prompt template hash, parameters, source slot, run) and per-slot scores;
others name one slot (``best_caption``). Whoever adds or removes
slots goes through this module, so those keys stay aligned with the slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plait.schema import Sample

# stats keys of per-slot records keyed by the slot index (as a string), and stats
# keys whose value is one slot index
SLOT_KEYED = ("times", "generated", "caption_scores", "judge_scores")
SLOT_VALUED = ("best_caption", "ocr_slot")
TextSlot = tuple[str, str | None, tuple[float, float] | None]  # text, language, span


def _keyed(stats: dict[str, Any], name: str) -> dict[int, Any]:
    return {int(k): v for k, v in (stats.get(name) or {}).items() if str(k).isdigit()}


def remove_slots(sample: Sample, drop: set[int]) -> None:
    """Remove the slots at ``drop``, keeping ``added_slots`` and the slot-keyed stats
    aligned with the slots that remain."""
    if not drop:
        return
    n = len(sample.texts)
    keep = [i for i in range(n) if i not in drop]
    new_index = {old: new for new, old in enumerate(keep)}
    langs = list(sample.langs or [None] * n)
    sample.texts = [sample.texts[i] for i in keep]
    sample.images = [sample.images[i] for i in keep]
    sample.langs = [langs[i] for i in keep]
    st = sample.stats
    if "added_slots" in st:
        st["added_slots"] = {
            op: [new_index[i] for i in idx if i in new_index]
            for op, idx in (st.get("added_slots") or {}).items()
        }
    for name in SLOT_KEYED:
        if name in st:
            st[name] = {
                str(new_index[i]): v for i, v in sorted(_keyed(st, name).items()) if i in new_index
            }
    for name in SLOT_VALUED:
        v = st.get(name)
        if isinstance(v, int) and not isinstance(v, bool):
            if v in new_index:
                st[name] = new_index[v]
            else:
                st.pop(name)


def added_by(sample: Sample, op: str | None = None) -> set[int]:
    """Slot indices added by ``op`` (by any operator when None)."""
    added = sample.stats.get("added_slots") or {}
    ops = [op] if op is not None else list(added)
    return {int(i) for o in ops for i in added.get(o, [])}


def set_added_slots(
    sample: Sample,
    op: str,
    items: Sequence[TextSlot],
    provenance: Sequence[dict[str, Any] | None] | None = None,
) -> list[int]:
    """Replace the text slots ``op`` added to ``sample`` on an earlier run with ``items``,
    so a rerun never doubles them: the first items take the places of the old slots (in
    order, so a rerun that makes the same slots leaves the sample as it was), old slots
    left over go, and further items are appended. Spans go to ``stats.times``;
    ``provenance`` (one record or None per item) to ``stats.generated``. A record for
    the same text as the slot it replaces keeps its first ``run``: an unchanged slot
    keeps the run that made it."""
    mine = sorted(
        i
        for i in added_by(sample, op)
        if 0 <= i < len(sample.texts) and sample.texts[i] is not None
    )
    old = {
        sample.texts[i]: rec for i, rec in _keyed(sample.stats, "generated").items() if i in mine
    }
    reuse, extra = mine[: len(items)], set(mine[len(items) :])
    if extra:  # fewer slots than last time: the surplus goes (the rest shift with it)
        remove_slots(sample, extra)
        reuse = sorted(
            i
            for i in added_by(sample, op)
            if 0 <= i < len(sample.texts) and sample.texts[i] is not None
        )
    added = {k: list(v) for k, v in (sample.stats.get("added_slots") or {}).items()}
    times = _keyed(sample.stats, "times")
    generated = _keyed(sample.stats, "generated")
    langs = list(sample.langs or [None] * len(sample.texts))
    places: list[int] = []
    for j, (text, lang, when) in enumerate(items):
        if j < len(reuse):
            pos = reuse[j]
            if sample.texts[pos] != text:  # scores of the text that was there are stale
                for name in SLOT_KEYED:
                    if name not in ("times", "generated") and name in sample.stats:
                        sample.stats[name].pop(str(pos), None)
            sample.texts[pos] = text
            langs[pos] = lang
        else:
            pos = len(sample.texts)
            sample.texts.append(text)
            sample.images.append(None)
            langs.append(lang)
        places.append(pos)
        times.pop(pos, None)
        generated.pop(pos, None)
        if when is not None:
            times[pos] = [round(when[0], 3), round(when[1], 3)]
        rec = provenance[j] if provenance else None
        if rec is not None:
            before = old.get(text)
            if before is not None and _same_origin(before, rec) and "run" in before:
                rec = {**rec, "run": before["run"]}
            generated[pos] = rec
    sample.langs = langs
    added.pop(op, None)
    if places:
        added[op] = places
    sample.stats["added_slots"] = added
    sample.stats["times"] = {str(k): v for k, v in sorted(times.items())}
    if generated or "generated" in sample.stats:
        sample.stats["generated"] = {str(k): v for k, v in sorted(generated.items())}
    return places


def _same_origin(a: dict[str, Any], b: dict[str, Any]) -> bool:
    fields = ("op", "generator", "prompt", "from")
    return all(a.get(f) == b.get(f) for f in fields)


def original_slots(sample: Sample) -> list[int]:
    """Text slots no operator added (what the input said), in order."""
    added = added_by(sample)
    return [i for i, t in enumerate(sample.texts) if t is not None and i not in added]


def provenance(sample: Sample, slot: int) -> dict[str, Any] | None:
    """The provenance record of a generated slot (None for an original one)."""
    return _keyed(sample.stats, "generated").get(slot)
