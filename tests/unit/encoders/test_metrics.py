"""Retrieval recall against a brute-force reference."""

from __future__ import annotations

import numpy as np

from plait.align.metrics import retrieval_recall


def _brute(img: np.ndarray, txt: np.ndarray, owner: np.ndarray, k: int) -> tuple[float, float]:
    t2i = i2t = 0
    for j in range(len(txt)):
        scores = [float(txt[j] @ img[i]) for i in range(len(img))]
        better = sum(1 for s in scores if s > scores[owner[j]])
        t2i += better < k
    for i in range(len(img)):
        scores = [float(txt[j] @ img[i]) for j in range(len(txt))]
        ranked = sorted(range(len(txt)), key=lambda j: -scores[j])
        i2t += any(owner[j] == i for j in ranked[:k])
    return 100.0 * t2i / len(txt), 100.0 * i2t / len(img)


def test_recall_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    img = rng.normal(size=(30, 8)).astype(np.float32)
    owner = np.repeat(np.arange(30), 3)
    txt = img[owner] + rng.normal(scale=1.5, size=(90, 8)).astype(np.float32)
    got = retrieval_recall(img, txt, owner)
    for k in (1, 5, 10):
        t2i, i2t = _brute(img, txt, owner, k)
        assert abs(got[f"t2i_R@{k}"] - t2i) < 1e-9
        assert abs(got[f"i2t_R@{k}"] - i2t) < 1e-9


def test_perfect_alignment_scores_100() -> None:
    img = np.eye(5, dtype=np.float32)
    owner = np.array([0, 0, 1, 2, 3, 4])
    got = retrieval_recall(img, img[owner], owner)
    assert got["t2i_R@1"] == 100.0 and got["i2t_R@1"] == 100.0
