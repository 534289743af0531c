"""Keep only the caption slots in some languages."""

from __future__ import annotations

from plait.errors import ConfigError
from plait.langs import slot_langs
from plait.ops.base import Mapper, OpContext
from plait.schema import Sample
from plait.slots import remove_slots


class SelectLangs(Mapper):
    """Drop the text slots whose language is not in ``languages``.

    Multilingual sources tag each caption slot with its language at ingest (the
    Tux Paint sidecars: an English caption and ~70 translations). Text filters judge a
    sample's joined text, so a recipe that wants English pairs first reduces such a
    sample to its English slots; otherwise the joined translations fail language ID.
    A slot's language follows :mod:`plait.langs` (its tag, else the language detected
    for the sample by an earlier ``language_id``). A language matches its regional
    variants (``en`` keeps ``en_GB``). Slots of unknown language stay when
    ``keep_untagged`` (most sources tag nothing). With ``dedupe`` a kept text that
    repeats an earlier kept one is dropped too (regional variants often repeat the
    caption word for word). Image slots always stay. Writes ``text_slots_dropped``.
    The slots it removes are kept with the run (``replaced``): ``plait restore`` puts
    them back.
    """

    name = "select_langs"
    example = {"languages": ["en"], "keep_untagged": True, "dedupe": True}

    def __init__(
        self, languages: list[str], keep_untagged: bool = True, dedupe: bool = True
    ) -> None:
        if not languages:
            raise ConfigError("select_langs: languages must name at least one language")
        self.languages = [str(x) for x in languages]
        self.keep_untagged = bool(keep_untagged)
        self.dedupe = bool(dedupe)
        self._wanted = {x.lower() for x in self.languages}

    def _keep(self, lang: str | None) -> bool:
        if lang is None:
            return self.keep_untagged
        return lang.lower() in self._wanted or lang.split("_")[0].lower() in self._wanted

    def map(self, batch: list[Sample], ctx: OpContext) -> list[Sample]:
        for s in batch:
            langs = slot_langs(s.texts, s.langs, s.stats)
            seen: set[str] = set()
            keep = []
            for i, (t, lang) in enumerate(zip(s.texts, langs, strict=False)):
                if t is not None:
                    if not self._keep(lang) or (self.dedupe and t.strip() in seen):
                        continue
                    seen.add(t.strip())
                keep.append(i)
            dropped = len(s.texts) - len(keep)
            remove_slots(s, set(range(len(s.texts))) - set(keep))  # slot-keyed stats follow
            s.stats["text_slots_dropped"] = dropped
        return batch
