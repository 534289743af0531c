"""``semantic_dedup``: near-duplicates by meaning (SemDeDup, NeMo Curator's semantic dedup).

Embeddings of any encoder (the image, or the sample's original captions) are
clustered with k-means (:mod:`plait.ops.dedup.semantic_clusters`); inside each cluster,
samples are ranked by preference (closest to the centroid, farthest from it, or the
best by a stats score) and a sample whose cosine with an earlier kept one is at least
``threshold`` is dropped as its duplicate. Duplicates that k-means puts in different
clusters are not compared (the price of not comparing everything with everything).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plait.errors import ConfigError
from plait.ops.base import DROP, Deduplicator, OpContext, check_mode
from plait.ops.dedup.semantic_clusters import clusters, greedy_duplicates
from plait.ops.filters.similarity import UsesEncoder
from plait.schema import Sample
from plait.slots import original_slots
from plait.vectors import l2_normalise

MODALITIES = ("image", "text")


class SemanticDedup(UsesEncoder, Deduplicator):
    """Drop samples whose embedding is within ``threshold`` cosine of a kept sample's in
    the same k-means cluster (clusters of about ``cluster_size``).

    ``modality``: ``image`` (the first image) or ``text`` (the mean of the original
    caption slots' vectors). Vectors already in ``embeddings/<encoder>`` (``plait
    embed``) are read, the rest computed. ``keep``: ``central`` (closest to the
    centroid, the most typical), ``outlier`` (farthest: SemDeDup's choice) or
    ``score:<stats key>`` (highest first, e.g. ``score:sim_score``). Reason
    ``semantic_duplicate_of:<kept id>``; ``mode: annotate`` flags without dropping.
    """

    name = "semantic_dedup"
    uses_model = True
    example = {"encoder": "minilm", "modality": "text", "threshold": 0.95}

    def __init__(
        self,
        encoder: str,
        modality: str = "image",
        threshold: float = 0.95,
        cluster_size: int = 500,
        keep: str = "central",
        iterations: int = 10,
        seed: int = 0,
        mode: str = DROP,
    ) -> None:
        if modality not in MODALITIES:
            raise ConfigError(f"modality must be image or text, not {modality!r}")
        if not 0 < threshold <= 1 or cluster_size < 2 or iterations < 1:
            raise ConfigError("need 0 < threshold <= 1, cluster_size >= 2 and iterations >= 1")
        if keep not in ("central", "outlier") and not (keep.startswith("score:") and keep[6:]):
            raise ConfigError(f"keep must be central, outlier or score:<stats key>, not {keep!r}")
        self.encoder, self.modality, self.threshold = encoder, modality, threshold
        self.cluster_size, self.keep, self.iterations, self.seed = (
            cluster_size,
            keep,
            iterations,
            seed,
        )
        self.mode = check_mode(mode)

    # -- fingerprint: one unit vector (and the ranking score) per sample ----------------------
    def _encoder(self, ctx: OpContext) -> Any:
        return self.encoder_for(ctx.corpus_path, self.modality)

    def _stored(self, keys: list[str], ctx: OpContext) -> dict[str, np.ndarray]:
        """Vectors ``plait embed`` already stored for this encoder, by content key."""
        if not ctx.corpus_path or not keys:
            return {}
        from plait.io.corpus import Corpus, embeddings_table
        from plait.retrieval.encoding import vectors_by_content

        ds = Corpus.open(ctx.corpus_path).dataset(embeddings_table(self.encoder))
        return vectors_by_content(ds, keys, self.modality) if ds is not None else {}

    def fingerprint(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        vecs = self._image_vectors(batch, ctx) if self.modality == "image" else None
        if vecs is None:
            vecs = self._text_vectors(batch, ctx)
        key = self.keep[6:] if self.keep.startswith("score:") else None
        out: list[Any] = []
        for s, v in zip(batch, vecs, strict=True):
            if v is None:
                out.append(None)
                continue
            score = s.stats.get(key) if key else None
            out.append((v, float(score) if isinstance(score, int | float) else None))
        return out

    def _image_vectors(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        from plait.ops._media import images

        firsts = [s.image_ids[0] if s.image_ids else None for s in batch]
        want = [m for m in dict.fromkeys(firsts) if m]
        found = self._stored(want, ctx)
        missing = [m for m in want if m not in found]
        if missing:
            decoded = images([s for s in batch if s.image_ids], ctx)
            ok = [m for m in missing if decoded.get(m) is not None]
            if ok:
                enc = self._encoder(ctx)
                found.update(zip(ok, enc.encode_images([decoded[m] for m in ok])))
        return [l2_normalise(found[m]) if m in found else None for m in firsts]

    def _text_vectors(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        from plait.io.media import text_key

        per = [
            [(s.texts[i] or "").strip() for i in original_slots(s) if (s.texts[i] or "").strip()]
            for s in batch
        ]
        texts = list(dict.fromkeys(t for ts in per for t in ts))
        hashes = {t: text_key(t) for t in texts}
        stored = self._stored(list(hashes.values()), ctx)
        vec = {t: stored[h] for t, h in hashes.items() if h in stored}
        missing = [t for t in texts if t not in vec]
        if missing:
            vec.update(zip(missing, self._encoder(ctx).encode_text(missing)))
        return [l2_normalise(np.mean([vec[t] for t in ts], axis=0)) if ts else None for ts in per]

    # -- resolve: cluster, rank, drop near-duplicates inside each cluster ----------------------
    def resolve(self, items: list[tuple[str, Any]]) -> dict[str, str]:
        items = [(sid, fp) for sid, fp in items if fp is not None]
        if len(items) < 2:
            return {}
        ids = [sid for sid, _ in items]
        x = np.ascontiguousarray(np.stack([fp[0] for _, fp in items]).astype(np.float32))
        scores = np.array([np.nan if fp[1] is None else fp[1] for _, fp in items], dtype=np.float64)
        out: dict[str, str] = {}
        for idx, centroid in clusters(x, self.cluster_size, self.iterations, self.seed):
            if len(idx) < 2:
                continue
            order = idx[self._rank(x[idx], centroid, scores[idx], [ids[i] for i in idx])]
            dup = greedy_duplicates(x[order], self.threshold)
            for j in np.flatnonzero(dup >= 0):
                out[ids[order[j]]] = f"semantic_duplicate_of:{ids[order[dup[j]]]}"
        return out

    def _rank(
        self, x: np.ndarray, centroid: np.ndarray, scores: np.ndarray, ids: list[str]
    ) -> np.ndarray:
        """Positions of a cluster's members, most preferred first (ties by sample id)."""
        closeness = x @ centroid
        tie = np.argsort(np.argsort(ids, kind="stable"), kind="stable")
        if self.keep == "outlier":
            return np.lexsort((tie, closeness))
        if self.keep == "central":
            return np.lexsort((tie, -closeness))
        best = np.where(np.isnan(scores), -np.inf, scores)
        return np.lexsort((tie, -closeness, -best))
