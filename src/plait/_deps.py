"""Optional dependencies, checked when a component is built, never on import."""

from __future__ import annotations

import importlib
from types import ModuleType

from plait.errors import MissingDependencyError


def require(module: str, extra: str, component: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise an error that names ``pip install 'plait[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(package or module, extra, component) from exc


def require_transformers(extra: str, component: str) -> ModuleType:
    """transformers (see :func:`require`) with its own progress bars off: loading a model
    must not print a "Loading weights" bar in the middle of a command's output."""
    tf = require("transformers", extra, component)
    tf.utils.logging.disable_progress_bar()
    return tf
