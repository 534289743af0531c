"""Generators by spec string: ``load_generator("extractive")``, ``load_generator("smollm2")``,
``load_generator("hf:./model")``, ``load_generator("openai:http://127.0.0.1:8000/v1#m")``.

Importing this package is light; each back end imports torch, transformers or httpx only
when it is built. See :mod:`plait.generators.base` for the contract.
"""

from __future__ import annotations

from plait.generators.base import (
    ABSTAIN,
    GENERATORS,
    BaseGenerator,
    Generation,
    Generator,
    GenOptions,
    ImagePart,
    Message,
    Prompt,
    Source,
    generator_names,
    load_generator,
)

__all__ = [
    "ABSTAIN",
    "GENERATORS",
    "BaseGenerator",
    "GenOptions",
    "Generation",
    "Generator",
    "ImagePart",
    "Message",
    "Prompt",
    "Source",
    "generator_names",
    "load_generator",
]
