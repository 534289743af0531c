"""``rewrite_captions``: n rewrites of each caption by a language model (LaCLIP style)."""

from __future__ import annotations

from typing import Any

from plait.errors import ConfigError
from plait.langs import slot_langs
from plait.ops.base import Mapper, OpContext, Result
from plait.ops.caption.base import Generating
from plait.ops.caption.prompts import REWRITE_STYLES
from plait.ops.caption.text import clean_caption, normalise
from plait.schema import Sample
from plait.slots import added_by, original_slots, provenance, set_added_slots


class RewriteCaptions(Generating, Mapper):
    """Add ``n`` rewrites of each original caption as new text slots (LaCLIP style).

    Each rewrite uses one of the ``styles`` (``reword``, ``place_first``, ``simple``,
    ``fluent``: an instruction shown by three worked examples); with ``temperature`` 0
    (greedy, reproducible) ``n`` is at most the number of styles, above 0 the styles
    repeat with sampling. Only original slots are rewritten (never a generated one),
    the first ``max_sources`` of them per sample (0: all), in the ``langs`` given (by
    :mod:`plait.langs`'s rule; none: any). A rewrite keeps its source's language tag.

    An answer that is not a usable caption (empty, cut off, the same words as the
    source, a repeat, the prompt echoed) is not added and counted by reason, as is a
    failed call. Writes ``rewrites`` (slots added) and ``rewrite_failed`` (by reason);
    each added slot's provenance goes to ``stats.generated``. A rerun replaces the slots
    it added; answers come from the generation cache, so nothing is generated twice.
    """

    name = "rewrite_captions"
    example = {"generator": "extractive", "n": 1}

    def __init__(
        self,
        generator: str = "smollm2",
        n: int = 1,
        styles: list[str] | None = None,
        max_sources: int = 0,
        langs: list[str] | None = None,
        temperature: float = 0.0,
        max_new_tokens: int = 48,
        instruction: str | None = None,
        max_calls: int | None = None,
        cache: str = "corpus",
    ) -> None:
        self._init_generating(generator, cache, max_new_tokens, max_calls)
        names = list(styles) if styles else list(REWRITE_STYLES)
        unknown = [s for s in names if s not in REWRITE_STYLES]
        if unknown:
            raise ConfigError(
                f"unknown rewrite style {unknown[0]!r}; styles: {', '.join(REWRITE_STYLES)}"
            )
        if n < 1 or max_sources < 0 or temperature < 0:
            raise ConfigError("need n >= 1, max_sources >= 0 and temperature >= 0")
        if temperature == 0 and n > len(names):
            raise ConfigError(
                f"greedy decoding gives the same rewrite twice: n={n} needs at least {n} "
                f"styles (have {len(names)}) or a temperature above 0"
            )
        self.n, self.styles, self.max_sources, self.langs = n, styles, max_sources, langs
        self.temperature, self.instruction = temperature, instruction
        self._styles = [REWRITE_STYLES[s].with_system(instruction) for s in names]

    def _sources(self, s: Sample) -> list[int]:
        langs = slot_langs(s.texts, s.langs, s.stats)
        want = set(self.langs) if self.langs else None
        out = [
            i
            for i in original_slots(s)
            if (s.texts[i] or "").strip() and (want is None or langs[i] in want)
        ]
        return out[: self.max_sources] if self.max_sources else out

    def process(self, batch: list[Sample], ctx: OpContext) -> Result:
        return self._with_counts(super().process(batch, ctx))

    def map(self, batch: list[Sample], ctx: OpContext) -> list[Sample]:
        jobs: list[tuple[int, int, int]] = []  # (sample, source slot, k)
        prompts, variants = [], []
        for b, s in enumerate(batch):
            for i in self._sources(s):
                for k in range(self.n):
                    style = self._styles[k % len(self._styles)]
                    jobs.append((b, i, k))
                    prompts.append(style.render(caption=(s.texts[i] or "").strip()))
                    variants.append(str(k // len(self._styles)) if self.temperature > 0 else "")
        answers = self._ask(ctx, prompts, variants)
        found: dict[int, list[tuple[int, int, object]]] = {}
        for (b, i, k), ans in zip(jobs, answers, strict=True):
            found.setdefault(b, []).append((i, k, ans))
        for b, s in enumerate(batch):
            self._apply(s, found.get(b, []), ctx)
        return batch

    def _apply(self, s: Sample, results: list, ctx: OpContext) -> None:
        langs = slot_langs(s.texts, s.langs, s.stats)
        mine = added_by(s, self.name)
        seen = {normalise(t) for j, t in enumerate(s.texts) if t and j not in mine}
        before: dict[tuple, tuple[str, dict[str, Any]]] = {}  # an earlier run's slots
        for j in mine:
            rec, text = provenance(s, j), s.texts[j]
            if rec and text:
                key = (rec.get("from"), (rec.get("params") or {}).get("k"), rec.get("prompt"))
                before[key] = (text, rec)
        items: list[tuple[str, str | None, None]] = []
        records: list[dict[str, Any]] = []
        failed: dict[str, int] = {}
        for i, k, ans in results:
            style = self._styles[k % len(self._styles)]
            reason = ans.reason
            cap: str | None = None
            if reason is None:
                cap, reason = clean_caption(ans.text, ans.finish, source=s.texts[i])
            elif (i, k, style.hash) in before:  # the call failed: keep what a run made
                old, rec = before[(i, k, style.hash)]
                items.append((old, langs[i], None))
                records.append(rec)
                seen.add(normalise(old))
                self._counts["kept_previous"] += 1
                continue
            if cap is not None and normalise(cap) in seen:
                cap, reason = None, "duplicate"
            if cap is None:
                reason = reason or "error"
                failed[reason] = failed.get(reason, 0) + 1
                if ans.reason is None:  # the call worked; its answer was not a caption
                    self._counts[f"unusable:{reason}"] += 1
                continue
            seen.add(normalise(cap))
            items.append((cap, langs[i], None))
            records.append(
                self._record(ctx, style, i, style=style.name, k=k, temperature=self.temperature)
            )
        set_added_slots(s, self.name, items, records)
        self._counts["added"] += len(items)
        s.stats["rewrites"] = len(items)
        s.stats["rewrite_failed"] = dict(sorted(failed.items()))
