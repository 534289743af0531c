"""What one server serves and what it allows; built once by the app factory."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.errors import ConfigError
from plait.io.store import location

API_KEY_ENV = "PLAIT_API_KEY"
SETTINGS_ENV = "PLAIT_SERVE_SETTINGS"  # JSON: what each worker of `serve --workers N` builds


@dataclass
class ServerSettings:
    """``corpora`` maps a name to a corpus directory; the first is the default.

    ``api_key`` None reads ``PLAIT_API_KEY``; with neither, writes answer 403.
    """

    corpora: dict[str, Any]  # name -> a Path, or an ObjectPath (plait.io.store)
    api_key: str | None = None
    export_root: Path = field(default_factory=lambda: Path("exports"))
    max_upload_bytes: int = 8 * 1024 * 1024
    max_page: int = 100
    max_offset: int = 10_000
    max_export_query: int = 100_000
    thumb_cache: int = 4096
    # Generators that /ask and /v1/chat/completions may use; the first is the default.
    # A request cannot name any other (hf:DIR reads local paths, openai: reaches hosts).
    generators: list[str] = field(default_factory=lambda: ["extractive"])
    # an uploaded query image is refused (413) above this many pixels, read from its
    # header before decoding; at most ``decode_slots`` are decoded at once (RGB: 3 bytes
    # a pixel, so about 100 MB of decoded images at the defaults)
    max_query_pixels: int = 16_000_000
    decode_slots: int = 2
    # the address the server is bound to (None: unknown, e.g. an app under test). Bound to
    # loopback, only requests naming a loopback host (or one in ``allowed_hosts``) are
    # served: a DNS-rebinding page cannot reach the API through the browser
    host: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    query_cache: int = 2048  # search answers kept per server process (0: none)
    # load the query encoders a plain text and a plain image search use when the server
    # starts, in the background (`plait serve` does; an app under test loads on first use)
    preload: bool = False

    def __post_init__(self) -> None:
        if not self.corpora:
            raise ConfigError("serve needs at least one corpus")
        if self.api_key is None:
            self.api_key = os.environ.get(API_KEY_ENV) or None
        self.export_root = Path(self.export_root).resolve()
        self.corpora = {k: location(v) for k, v in self.corpora.items()}
        self.generators = list(dict.fromkeys(self.generators or ["extractive"]))

    @property
    def default(self) -> str:
        return next(iter(self.corpora))

    @classmethod
    def build(
        cls, corpora: str | Path | Sequence[str | Path] | Mapping[str, str | Path], **kw: Any
    ) -> ServerSettings:
        """From one path, several paths (``NAME=PATH`` allowed), or a name -> path map."""
        if isinstance(corpora, Mapping):
            return cls(corpora={str(k): location(v) for k, v in corpora.items()}, **kw)
        items = [corpora] if isinstance(corpora, (str, Path)) else list(corpora)
        named: dict[str, Any] = {}
        for item in items:
            text = str(item)
            name, sep, path = text.partition("=")
            if not sep or "/" in name or not name:
                name, path = location(text).resolve().name, text
            if name in named:
                raise ConfigError(f"two corpora are named {name!r}; name them with NAME=PATH")
            named[name] = location(path)
        return cls(corpora=named, **kw)
