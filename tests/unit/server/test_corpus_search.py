"""The server's per-corpus searcher loads each query encoder once, and a slow load holds
up only the queries that need that encoder."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

from plait.server.state import CorpusSearch


class SlowSearcher:
    """Resolves a query's encoder from its text; loading ``effnet`` waits for ``release``."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.loads: list[str] = []

    def resolve(self, query: Any) -> tuple[str, str]:
        return "table", query.text

    def encoder(self, spec: str) -> object:
        self.loads.append(spec)
        if spec == "effnet":
            assert self.release.wait(10)
        return object()

    def search(self, query: Any) -> list[str]:
        return [query.text]


def ask(text: str) -> SimpleNamespace:
    return SimpleNamespace(fulltext=False, text=text, image=None)


def test_a_slow_encoder_load_holds_only_its_own_queries() -> None:
    cs = CorpusSearch(corpus=None)  # type: ignore[arg-type]
    fake = SlowSearcher()
    cs._searcher = fake
    done: list[list[str]] = []
    image_queries = [
        threading.Thread(target=lambda: done.append(cs(ask("effnet")))) for _ in range(5)
    ]
    for t in image_queries:
        t.start()
    # while effnet loads, a query on another encoder is answered at once
    text = threading.Thread(target=lambda: done.append(cs(ask("minilm"))))
    text.start()
    text.join(5)
    assert not text.is_alive() and done == [["minilm"]]
    fake.release.set()
    for t in image_queries:
        t.join(5)
    assert len(done) == 6 and fake.loads.count("effnet") == 1 and fake.loads.count("minilm") == 1


def test_preload_skips_what_a_corpus_cannot_search_and_never_raises(caplog) -> None:  # noqa: ANN001
    """A corpus with no text embeddings (resolve raises the user's error) or a broken
    table (anything else) leaves preload with nothing loaded, a log line, and no crash;
    the first query meets the same error with its own answer."""
    from plait.errors import NotFoundError

    class Broken(SlowSearcher):
        def resolve(self, query: Any) -> tuple[str, str]:
            if query.text:
                raise NotFoundError("no text embeddings in this corpus")
            raise OSError("table unreadable")

    cs = CorpusSearch(corpus=SimpleNamespace(uri="/c"))  # type: ignore[arg-type]
    cs._searcher = Broken()
    with caplog.at_level("INFO", logger="plait.server.state"):
        cs.preload()
    assert cs._loaded == set() and cs._searcher.loads == []
    assert "no text encoder to preload" in caplog.text
    assert "preloading the image encoder failed" in caplog.text
