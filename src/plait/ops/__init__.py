"""Operators by name: the registry recipes and ``plait ops`` use, and ``build``.

Every entry is an explicit ``"module:attr"`` string, imported on first use, so
``import plait.ops`` loads no operator module (and no model library).
"""

from __future__ import annotations

import inspect
from typing import Any

from plait.errors import ConfigError, ParamError
from plait.ops.base import ANNOTATE, DROP, Deduplicator, Filter, Mapper, Op, OpContext, Result
from plait.params import bind
from plait.registry import Registry

OPS: Registry[type[Op]] = Registry("operator")

_ENTRIES = {
    # image basics
    "image_size": "plait.ops.filters.image_geometry:ImageSize",
    "aspect_ratio": "plait.ops.filters.image_geometry:AspectRatio",
    "image_format": "plait.ops.filters.image_format:ImageFormat",
    # text quality (Gopher / C4)
    "caption_length": "plait.ops.filters.text_quality:CaptionLength",
    "word_count": "plait.ops.filters.text_quality:WordCount",
    "special_chars": "plait.ops.filters.text_quality:SpecialChars",
    "repetition": "plait.ops.filters.text_quality:Repetition",
    "c4_quality": "plait.ops.filters.text_quality:C4Quality",
    "language_id": "plait.ops.filters.language:LanguageId",
    # provenance
    "licence": "plait.ops.filters.provenance:LicenceFilter",
    "opt_out": "plait.ops.filters.provenance:OptOutFilter",
    # models
    "nsfw": "plait.ops.filters.nsfw:NsfwFilter",
    "text_in_image": "plait.ops.filters.ocr_text:TextInImage",
    "image_text_similarity": "plait.ops.filters.similarity:ImageTextSimilarity",
    "image_text_similarity_top": "plait.ops.dedup.similarity_top:SimilarityTopFraction",
    "learned_filter": "plait.ops.filters.learned:LearnedFilter",
    # dedup
    "dedup_media": "plait.ops.dedup.exact:ExactMediaDedup",
    "dedup_text": "plait.ops.dedup.exact:ExactTextDedup",
    "near_dup_image": "plait.ops.dedup.near_image:NearDupImage",
    "near_dup_text": "plait.ops.dedup.near_text:NearDupText",
    "semantic_dedup": "plait.ops.dedup.semantic:SemanticDedup",
    # mappers
    "clean_captions": "plait.ops.mappers.clean_captions:CleanCaptions",
    "select_langs": "plait.ops.mappers.select_langs:SelectLangs",
    # captions written or judged by a language model, and chosen by similarity
    "rewrite_captions": "plait.ops.caption.rewrite:RewriteCaptions",
    "caption_from_context": "plait.ops.caption.context:CaptionFromContext",
    "caption_judge": "plait.ops.caption.judge:CaptionJudge",
    "best_caption": "plait.ops.caption.best:BestCaption",
    # video and audio
    "clip_duration": "plait.ops.filters.duration:Duration",
    "black_frames": "plait.ops.filters.video_frames:BlackFrames",
    "static_frames": "plait.ops.filters.video_frames:StaticFrames",
    "motion": "plait.ops.filters.video_frames:Motion",
    "audio_silence": "plait.ops.filters.audio_level:Silence",
    "audio_loudness": "plait.ops.filters.audio_level:Loudness",
    "near_dup_clip": "plait.ops.dedup.near_clip:NearDupClip",
    "sound_events": "plait.ops.mappers.sound_events:SoundEvents",
    "speech": "plait.ops.mappers.speech:Speech",
    "ocr_text": "plait.ops.mappers.ocr:OcrText",
}
for _name, _target in _ENTRIES.items():
    OPS.add(_name, _target)


def build(name: str, /, **params: Any) -> Op:
    """Build operator ``name`` from recipe parameters, checked against its constructor.

    Unknown or missing fields and wrongly typed values raise :class:`ConfigError`
    naming the operator and the field, before anything runs.
    """
    cls = OPS.get(name)
    try:
        bind(cls.__init__, params)
    except ParamError as exc:
        raise ConfigError(f"operator {name!r}: {exc}") from exc
    try:
        op = cls(**params)
    except (TypeError, ValueError) as exc:  # a constructor that let a Python error through
        raise ConfigError(f"operator {name!r}: {exc}") from exc
    except ConfigError as exc:
        if type(exc) is not ConfigError:
            raise
        raise ConfigError(f"operator {name!r}: {exc}") from exc
    op._params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}
    return op


def describe(name: str) -> dict[str, Any]:
    """Name, kind, summary, docstring and fields of an operator (for ``plait ops``)."""
    cls = OPS.get(name)
    kind = (
        "deduplicator"
        if issubclass(cls, Deduplicator)
        else "mapper"
        if issubclass(cls, Mapper)
        else "filter"
    )
    doc = inspect.getdoc(cls) or ""
    sig = inspect.signature(cls.__init__)
    fields = [
        {
            "name": p.name,
            "type": p.annotation
            if isinstance(p.annotation, str)
            else getattr(p.annotation, "__name__", str(p.annotation)),
            "default": None if p.default is inspect.Parameter.empty else p.default,
            "required": p.default is inspect.Parameter.empty,
        }
        for p in list(sig.parameters.values())[1:]
    ]
    return {
        "name": name,
        "kind": kind,
        "summary": " ".join(doc.split("\n\n")[0].split()) if doc else "",
        "doc": doc,
        "uses_model": cls.uses_model,
        "fields": fields,
        "example": {"op": name, **cls.example},
    }


__all__ = [
    "ANNOTATE",
    "DROP",
    "OPS",
    "Deduplicator",
    "Filter",
    "Mapper",
    "Op",
    "OpContext",
    "Result",
    "build",
    "describe",
]
