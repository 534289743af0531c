"""Cross-modal retrieval recall for one-image-many-captions data (Flickr/COCO protocol).

t2i: each caption ranks all images; a hit when its own image is in the top k.
i2t: each image ranks all captions; a hit when any of its captions is in the top k.
Checked against a brute-force loop in the tests.
"""

from __future__ import annotations

import numpy as np

KS = (1, 5, 10)


def retrieval_recall(
    image_vecs: np.ndarray, text_vecs: np.ndarray, text_owner: np.ndarray, ks: tuple[int, ...] = KS
) -> dict[str, float]:
    """Recall@k in percent, keys like ``t2i_R@1`` and ``i2t_R@10``.

    ``text_owner[j]`` is the row of ``image_vecs`` that caption ``j`` describes.
    """
    sims = text_vecs @ image_vecs.T  # (captions, images)
    own = sims[np.arange(len(text_owner)), text_owner]
    t2i_rank = (sims > own[:, None]).sum(axis=1)  # 0 = ranked first
    out: dict[str, float] = {}
    for k in ks:
        out[f"t2i_R@{k}"] = float(100.0 * np.mean(t2i_rank < k))
    # i2t: best rank over the image's captions
    order = np.argsort(-sims.T, axis=1, kind="stable")  # (images, captions)
    ranks = np.empty_like(order)
    rows = np.arange(order.shape[0])[:, None]
    ranks[rows, order] = np.arange(order.shape[1])[None, :]
    best = np.full(len(image_vecs), np.iinfo(np.int64).max)
    np.minimum.at(best, text_owner, ranks[text_owner, np.arange(len(text_owner))])
    for k in ks:
        out[f"i2t_R@{k}"] = float(100.0 * np.mean(best < k))
    return out
