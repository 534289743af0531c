"""plait: a multimodal data engine.

Build a corpus from raw image-text data, curate it, embed and index it, search
it every way, and serve it. ``import plait`` is light: models, Ray and the web
server load only when a component that needs them is built.
"""

from __future__ import annotations

import typing

from plait.errors import (
    ConfigError,
    CorpusError,
    CorpusNotFoundError,
    InputError,
    MissingDependencyError,
    NotFoundError,
    PlaitError,
    SecurityError,
    UnknownNameError,
)
from plait.io.corpus import Corpus
from plait.schema import Sample, Source

if typing.TYPE_CHECKING:
    from typing import Any

__version__ = "0.1.0"


def ask(corpus: Any, question: str, **options: Any) -> Any:
    """Answer a question from a corpus, with cited sources (see :func:`plait.answer.ask`).
    Imported on first use: ``import plait`` stays light."""
    from plait.answer import ask as _ask

    return _ask(corpus, question, **options)


__all__ = [
    "ConfigError",
    "Corpus",
    "CorpusError",
    "CorpusNotFoundError",
    "InputError",
    "MissingDependencyError",
    "NotFoundError",
    "PlaitError",
    "Sample",
    "SecurityError",
    "Source",
    "UnknownNameError",
    "__version__",
    "ask",
]
