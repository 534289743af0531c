"""Concurrent exact scans of one matrix, run as one matrix product.

A scan of ``n`` vectors for one query is a matrix-vector product: it reads the whole
matrix to do two flops per value, so it is bound by memory, not arithmetic (20k x 384
float32 vectors: ~2.4 ms on one core). A server answers many queries at once, each
scanning the same matrix; :class:`SharedScans` lets them share the read. The first
caller to find no scan running on a matrix becomes its *leader*: it takes every query
queued for that matrix, runs them as one matrix-matrix product, hands each caller its
rows, and repeats while callers wait, up to a bound, then passes the lead to the first
caller still waiting (so no caller serves others for long). A caller alone runs its own
scan at once; there is no batching window and so no added wait (flat combining, not a
timer).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np


def topk(sims: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Column positions and values of the ``k`` largest per row, best first."""
    k = min(k, sims.shape[1])
    if k == 0:
        return np.zeros((len(sims), 0), np.int64), np.zeros((len(sims), 0), np.float32)
    part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(sims, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(top, order, axis=1)


@dataclass
class _Ask:
    """One caller's query, and what it is woken with: its rows, an error, or the lead."""

    qs: np.ndarray
    k: int
    done: threading.Event = field(default_factory=threading.Event)
    result: tuple[np.ndarray, np.ndarray] | None = None
    error: BaseException | None = None
    lead: bool = False


@dataclass
class _Queue:
    waiting: list[_Ask] = field(default_factory=list)
    leading: bool = False


class SharedScans:
    """Exact top-k over a matrix, with concurrent calls on the same matrix combined."""

    MAX_ROWS = 64  # queries in one product (the score matrix stays small)
    MAX_ROUNDS = 8  # products one leader runs before it passes the lead on

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[int, _Queue] = {}
        self.products = 0  # matrix products run
        self.queries = 0  # queries they answered

    def topk(self, matrix: np.ndarray, qs: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Positions into ``matrix`` and similarities of each query's ``k`` best rows."""
        if len(qs) != 1:  # a batch already (an evaluation): nothing to combine with
            return topk(qs @ matrix.T, k)
        ask = _Ask(qs, k)
        key = id(matrix)
        with self._lock:
            q = self._queues.setdefault(key, _Queue())
            q.waiting.append(ask)
            ask.lead = not q.leading
            q.leading = True
        while True:
            if ask.lead:  # its query heads the queue: one product answers it and others
                self._round(key, matrix)
            else:
                ask.done.wait()
            if ask.error is not None:
                raise ask.error
            if ask.result is not None:
                return ask.result

    def _round(self, key: int, matrix: np.ndarray) -> None:
        """Products for the queued queries until none is left, at most ``MAX_ROUNDS``;
        then the lead passes to the first caller still waiting, so a leader serves
        others for a bounded time however busy the matrix (and, short of that, no
        thread switch separates two products)."""
        q = self._queues[key]
        for rounds in range(1, self.MAX_ROUNDS + 1):
            with self._lock:
                batch, q.waiting = q.waiting[: self.MAX_ROWS], q.waiting[self.MAX_ROWS :]
            try:
                sims = np.concatenate([a.qs for a in batch]) @ matrix.T
                pos, top = topk(sims, max(a.k for a in batch))
            except BaseException as exc:  # every caller in the product learns it
                for a in batch:
                    a.error = exc
            else:
                for i, a in enumerate(batch):
                    a.result = (pos[i : i + 1, : a.k], top[i : i + 1, : a.k])
            for a in batch:
                a.done.set()
            with self._lock:  # leaders of other matrices count too
                if batch[0].error is None:
                    self.products += 1
                    self.queries += len(batch)
                if not q.waiting:
                    q.leading = False
                    del self._queues[key]  # the matrix may go; its id may be reused
                    return
                if rounds == self.MAX_ROUNDS:
                    nxt = q.waiting[0]
                    nxt.lead = True
        nxt.done.set()
