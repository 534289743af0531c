"""L2 normalisation: the one definition every vector path uses (encoders, indexes,
queries, heads), so a vector is unit length by the same rule everywhere."""

from __future__ import annotations

import numpy as np


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows (or one vector) scaled to unit length, float32; an all-zero row stays zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)
