"""Speech to timed text with Whisper (faster-whisper), offline.

Each sound, clip or video is read in ``chunk_s`` pieces (a ten-hour recording
never sits in memory whole). A piece whose level is under ``silence_db`` is
skipped before any model runs, and Silero voice-activity detection (bundled
with faster-whisper) removes the non-speech inside the rest, so silence costs
almost nothing. Every transcribed segment becomes a text slot tagged with its
language and its times in the file; a rerun replaces the slots it added.
"""

from __future__ import annotations

from typing import Any

from plait.errors import ConfigError
from plait.ops._timed import TIMED_KINDS, check_kinds, span
from plait.ops.base import Mapper, OpContext
from plait.schema import AUDIO, CLIP, Sample
from plait.slots import set_added_slots


class Speech(Mapper):
    """Transcribe speech into timed text slots, with the language detected.

    ``model``: ``tiny.en`` (English, default), ``base`` (multilingual) or a
    CTranslate2 Whisper folder; ``language`` forces one (else detected, except by
    English-only models). Writes ``speech_language``, ``speech_language_p``,
    ``speech_seconds`` (transcribed), ``speech_segments`` and ``speech_skipped_s``
    (seconds skipped as silence).
    """

    name = "speech"
    uses_model = True
    example = {"model": "tiny.en"}

    def __init__(
        self,
        model: str = "tiny.en",
        language: str | None = None,
        vad: bool = True,
        beam_size: int = 5,
        chunk_s: float = 600.0,
        silence_db: float = -55.0,
        kinds: list[str] | None = None,
        threads: int = 1,
    ) -> None:
        if beam_size < 1 or chunk_s < 1:
            raise ConfigError("need beam_size >= 1 and chunk_s >= 1")
        self.model, self.language, self.vad, self.beam_size = model, language, vad, beam_size
        self.chunk_s, self.silence_db, self.kinds, self.threads = (
            chunk_s,
            silence_db,
            check_kinds(kinds, [AUDIO, CLIP], TIMED_KINDS),
            threads,
        )
        self._asr: Any = None

    def check(self, corpus_path: str | None) -> None:
        from plait.av.whisper import model_path

        model_path(self.model)  # unknown names and missing packages fail before any work

    def setup(self) -> None:
        if self._asr is None:
            from plait.av import whisper

            self._asr = whisper.load(self.model, self.threads)

    def map(self, batch: list[Sample], ctx: OpContext) -> list[Sample]:
        from plait.av.audio import RATE, iter_audio, rms_db
        from plait.av.whisper import english_only

        lang = self.language or ("en" if english_only(self.model) else None)
        for s in batch:
            sp = span(s, ctx) if s.kind in self.kinds else None
            if sp is None:
                continue
            slots: list[Any] = []
            langs: dict[str, float] = {}
            skipped = spoken = 0.0
            t = sp.start
            for chunk in iter_audio(sp.source, start=sp.start, end=sp.end, chunk_s=self.chunk_s):
                dur = len(chunk) / RATE
                if rms_db(chunk) < self.silence_db:
                    skipped += dur
                    t += dur
                    continue
                self.setup()
                segments, info = self._asr.transcribe(
                    chunk,
                    language=lang,
                    beam_size=self.beam_size,
                    vad_filter=self.vad,
                    condition_on_previous_text=False,
                )
                found = [seg for seg in segments if seg.text.strip()]
                if found:
                    langs[info.language] = max(
                        langs.get(info.language, 0.0), float(info.language_probability)
                    )
                for seg in found:
                    slots.append(
                        (seg.text.strip(), info.language, (t + seg.start, t + min(seg.end, dur)))
                    )
                    spoken += min(seg.end, dur) - seg.start
                t += dur
            best = max(langs, key=lambda k: langs[k]) if langs else None
            s.stats.update(
                speech_language=best,
                speech_language_p=round(langs[best], 4) if best else None,
                speech_seconds=round(spoken, 3),
                speech_segments=len(slots),
                speech_skipped_s=round(skipped, 3),
            )
            set_added_slots(s, self.name, slots)
        return batch
