"""Where plait keeps what it can always make again (de-quantised models, joined model
files, index files read from object storage): ``$PLAIT_CACHE``, else
``$XDG_CACHE_HOME/plait``, else ``~/.cache/plait``. ``$PLAIT_CACHE_DIR``, the SmolLM2
generator's spelling before there was one home for this, is still read."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """The cache folder, or ``parts`` under it (not created: callers write atomically)."""
    base = os.environ.get("PLAIT_CACHE") or os.environ.get("PLAIT_CACHE_DIR")
    if base:
        root = Path(base).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "plait"
    return root.joinpath(*parts)
