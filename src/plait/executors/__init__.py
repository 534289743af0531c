"""Executors run a recipe's stages over shards: ``local`` (processes) and ``ray`` (Ray actors).

Only :mod:`plait.executors.ray` imports ray, and only when it is used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from plait.registry import Registry

if TYPE_CHECKING:
    from plait.executors.plan import Executor

EXECUTORS: Registry[Callable[[], Executor]] = Registry("executor")
EXECUTORS.add("local", "plait.executors.local:LocalExecutor")
EXECUTORS.add("ray", "plait.executors.ray:RayExecutor")


def get_executor(name: str) -> Executor:
    """An executor instance by name (UnknownNameError lists the valid ones)."""
    return EXECUTORS.get(name)()
