"""Sound-event labels from YAMNet, as stats and as text that search can match.

For each sound, clip or video, the 521 AudioSet class scores are averaged over
0.975 s windows (hop 0.48 s). ``sound_events`` in stats lists the ``top_k``
classes with their scores. The labels also become text slots (``"Dog, Bark,
Animal"``) with their times: one slot per ``window_s`` of sound, so a hit on
"dog barking" in an hour of audio points at the ten seconds where it barks.
A rerun replaces the slots it added before. Silent spans get no labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait.errors import ConfigError
from plait.ops._timed import TIMED_KINDS, check_kinds, span
from plait.ops.base import Mapper, OpContext
from plait.schema import AUDIO, CLIP, Sample
from plait.slots import TextSlot, set_added_slots


class SoundEvents(Mapper):
    """Label what is heard (YAMNet, AudioSet classes): stats and timed text slots.

    Writes ``sound_events`` (``[[label, score], ...]`` over the whole span) and one
    text slot of labels per ``window_s`` seconds: the ``top_k`` classes scoring at
    least ``min_score``. ``kinds`` lists the sample kinds it labels (a video's
    clips already cover the video).
    """

    name = "sound_events"
    uses_model = True
    example = {"top_k": 3}

    def __init__(
        self,
        top_k: int = 5,
        min_score: float = 0.0,
        window_s: float = 10.0,
        silence_db: float = -60.0,
        kinds: list[str] | None = None,
        model: str | None = None,
        threads: int = 1,
    ) -> None:
        if top_k < 1 or not 0 <= min_score <= 1 or window_s <= 0:
            raise ConfigError("need top_k >= 1, 0 <= min_score <= 1 and window_s > 0")
        self.top_k, self.min_score, self.window_s = top_k, min_score, window_s
        self.silence_db, self.kinds, self.model, self.threads = (
            silence_db,
            check_kinds(kinds, [AUDIO, CLIP], TIMED_KINDS),
            model,
            threads,
        )
        self._net: Any = None

    def check(self, corpus_path: str | None) -> None:
        from plait.av.yamnet import model_dir

        model_dir(self.model)  # ConfigError naming where it looked, before any work

    def setup(self) -> None:
        if self._net is None:
            from plait.av import yamnet

            self._net = yamnet.load(self.model, self.threads)

    def map(self, batch: list[Sample], ctx: OpContext) -> list[Sample]:
        from plait.av.audio import RATE, iter_audio, rms_db
        from plait.av.yamnet import top_labels

        for s in batch:
            sp = span(s, ctx) if s.kind in self.kinds else None
            if sp is None:
                continue
            self.setup()
            names = self._net.names
            total = np.zeros(len(names), np.float64)
            windows = 0
            slots: list[TextSlot] = []
            t = sp.start
            for chunk in iter_audio(sp.source, start=sp.start, end=sp.end, chunk_s=self.window_s):
                dur = len(chunk) / RATE
                if rms_db(chunk) >= self.silence_db:
                    scores = self._net.scores(chunk)
                    total += scores.sum(axis=0)
                    windows += len(scores)
                    labels = top_labels(names, scores.mean(axis=0), self.top_k, self.min_score)
                    if labels:
                        slots.append((", ".join(lb for lb, _ in labels), "en", (t, t + dur)))
                t += dur
            mean = total / windows if windows else total
            s.stats["sound_events"] = (
                top_labels(names, mean, self.top_k, self.min_score) if windows else []
            )
            set_added_slots(s, self.name, slots)
        return batch
