"""YAMNet (AudioSet, 521 sound classes) as TFLite, run with ai-edge-litert.

The model takes fixed windows of 0.975 s at 16 kHz and gives one score per class;
windows hop by 0.48 s as in the original. Its weights are not on PyPI: they live
in ``../shared/data/models/yamnet`` (``yamnet.tflite`` + ``yamnet_class_map.csv``),
or wherever ``PLAIT_YAMNET`` (a folder) or the operator's ``model`` option points.
Loaded models are kept per process, so a worker loads each once.
"""

from __future__ import annotations

import csv
import functools
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from plait._deps import require
from plait.errors import ConfigError

WINDOW = 15_600  # samples at 16 kHz: 0.975 s
HOP = 7_680  # 0.48 s
HOP_S = HOP / 16_000


def model_dir(model: str | None = None) -> Path:
    """The folder holding ``yamnet.tflite`` and its class map (see the module doc)."""
    tried = []
    cands: list[str | None] = [model] if model else []
    cands += [os.environ.get("PLAIT_YAMNET")]
    shared = os.environ.get("PLAIT_SHARED_DATA")
    if shared:
        cands.append(str(Path(shared) / "models" / "yamnet"))
    # ../shared/data beside a checkout (as the tests find it), and beside the working folder
    here = Path(__file__).resolve().parents[4]
    for base in (here, Path.cwd().parent):
        cands.append(str(base / "shared" / "data" / "models" / "yamnet"))
    for c in cands:
        if not c:
            continue
        p = Path(c)
        p = p.parent if p.suffix == ".tflite" else p
        tried.append(str(p))
        if (p / "yamnet.tflite").is_file() and (p / "yamnet_class_map.csv").is_file():
            return p
    raise ConfigError(
        "YAMNet not found (looked in: " + ", ".join(tried) + "); set PLAIT_YAMNET to a folder "
        "holding yamnet.tflite and yamnet_class_map.csv"
    )


class YamNet:
    """Frame-level class scores for mono 16 kHz sound."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        litert = require("ai_edge_litert.interpreter", "audio", "YAMNet", "ai-edge-litert")
        self.interpreter = litert.Interpreter(
            model_path=str(folder / "yamnet.tflite"), num_threads=threads
        )
        self.interpreter.allocate_tensors()
        self._in = self.interpreter.get_input_details()[0]["index"]
        self._out = self.interpreter.get_output_details()[0]["index"]
        with open(folder / "yamnet_class_map.csv", encoding="utf-8", newline="") as f:
            self.names = [row["display_name"] for row in csv.DictReader(f)]
        self._lock = threading.Lock()  # one interpreter runs one window at a time

    def scores(self, wave: np.ndarray) -> np.ndarray:
        """``(windows, 521)`` scores; a sound shorter than a window is zero-padded."""
        x = np.asarray(wave, np.float32)
        if len(x) < WINDOW:
            x = np.pad(x, (0, WINDOW - len(x)))
        starts = range(0, len(x) - WINDOW + 1, HOP)
        out = np.empty((len(starts), len(self.names)), np.float32)
        with self._lock:
            for i, s in enumerate(starts):
                self.interpreter.set_tensor(self._in, x[None, s : s + WINDOW])
                self.interpreter.invoke()
                out[i] = self.interpreter.get_tensor(self._out)[0]
        return out


@functools.lru_cache(maxsize=4)
def load(model: str | None = None, threads: int = 1) -> YamNet:
    return YamNet(model_dir(model), threads)


def top_labels(names: list[str], scores: np.ndarray, k: int, min_score: float) -> list[Any]:
    """``[[label, score], ...]`` of the ``k`` best classes of a score vector."""
    order = np.argsort(-scores)[:k]
    return [[names[i], round(float(scores[i]), 4)] for i in order if scores[i] >= min_score]
