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
    temperature: float = 0.07
    flip_prob: float = 0.5
    seeds: int = 5
    seed: int = 0
    workers: int = 1  # seeds trained in parallel processes (one torch thread each)


def train_heads(
    image_feats: np.ndarray,
    image_flip: np.ndarray | None,
    text_feats: np.ndarray,
    text_owner: np.ndarray,
    cfg: TrainConfig,
) -> Heads:
    """Fit ``cfg.seeds`` pairs of heads; ``text_owner[j]`` is the image row of caption ``j``."""
    torch = require("torch", "embed", "plait align")
    mean = image_feats.mean(axis=0)
    std = image_feats.std(axis=0) + 1e-6
    xi = torch.from_numpy(((image_feats - mean) / std).astype(np.float32))
    xf = (
        torch.from_numpy(((image_flip - mean) / std).astype(np.float32))
        if image_flip is not None
        else None
    )
    xt = torch.from_numpy(text_feats.astype(np.float32))
    owner = np.asarray(text_owner)
    caps_of = [np.flatnonzero(owner == i) for i in range(len(image_feats))]
    seeds = [cfg.seed + s for s in range(cfg.seeds)]
    if cfg.workers > 1 and cfg.seeds > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        args = (xi.numpy(), None if xf is None else xf.numpy(), xt.numpy(), caps_of, cfg)
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
        fits = [_fit_one(torch, xi, xf, xt, caps_of, cfg, s) for s in seeds]
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


def _fit_in_worker(args: tuple) -> tuple:
    """One seed in a spawned process: numpy in, numpy out."""
    torch = require("torch", "embed", "plait align")
    torch.set_num_threads(1)
    xi, xf, xt, caps_of, cfg, seed = args
    f = torch.from_numpy
    return _fit_one(torch, f(xi), None if xf is None else f(xf), f(xt), caps_of, cfg, seed)


def _fit_one(torch, xi, xf, xt, caps_of, cfg: TrainConfig, seed: int):  # noqa: ANN001, ANN202
    nn = torch.nn
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    img = nn.Linear(xi.shape[1], cfg.dim)
    txt = nn.Linear(xt.shape[1], cfg.dim)
    drop = nn.Dropout(cfg.image_dropout)
    logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / cfg.temperature)))
    params = [*img.parameters(), *txt.parameters(), logit_scale]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = xi.shape[0]
    bs = min(cfg.batch_size, n)
    img.train()
    for _ in range(cfg.steps):
        idx = torch.randperm(n, generator=gen)[:bs]
        idx_np = idx.numpy()
        cap = torch.from_numpy(np.array([rng.choice(caps_of[i]) for i in idx_np]))
        x = xi[idx]
        if xf is not None and cfg.flip_prob > 0:
            use = torch.rand(bs, generator=gen) < cfg.flip_prob
            x = torch.where(use[:, None], xf[idx], x)
        zi = nn.functional.normalize(img(drop(x)), dim=-1)
        zt = nn.functional.normalize(txt(xt[cap]), dim=-1)
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
