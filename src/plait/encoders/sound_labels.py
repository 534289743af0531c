"""``yamnet``: text and sound in one space, through YAMNet's 521 AudioSet class names.

No text-audio model (CLAP and kin) can be had offline here, so the bridge goes
through words: a sound's vector is the expectation, under YAMNet's class
probabilities (averaged over its 0.975 s windows), of the MiniLM embeddings of
the class names; a text's vector is its MiniLM embedding. A query "a dog
barking" then lands near sounds YAMNet hears as "Dog", "Bark", "Bow-wow". On
the 106 captioned Tux Paint sound effects this soft expectation finds the right
sound more often than embedding the top labels as a sentence (see README).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from plait.encoders.base import TEXT, BaseEncoder, l2_normalise

if TYPE_CHECKING:
    from plait.io.corpus import Corpus

AUDIO = "audio"


@functools.lru_cache(maxsize=1)
def _towers(names: tuple[str, ...]) -> tuple[Any, np.ndarray]:
    """MiniLM and the class names' unit vectors (521 x 384), built once per process."""
    from plait.encoders.minilm import MiniLMEncoder

    text = MiniLMEncoder()
    return text, text.encode_text(list(names))


class SoundLabelBridge(BaseEncoder):
    dim = 384
    modalities = frozenset({TEXT, AUDIO})

    def __init__(
        self,
        *,
        corpus: Corpus | None = None,
        model: str | None = None,
        threads: Any = 1,
    ) -> None:
        from plait.av import yamnet

        self.name = "yamnet"
        self.net = yamnet.load(model, int(threads))
        self.text, self.classes = _towers(tuple(self.net.names))
        self.batch_size = self.text.batch_size

    def _text_batch(self, texts: list[str]) -> np.ndarray:
        return self.text._text_batch(texts)

    def class_probabilities(self, wave: np.ndarray) -> np.ndarray:
        """YAMNet's class scores for a mono 16 kHz sound, averaged over its windows."""
        return self.net.scores(wave).mean(axis=0)

    def encode_audio(self, waves: Sequence[np.ndarray]) -> np.ndarray:
        """Unit vectors of mono 16 kHz sounds (see the module doc)."""
        self._check(AUDIO)
        if not waves:
            return np.zeros((0, self.dim), np.float32)
        probs = np.stack([self.class_probabilities(w) for w in waves])
        return l2_normalise(probs @ self.classes)
