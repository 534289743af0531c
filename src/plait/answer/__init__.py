"""Answers grounded in a corpus: ``ask(corpus, question)`` and its replaceable steps.

retrieve (:mod:`.retrieve`) -> rerank (:mod:`.rerank`) -> keep and fit (:mod:`.context`)
-> prompt (:mod:`.prompt`) -> generate (:mod:`plait.generators`) -> parse (:mod:`.parse`).
"""

from __future__ import annotations

from plait.answer.pipeline import Asker, AskOptions, ask
from plait.answer.types import Answer, Candidate, Cut, Segment

__all__ = ["Answer", "AskOptions", "Asker", "Candidate", "Cut", "Segment", "ask"]
