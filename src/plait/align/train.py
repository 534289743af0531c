"""LiT-style training of linear projection heads over two frozen towers.

The recipe is the one measured in ../shared/notes/align-measurements.md: linear heads on
each side, strong input dropout on the image side, mirrored images as augmentation,
symmetric InfoNCE with a learnable temperature (init 0.07), AdamW, batch 512, one random
caption per image per step, ~500 steps, and an ensemble of seeds whose normalised outputs
are concatenated and scaled by 1/sqrt(seeds), so a dot product is the mean of the
per-seed cosine similarities.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from plait._deps import require
from plait.encoders.lit import Heads


@dataclass
class TrainConfig:
    dim: int = 256
    steps: int = 500
    batch_size: int = 512
    lr: float = 3e-4
    weight_decay: float = 0.01
    image_dropout: float = 0.65
    # input dropout on the text side: on held-out Flickr8k train images 0.2 left t2i R@1
    # level and raised t2i R@5 / R@10 and i2t R@1 by about a point (README, Results)
    text_dropout: float = 0.2
    temperature: float = 0.07
    flip_prob: float = 0.5  # chance a step uses the mirrored image's features (augmentation)
    seeds: int = 5  # the vector is seeds x dim wide
    # the adapter's hubness prior (plait.encoders.lit.HubPrior; hub_k 0 = none): on
    # held-out Flickr8k train images k 10, weight 0.5 raised t2i R@1 by 2.4 / 2.1 points
    # (k 5-50 and weights 0.5-0.75 all within a point of that)
    hub_k: int = 10
    hub_weight: float = 0.5
    seed: int = 0
    workers: int = 1  # seeds trained in parallel processes (one torch thread each)


def train_heads(
    image_views: Sequence[np.ndarray],
    text_feats: np.ndarray,
    text_owner: np.ndarray,
    cfg: TrainConfig,
) -> Heads:
    """Fit ``cfg.seeds`` pairs of heads; ``text_owner[j]`` is the image row of caption ``j``.

    ``image_views[0]`` holds the images' features as the adapter will compute them; any
    further arrays hold other views of the same images (the mirrored image), which a step
    uses instead with probability ``cfg.flip_prob`` (augmentation). The standardisation
    stored with the heads is fitted on ``image_views[0]``.
    """
    torch = require("torch", "embed", "plait align")
    base = image_views[0]
    mean = base.mean(axis=0)
    std = base.std(axis=0) + 1e-6
    xi = torch.from_numpy(np.stack([((v - mean) / std).astype(np.float32) for v in image_views]))
    xt = torch.from_numpy(text_feats.astype(np.float32))
    caps = _caption_table(np.asarray(text_owner), len(base))
    seeds = [cfg.seed + s for s in range(cfg.seeds)]
    if cfg.workers > 1 and cfg.seeds > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        args = (xi.numpy(), xt.numpy(), caps, cfg)
        ctx = mp.get_context("spawn")
        from plait.children import die_with_parent

        with ProcessPoolExecutor(
            min(cfg.workers, cfg.seeds),
            mp_context=ctx,
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            fits = list(pool.map(_fit_in_worker, [(*args, s) for s in seeds]))
    else:
        fits = [_fit_one(torch, xi, xt, caps, cfg, s) for s in seeds]
    iw, ib, tw, tb, temps = (list(x) for x in zip(*fits, strict=True))
    return Heads(
        np.stack(iw),
        np.stack(ib),
        np.stack(tw),
        np.stack(tb),
        mean.astype(np.float32),
        std.astype(np.float32),
        temps,
    )


def _caption_table(owner: np.ndarray, n_images: int) -> tuple[np.ndarray, np.ndarray]:
    """Captions of each image as a padded (images, most captions) table and their counts,
    so a step draws one caption per image with array ops instead of a Python loop."""
    counts = np.bincount(owner, minlength=n_images)
    table = np.zeros((n_images, max(int(counts.max(initial=0)), 1)), dtype=np.int64)
    order = np.argsort(owner, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    col = np.arange(len(owner)) - np.repeat(starts, counts)
    table[owner[order], col] = order
    return table, counts


def _fit_in_worker(args: tuple) -> tuple:
    """One seed in a spawned process: numpy in, numpy out."""
    torch = require("torch", "embed", "plait align")
    torch.set_num_threads(1)
    xi, xt, caps, cfg, seed = args
    return _fit_one(torch, torch.from_numpy(xi), torch.from_numpy(xt), caps, cfg, seed)


def _fit_one(torch, xi, xt, caps, cfg: TrainConfig, seed: int):  # noqa: ANN001, ANN202
    """One seed: ``xi`` is (views, images, d), standardised."""
    nn = torch.nn
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    table, counts = (torch.from_numpy(a) for a in caps)
    img = nn.Linear(xi.shape[2], cfg.dim)
    txt = nn.Linear(xt.shape[1], cfg.dim)
    drop = nn.Dropout(cfg.image_dropout)
    text_drop = nn.Dropout(cfg.text_dropout)
    logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.temperature)))
    params = [*img.parameters(), *txt.parameters(), logit_scale]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    views, n = xi.shape[0], xi.shape[1]
    bs = min(cfg.batch_size, n)
    img.train()
    for _ in range(cfg.steps):
        idx = torch.randperm(n, generator=gen)[:bs]
        pick = (torch.rand(bs, generator=gen) * counts[idx]).long()
        cap = table[idx, pick]
        view = torch.zeros(bs, dtype=torch.long)
        if views > 1 and cfg.flip_prob > 0:
            other = torch.rand(bs, generator=gen) < cfg.flip_prob
            alt = 1 + torch.randint(views - 1, (bs,), generator=gen)
            view = torch.where(other, alt, view)
        x = xi[view, idx]
        zi = nn.functional.normalize(img(drop(x)), dim=-1)
        zt = nn.functional.normalize(txt(text_drop(xt[cap])), dim=-1)
        logits = logit_scale.exp().clamp(max=100.0) * zi @ zt.T
        target = torch.arange(bs)
        loss = (
            nn.functional.cross_entropy(logits, target)
            + nn.functional.cross_entropy(logits.T, target)
        ) / 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return (
            img.weight.T.contiguous().numpy().copy(),
            img.bias.numpy().copy(),
            txt.weight.T.contiguous().numpy().copy(),
            txt.bias.numpy().copy(),
            float(1.0 / logit_scale.exp()),
        )
