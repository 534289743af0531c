"""The HTTP API and web UI over one or more corpora.

``create_app`` is imported lazily so that importing :mod:`plait.server.models`
(the typed client does) never loads FastAPI.
"""

from __future__ import annotations

import typing

if typing.TYPE_CHECKING:
    from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from plait.server.app import create_app

        return create_app
    raise AttributeError(name)
