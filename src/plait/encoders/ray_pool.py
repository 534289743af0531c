"""Embedding on Ray Data: an actor pool, so each actor loads the model once.

Only media ids travel to the actors; each actor reads the bytes from the corpus itself
(the corpus is a path every worker can open), decodes, and runs the encoder. The driver
collects vectors in order and writes them, so there stays one writer per table.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from plait._deps import require
from plait.io.corpus import Corpus


class _EmbedActor:
    def __init__(self, corpus_path: str, spec: str, opts: dict[str, Any], threads: int) -> None:
        import torch

        from plait.encoders import load_encoder

        torch.set_num_threads(threads)
        self.corpus = Corpus(corpus_path)
        self.enc = load_encoder(spec, corpus=self.corpus, **opts)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from plait.errors import InputError
        from plait.io.media import open_image

        keys = [str(k) for k in batch["key"]]
        got = self.corpus.media_many(keys)
        vecs = np.zeros((len(keys), self.enc.dim), np.float32)
        reasons = [""] * len(keys)
        ok, pixels = [], []
        for i, k in enumerate(keys):
            try:
                pixels.append(self.enc.prepare_image(open_image(got[k])))
                ok.append(i)
            except KeyError:
                reasons[i] = "missing_media"
            except InputError as exc:
                reasons[i] = exc.reason
            except Exception as exc:  # a decoder can raise anything on bad bytes
                reasons[i] = f"corrupt_image: {type(exc).__name__}"
        if ok:
            vecs[ok] = self.enc.encode_prepared(np.stack(pixels))
        return {
            "key": np.array(keys, dtype=object),
            "vector": vecs,
            "reason": np.array(reasons, dtype=object),
        }


def ray_image_batches(
    corpus: Corpus, spec: str, opts: dict[str, Any], keys: list[str], batch_size: int, workers: int
) -> Iterator[tuple[list[str], np.ndarray, list[tuple[str, str]]]]:
    """Yield (ok keys, vectors, failures) batches computed by ``workers`` Ray actors."""
    ray = require("ray", "ray", "the ray executor")
    require("ray.data", "ray", "the ray executor")
    if not ray.is_initialized():
        ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
    ds = ray.data.from_items([{"key": k} for k in keys]).map_batches(
        _EmbedActor,
        fn_constructor_args=(str(corpus.path), spec, opts, 1),
        batch_size=batch_size,
        concurrency=max(1, workers),
        num_cpus=1,
        batch_format="numpy",
    )
    for b in ds.iter_batches(batch_size=batch_size, batch_format="numpy"):
        good = [i for i, r in enumerate(b["reason"]) if not r]
        yield (
            [str(b["key"][i]) for i in good],
            b["vector"][good],
            [(str(k), str(r)) for k, r in zip(b["key"], b["reason"], strict=True) if r],
        )
