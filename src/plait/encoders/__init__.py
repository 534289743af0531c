"""Encoders by spec string: ``load_encoder("minilm")``, ``load_encoder("hf:./clip")``, ...

Importing this package is light; each back end imports torch or transformers only
when it is built.
"""

from __future__ import annotations

from plait.encoders.base import ENCODERS, Encoder, encoder_names, l2_normalise, load_encoder

__all__ = ["ENCODERS", "Encoder", "encoder_names", "l2_normalise", "load_encoder"]
