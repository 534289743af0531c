"""Executors run a recipe's stages over shards: ``local`` (processes) and ``ray`` (Ray Data).

Only :mod:`plait.executors.ray` imports ray, and only when it is used.
"""

from __future__ import annotations

from typing import Any

from plait.registry import Registry

EXECUTORS: Registry[Any] = Registry("executor")
EXECUTORS.add("local", "plait.executors.local:LocalExecutor")
EXECUTORS.add("ray", "plait.executors.ray:RayExecutor")


def get_executor(name: str) -> Any:
    """An executor instance by name (UnknownNameError lists the valid ones)."""
    return EXECUTORS.get(name)()
