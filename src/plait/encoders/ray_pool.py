"""Embedding on Ray: a pool of actors, each loading the model once, one shard at a time.

Only media ids travel to the actors; each actor reads the bytes from the corpus
itself (a path or object store every worker can open), decodes and encodes them
the way the local path does (``prepare_pixels``/``encode_pixels`` when the
encoder has them), and returns the shard's vectors. The driver writes each
finished shard in one commit, so there stays one writer per table and a driver
killed part way loses only the shards in flight: a rerun's plan finds the
committed rows and embeds the rest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from plait.io.corpus import Corpus

ShardResult = tuple[list[str], np.ndarray, list[tuple[str, str]]]


class _EmbedActor:
    def __init__(self, corpus_path: str, spec: str, opts: dict[str, Any], threads: int) -> None:
        import torch

        from plait.encoders import load_encoder

        torch.set_num_threads(threads)
        self.corpus = Corpus.open(corpus_path)
        self.enc = load_encoder(spec, corpus=self.corpus, **opts)

    def embed(self, keys: list[str], batch_size: int) -> ShardResult:
        """(ok keys, their vectors, failures) of one shard, in ``batch_size`` forwards."""
        from plait.errors import InputError
        from plait.io.media import open_image

        enc = self.enc
        to_pixels = getattr(enc, "prepare_pixels", enc.prepare_image)
        forward = getattr(enc, "encode_pixels", enc.encode_prepared)
        ok: list[str] = []
        vecs: list[np.ndarray] = []
        bad: list[tuple[str, str]] = []
        for lo in range(0, len(keys), batch_size):
            chunk = keys[lo : lo + batch_size]
            got = self.corpus.media_many(chunk)
            good, pixels = [], []
            for k in chunk:
                try:
                    pixels.append(to_pixels(open_image(got[k])))
                    good.append(k)
                except KeyError:
                    bad.append((k, "missing_media"))
                except InputError as exc:
                    bad.append((k, exc.reason))
                except Exception as exc:  # a decoder can raise anything on bad bytes
                    bad.append((k, f"corrupt_image: {type(exc).__name__}"))
            if good:
                ok.extend(good)
                vecs.append(np.asarray(forward(np.stack(pixels)), np.float32))
        out = np.concatenate(vecs) if vecs else np.zeros((0, enc.dim), np.float32)
        return ok, out, bad


def ray_image_batches(
    corpus: Corpus,
    spec: str,
    opts: dict[str, Any],
    keys: list[str],
    batch_size: int,
    workers: int,
    shard_size: int | None = None,
) -> Iterator[ShardResult]:
    """Yield one (ok keys, vectors, failures) per shard of ``keys`` as actors finish them."""
    from plait.cluster import connect

    ray, connected = connect(workers)
    from ray.util import ActorPool

    size = shard_size or max(1, batch_size) * 8
    shards = [keys[i : i + size] for i in range(0, len(keys), size)]
    actor = ray.remote(num_cpus=1)(_EmbedActor)
    n = max(1, min(workers, len(shards)))
    actors = [actor.remote(str(corpus.path), spec, opts, 1) for _ in range(n)]
    try:
        pool = ActorPool(actors)
        yield from pool.map_unordered(lambda a, s: a.embed.remote(s, batch_size), shards)
    finally:
        for a in actors:
            ray.kill(a)
        if connected:
            ray.shutdown()
