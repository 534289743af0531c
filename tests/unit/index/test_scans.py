"""Concurrent exact scans of one matrix share a product and answer each caller its own."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from plait.index.exact import exact_topk
from plait.index.scans import SharedScans


class _Gated(np.ndarray):
    """A matrix whose first transpose waits for a gate: the first scan holds the lead
    while the others queue behind it."""

    gate: threading.Event

    @property
    def T(self) -> np.ndarray:  # noqa: N802 - numpy's name
        self.gate.wait(10)
        return np.asarray(self).T


def _unit(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("rounds", [8, 1])  # 1: the leader hands the lead on at once
def test_queued_scans_run_as_one_product_with_each_callers_rows(
    rounds: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SharedScans, "MAX_ROUNDS", rounds)
    rng = np.random.default_rng(0)
    base = _unit(rng, 500, 16)
    matrix = base.view(_Gated)
    matrix.gate = threading.Event()
    queries = _unit(rng, 8, 16)
    ks = [3, 5, 1, 10, 4, 5, 2, 7]  # each caller asks for its own k
    scans = SharedScans()
    got: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def ask(i: int) -> None:
        got[i] = scans.topk(matrix, queries[i : i + 1], ks[i])

    first = threading.Thread(target=ask, args=(0,))
    first.start()
    while not scans._queues or not scans._queues[id(matrix)].leading:
        time.sleep(0.001)
    rest = [threading.Thread(target=ask, args=(i,)) for i in range(1, 8)]
    for t in rest:
        t.start()
    while len(scans._queues[id(matrix)].waiting) < 7:
        time.sleep(0.001)
    matrix.gate.set()
    for t in [first, *rest]:
        t.join(10)
    assert not any(t.is_alive() for t in [first, *rest])
    assert (scans.products, scans.queries) == (2, 8)  # the leader's own, then the seven queued
    for i, k in enumerate(ks):
        pos, sims = got[i]
        want_pos, want_sims = exact_topk(base, queries[i : i + 1], k)
        assert pos.shape == (1, k)
        np.testing.assert_array_equal(pos, want_pos)
        np.testing.assert_allclose(sims, want_sims, rtol=1e-5)
    assert not scans._queues  # nothing left behind for a matrix that may go


def test_a_lone_scan_runs_at_once_and_a_batch_passes_through() -> None:
    rng = np.random.default_rng(1)
    base, qs = _unit(rng, 100, 8), _unit(rng, 5, 8)
    scans = SharedScans()
    pos, _ = scans.topk(base, qs[:1], 4)
    np.testing.assert_array_equal(pos, exact_topk(base, qs[:1], 4)[0])
    pos, _ = scans.topk(base, qs, 4)  # several queries: one product, not queued
    np.testing.assert_array_equal(pos, exact_topk(base, qs, 4)[0])
    assert (scans.products, scans.queries) == (1, 1)


def test_a_failed_product_fails_every_waiter_and_frees_the_matrix() -> None:
    scans = SharedScans()
    matrix = np.zeros((10, 4), np.float32)
    with pytest.raises(ValueError):
        scans.topk(matrix, np.zeros((1, 3), np.float32), 2)  # wrong width
    assert not scans._queues
    pos, _ = scans.topk(matrix, np.zeros((1, 4), np.float32), 2)  # the matrix still scans
    assert pos.shape == (1, 2)
