"""Encoders by spec string: ``load_encoder("minilm")``, ``load_encoder("hf:./clip")``, ...

Importing this package is light; each back end imports torch or transformers only
when it is built.
"""

from __future__ import annotations

from plait.encoders.base import (
    ENCODERS,
    Encoder,
    encoder_names,
    l2_normalise,
    load_encoder,
)

__all__ = ["ENCODERS", "Encoder", "check_spec", "encoder_names", "l2_normalise", "load_encoder"]


def check_spec(spec: str, corpus_path: str | None = None) -> None:
    """Fail now, without building anything, if ``spec`` cannot be built: an unknown
    encoder, or (with the corpus) a ``lit:NAME`` adapter the corpus lacks. Recipes call
    it from their steps' ``check`` so a missing adapter fails before any work."""
    from plait.encoders.base import parse_spec
    from plait.errors import UnknownNameError

    kind, arg, _ = parse_spec(spec)
    if kind not in ENCODERS:
        raise UnknownNameError("encoder", kind, encoder_names())
    if kind == "lit" and corpus_path:
        from plait.encoders.lit import check_adapter
        from plait.io.corpus import Corpus

        check_adapter(Corpus.open(corpus_path), arg)
