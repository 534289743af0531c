"""A learned quality filter (the DFN idea): logistic regression on embeddings.

Positives are a small high-quality reference set, negatives random corpus
samples; the classifier is saved in the corpus at ``CORPUS/filters/NAME/``
(``weights.npz`` and ``config.json`` naming the encoder and modality), so a
recipe reuses it by name: ``{op: learned_filter, name: NAME, threshold: 0.5}``.
The regression is plain numpy (Newton steps with an L2 penalty and balanced
class weights): a few hundred examples of a few hundred dimensions need nothing more.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from plait.errors import ConfigError, NotFoundError
from plait.io.store import local_file, location, write_file
from plait.ops._media import images
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import Sample, now
from plait.vectors import l2_normalise

MODALITIES = ("image", "text")


def filter_dir(corpus_path: str | Path, name: str) -> Any:
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ConfigError(f"invalid filter name {name!r}")
    return location(corpus_path) / "filters" / name


@dataclass
class FilterConfig:
    name: str
    encoder: str
    modality: str
    dim: int
    n_pos: int
    n_neg: int
    train_accuracy: float
    created: str


def fit_logistic(
    x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 25
) -> tuple[np.ndarray, float]:
    """Balanced, L2-penalised logistic regression by Newton's method: (weights, bias)."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    pos = y.sum()
    sw = np.where(y > 0, n / (2 * max(pos, 1)), n / (2 * max(n - pos, 1)))
    w = np.zeros(d + 1)
    reg = np.full(d + 1, l2)
    reg[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(xb @ w)))
        grad = xb.T @ (sw * (p - y)) + reg * w
        hess = (xb * (sw * p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def embed_samples(
    enc: Any, samples: list[Sample], ctx: OpContext, modality: str
) -> list[np.ndarray | None]:
    """One feature vector per sample: its images' (or texts') mean embedding, renormalised."""
    out: list[np.ndarray | None] = []
    if modality == "image":
        imgs = {m: im for m, im in images(samples, ctx).items() if im is not None}
        ids = list(imgs)
        vec = dict(zip(ids, enc.encode_images([imgs[m] for m in ids]))) if ids else {}
        groups = [[vec[m] for m in s.media_ids if m in vec] for s in samples]
    else:
        texts = list(dict.fromkeys(t for s in samples for t in s.texts if t and t.strip()))
        vec = dict(zip(texts, enc.encode_text(texts))) if texts else {}
        groups = [[vec[t] for t in s.texts if t in vec] for s in samples]
    for g in groups:
        if not g:
            out.append(None)
            continue
        v = np.mean(g, axis=0)
        out.append(l2_normalise(v))
    return out


def train_filter(
    corpus: Any,
    name: str,
    encoder: str,
    positives: list[str],
    *,
    negatives: int = 500,
    modality: str = "image",
    seed: int = 0,
    l2: float = 1.0,
) -> FilterConfig:
    """Train and save filter ``name``: ``positives`` are sample ids of the reference set,
    negatives ``negatives`` random other samples of the corpus."""
    from plait.io.corpus import sql_in
    from plait.ops.filters.similarity import load_checked

    if modality not in MODALITIES:
        raise ConfigError(f"modality must be one of {MODALITIES}, not {modality!r}")
    if not positives:
        raise ConfigError("train-filter needs at least one positive sample id")
    pos_set = set(positives)
    all_ids = sorted(corpus.ids("samples") - pos_set)
    rng = random.Random(seed)
    neg_ids = rng.sample(all_ids, min(negatives, len(all_ids)))
    if not neg_ids:
        raise ConfigError("the corpus has no samples outside the positives to use as negatives")
    pos = corpus.samples(where=sql_in("id", sorted(pos_set)))
    if len(pos) != len(pos_set):
        missing = sorted(pos_set - {s.id for s in pos})[:5]
        raise NotFoundError(f"positive samples not in the corpus: {missing}")
    neg = corpus.samples(where=sql_in("id", neg_ids))
    enc = load_checked(encoder, str(corpus.path), modality)
    ctx = OpContext(run_id="train-filter", media=corpus.media_many, corpus_path=str(corpus.path))
    feats, labels = [], []
    for group, label in ((pos, 1.0), (neg, 0.0)):
        for v in embed_samples(enc, group, ctx, modality):
            if v is not None:
                feats.append(v)
                labels.append(label)
    y = np.array(labels)
    if y.min() == y.max():
        raise ConfigError("need embeddable positives and negatives to train a filter")
    x = np.stack(feats).astype(np.float64)
    w, b = fit_logistic(x, y, l2=l2)
    acc = float((((x @ w + b) > 0) == (y > 0)).mean())
    cfg = FilterConfig(
        name,
        encoder,
        modality,
        int(x.shape[1]),
        int(y.sum()),
        int(len(y) - y.sum()),
        round(acc, 4),
        now().isoformat(),
    )
    d = filter_dir(corpus.path, name)
    d.mkdir(parents=True, exist_ok=True)

    def weights(name: str) -> None:
        with open(name, "wb") as fh:  # a file object: savez would add ".npz" to a name
            np.savez(fh, w=w.astype(np.float32), b=np.float32(b))

    write_file(d / "weights.npz", weights)
    text = json.dumps(asdict(cfg), indent=2)
    write_file(d / "config.json", lambda name: Path(name).write_text(text))
    return cfg


def load_filter(corpus_path: str | Path, name: str) -> tuple[FilterConfig, np.ndarray, float]:
    d = filter_dir(corpus_path, name)
    if not (d / "config.json").is_file():
        have = (
            sorted(p.name for p in (location(corpus_path) / "filters").glob("*/config.json"))
            if corpus_path
            else []
        )
        raise ConfigError(
            f"no learned filter {name!r} in {corpus_path} (saved: {', '.join(have) or 'none'})"
        )
    cfg = FilterConfig(**json.loads((d / "config.json").read_text()))
    with local_file(d / "weights.npz") as fname, np.load(fname) as z:
        return cfg, z["w"].astype(np.float64), float(z["b"])


class LearnedFilter(Filter):
    """Drop samples a saved learned filter scores below ``threshold`` (probability of
    "looks like the reference set"). Train one with ``plait ops train-filter``.

    Writes ``learned_{name}``; reason ``learned_filter_below_threshold``.
    """

    name = "learned_filter"
    uses_model = True
    example = {"name": "hq", "threshold": 0.5}

    def __init__(self, name: str, threshold: float = 0.5, mode: str = DROP) -> None:
        super().__init__(mode)
        filter_dir(".", name)  # validates the name
        self.filter_name = name
        self.threshold = threshold
        self._state: tuple[str, Any, np.ndarray, float, str] | None = None

    def params(self) -> dict[str, Any]:
        return dict(
            getattr(
                self,
                "_params",
                {"name": self.filter_name, "threshold": self.threshold, "mode": self.mode},
            )
        )

    def check(self, corpus_path: str | None) -> None:
        if corpus_path is None:
            raise ConfigError("learned_filter needs a corpus (filters are saved in it)")
        cfg, _, _ = load_filter(corpus_path, self.filter_name)
        from plait.encoders import check_spec

        check_spec(cfg.encoder, corpus_path)  # the encoder it was trained on, e.g. an adapter

    def _load(self, corpus_path: str | None) -> tuple[str, Any, np.ndarray, float, str]:
        if self._state is None or self._state[0] != corpus_path:
            from plait.ops.filters.similarity import load_checked

            self.check(corpus_path)
            cfg, w, b = load_filter(corpus_path or "", self.filter_name)  # check() refused None
            self._state = (
                corpus_path or "",
                load_checked(cfg.encoder, corpus_path, cfg.modality),
                w,
                b,
                cfg.modality,
            )
        return self._state

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        _, enc, w, b, modality = self._load(ctx.corpus_path)
        key = f"learned_{self.filter_name}"
        out = []
        for v in embed_samples(enc, batch, ctx, modality):
            p = None if v is None else round(float(1 / (1 + np.exp(-(v @ w + b)))), 5)
            out.append({key: p})
        return out

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        v = stats.get(f"learned_{self.filter_name}")
        return "learned_filter_below_threshold" if v is not None and v < self.threshold else None
