"""Families: a parent sample (a document, a video) and its children (pages, clips).

The rule (stated in :mod:`plait.schema`): a curate step that drops a parent drops
its children in the same run, with the same operator and the reason
``parent_dropped:<parent id>``; a child may be dropped alone. So a kept child always
has a kept parent.

To apply the rule where the step runs, a family is never split: the plan orders
the snapshot so each parent is followed by its descendants (:func:`family_order`)
and cuts shards, batches and Ray blocks only between families
(:func:`family_bounds`). Every step then sees a parent and its children in the
same batch, and :func:`cascade` extends the step's drops to the children. Both
executors share this, so they drop the same pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PARENT_DROPPED = "parent_dropped"


def family_order(ids: Sequence[str], parents: Sequence[str | None]) -> list[int] | None:
    """Row indices with each sample followed by its descendants (otherwise in row
    order); None when no sample has a parent in the list (the order is the rows')."""
    pos = {sid: i for i, sid in enumerate(ids)}
    children: dict[int, list[int]] = {}
    for i, p in enumerate(parents):
        j = pos.get(p) if p is not None else None
        if j is not None and j != i:
            children.setdefault(j, []).append(i)
    if not children:
        return None
    order: list[int] = []
    placed = [False] * len(ids)

    def emit(root: int) -> None:
        stack = [root]
        while stack:
            i = stack.pop()
            if placed[i]:
                continue
            placed[i] = True
            order.append(i)
            stack.extend(reversed(children.get(i, [])))

    for i, p in enumerate(parents):
        if p is None or p not in pos or pos[p] == i:
            emit(i)
    for i in range(len(ids)):  # a cycle of parents has no root: keep its rows anyway
        if not placed[i]:
            emit(i)
    return order


def family_bounds(
    ids: Sequence[str], parents: Sequence[str | None], size: int
) -> list[tuple[int, int]]:
    """``(start, end)`` cuts of about ``size`` rows that never split a family (rows in
    :func:`family_order`); a family larger than ``size`` is one piece."""
    n = len(ids)
    out: list[tuple[int, int]] = []
    start = 0
    family: set[str] = set()
    for i in range(n):
        p = parents[i]
        if p is None or p not in family:  # a new family starts here
            if i - start >= size:
                out.append((start, i))
                start = i
            family = {ids[i]}
        else:
            family.add(ids[i])
    if start < n:
        out.append((start, n))
    return out


def cascade(
    ids: Sequence[str], parents: Sequence[str | None], dropped: Mapping[str, str]
) -> dict[str, str]:
    """The children (and their children) of ``dropped`` among ``ids`` that are not
    dropped themselves: {child id: ``parent_dropped:<parent id>``}."""
    out: dict[str, str] = {}
    gone = set(dropped)
    while True:
        found = {
            sid: f"{PARENT_DROPPED}:{p}"
            for sid, p in zip(ids, parents, strict=True)
            if p is not None and p in gone and sid not in gone
        }
        if not found:
            return out
        out.update(found)
        gone |= set(found)
