"""Answers for the HTTP faces: one :class:`~plait.answer.Asker` per (corpus, generator),
built on first use under a lock and sharing the corpus's searcher, so a model loads once
per server. Only the generators the server was started with may be named."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from plait.errors import ConfigError, SecurityError


class AskService:
    def __init__(self, state: Any) -> None:
        self.state = state
        self._askers: dict[tuple[str, str], Any] = {}
        self._generators: dict[str, Any] = {}
        self._lock = threading.Lock()

    @property
    def allowed(self) -> list[str]:
        return list(self.state.settings.generators)

    def asker(self, corpus: str, generator: str | None = None) -> Any:
        spec = generator or self.allowed[0]
        if spec not in self.allowed:
            raise SecurityError(
                f"generator {spec!r} is not enabled on this server "
                f"(enabled: {', '.join(self.allowed)}; start it with --generator SPEC)"
            )
        key = (corpus, spec)
        with self._lock:
            got = self._askers.get(key)
            if got is None:
                from plait.answer import Asker
                from plait.answer.retrieve import Retriever
                from plait.generators import load_generator

                if spec not in self._generators:
                    self._generators[spec] = load_generator(spec)
                searcher = self.state.searches[corpus].searcher()
                retriever = Retriever(self.state.corpus(corpus), searcher)
                got = Asker(self.state.corpus(corpus), self._generators[spec], retriever=retriever)
                self._askers[key] = got
        return got


_LINK = re.compile(r"!\[([^\]]{0,200})\]\(\s*(?:image\s*)?(\d{1,3})\s*\)", re.I)


class LinkRewriter:
    """Rewrites ``![caption](image N)`` in streamed text to real image URLs as the text
    arrives, holding back only a possibly unfinished link."""

    def __init__(self, url_of: Callable[[int], str | None]) -> None:
        self.url_of = url_of
        self.buf = ""

    def _sub(self, m: re.Match[str]) -> str:
        url = self.url_of(int(m.group(2)))
        return f"![{m.group(1)}]({url})" if url else ""

    def feed(self, piece: str) -> str:
        self.buf += piece
        cut = self.buf.rfind("![")
        if cut >= 0 and _LINK.search(self.buf, cut) is None and len(self.buf) - cut < 260:
            ready, self.buf = self.buf[:cut], self.buf[cut:]
        else:
            ready, self.buf = self.buf, ""
        return _LINK.sub(self._sub, ready)

    def flush(self) -> str:
        out, self.buf = _LINK.sub(self._sub, self.buf), ""
        return out


def question_of(messages: list[dict[str, Any]]) -> str:
    """The last user turn's text (a content list's text parts joined)."""
    for m in reversed(messages or []):
        if not isinstance(m, dict) or m.get("role") != "user":
            continue
        content = m.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return " ".join(
                str(p.get("text", ""))
                for p in content
                if isinstance(p, dict) and p.get("type") == "text"
            )
    raise ConfigError("the request has no user message to answer")


def sse(event: str, data: Any) -> str:
    import json

    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


def events(stream: Iterator[dict[str, Any]]) -> Iterator[str]:
    """Ask events as server-sent events; a failure mid-stream is an ``error`` event."""
    from plait.errors import PlaitError

    try:
        for ev in stream:
            yield sse(ev["type"], {k: v for k, v in ev.items() if k != "type" and k[0] != "_"})
    except PlaitError as exc:
        yield sse("error", {"error": type(exc).__name__, "message": str(exc)})
