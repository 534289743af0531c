"""Per-app state (no module-level state: two apps in one process never share it) and
the FastAPI dependencies that reach it: the corpus by name, and the API key check."""

from __future__ import annotations

import io
import logging
import secrets
import threading
import time
from collections import OrderedDict
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from plait.errors import AuthError, SecurityError, UnknownNameError
from plait.io.corpus import Corpus
from plait.io.media import open_image
from plait.server.batching import one_torch_thread
from plait.server.jobs import ExportJobs, Job
from plait.server.lineage import LineageTables
from plait.server.query_cache import QueryCache
from plait.server.settings import ServerSettings

log = logging.getLogger(__name__)


class ThumbCache:
    """A bounded LRU of JPEG thumbnails keyed by (media id, size); thread-safe."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: tuple[str, int], data: bytes) -> None:
        with self._lock:
            self._items[key] = data
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)


def make_thumb(data: bytes, size: int) -> bytes:
    from PIL import Image

    src = Image.open(io.BytesIO(data))
    if src.format == "JPEG":
        src.draft("RGB", (size, size))  # decode at a reduced scale, much faster
        img = src.convert("RGB")
    else:  # as every other decoder does: transparency composited on white (clip art)
        img = open_image(data)
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return buf.getvalue()


class CorpusSearch:
    """One :class:`plait.retrieval.Searcher` per corpus, so each encoder and table loads
    once per server; the first query of an encoder loads it under that encoder's lock
    (fifty clients arriving together must not load fifty models, and queries that need
    another encoder, or none, must not wait for it: an image encoder loading under load
    once held every request of the server behind one lock for seconds). Query encoders
    are wrapped so that concurrent requests share forward passes
    (:mod:`plait.server.batching`)."""

    def __init__(self, corpus: Corpus, batch: bool = True) -> None:
        self.corpus = corpus
        self.batch = batch
        self._searcher: Any = None
        self._loaded: set[str] = set()
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self._encoders: list[Any] = []

    def _wrap(self, encoder: Any) -> Any:
        from plait.server.batching import BatchingEncoder

        wrapped = BatchingEncoder(encoder)
        self._encoders.append(wrapped)
        return wrapped

    def searcher(self) -> Any:
        """The corpus's one Searcher (built on first use); answers share it."""
        from plait.retrieval import Searcher

        with self._lock:
            if self._searcher is None:
                self._searcher = Searcher(
                    self.corpus, wrap_encoder=self._wrap if self.batch else None
                )
        return self._searcher

    def versions(self) -> tuple[Any, ...]:
        """What a cached answer is keyed by (see :mod:`plait.server.query_cache`)."""
        return self.searcher().versions()

    def __call__(self, query: Any) -> list[Any]:
        s = self.searcher()
        if not query.fulltext and (query.text or query.image is not None):
            self._load(s, s.resolve(query)[1])
        return s.search(query)

    def _load(self, s: Any, spec: str) -> None:
        if spec in self._loaded:
            return
        with self._lock:
            loading = self._loading.setdefault(spec, threading.Lock())
        with loading:
            if spec not in self._loaded:
                s.encoder(spec)
                self._loaded.add(spec)
                one_thread_per_request()

    def preload(self) -> None:
        """Load the encoders a plain text and a plain image query would use, so that the
        first queries after a start do not each wait for a model loading on cores busy
        with other requests (bench/serve.py: a 13 s p95 for text in the first phase of a
        two-worker server). Corpora without such embeddings are skipped."""
        from plait.errors import PlaitError
        from plait.retrieval import Query

        s = self.searcher()
        for kind, probe in (("text", Query(text="preload")), ("image", Query(image=b"x"))):
            try:
                self._load(s, s.resolve(probe)[1])
            except PlaitError as exc:  # no table for that modality, an encoder not installed
                log.info("%s: no %s encoder to preload (%s)", self.corpus.uri, kind, exc)
            except Exception:  # the first query will meet it again, with its own answer
                log.warning("%s: preloading the %s encoder failed", self.corpus.uri, kind)

    def close(self) -> None:
        for enc in self._encoders:
            enc.close()


def one_thread_per_request() -> None:
    """Requests already run in parallel threads, so the math libraries' own thread pools
    only oversubscribe the cores: torch's intra-op threads made a one-query encode 2-4x
    slower beside Lance's threads, and OpenBLAS, called from 50 request threads at once,
    serialised them on its lock with its threads spinning (text search 14 q/s instead of
    70, bench/serve.py). BLAS libraries loaded so far get one thread per call, process-wide
    (so this runs again after an encoder loads); torch keeps its count per thread, so this
    sets the calling thread's and the batcher's workers set their own."""
    one_torch_thread()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - a dependency of the serve extra
        return
    threadpool_limits(1, user_api="blas")


class StatsCache:
    """Dashboard counts for a few seconds: each computation scans whole columns, and a
    dashboard under load must not rescan per request. Server writes clear it."""

    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._items: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, compute: Any) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(name)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        value = compute()
        with self._lock:
            self._items[name] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class AppState:
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.corpora = {name: Corpus.open(path) for name, path in settings.corpora.items()}
        self.searches = {name: CorpusSearch(c) for name, c in self.corpora.items()}
        self.thumbs = ThumbCache(settings.thumb_cache)
        self.stats = StatsCache()
        self.answers = QueryCache(settings.query_cache)
        self.lineage = {name: LineageTables(c) for name, c in self.corpora.items()}
        self.jobs = ExportJobs(settings.export_root, self._export, _job_error)
        self.write_lock = threading.Lock()  # one writer per table at a time
        self.decode_slots = threading.BoundedSemaphore(max(1, settings.decode_slots))
        from plait.server.answers import AskService

        self.ask = AskService(self)

    def _export(self, job: Job, progress: Any) -> dict[str, Any]:
        """Run one export job (persisted: see :mod:`plait.server.jobs`)."""
        from plait.export import export

        spec = dict(job.spec)
        if isinstance(spec.get("where"), dict):
            from plait.retrieval.cards import build_where
            from plait.server.models import Filters

            got = spec["where"]
            spec["where"] = build_where(got["text"], Filters(**got["filters"]))
        if job.attempts > 1:  # an earlier attempt died part way: replace what it wrote
            spec["overwrite"] = True
        with self.write_lock:  # export writes a runs row
            report = export(
                self.corpus(job.corpus),
                self.settings.export_root / job.dest,
                job.format,
                progress=progress,
                **spec,
            )
        self.written()
        return {**report.to_dict(), "dest": job.dest}

    def written(self) -> None:
        """After this server wrote to a corpus: forget what was read before."""
        self.stats.clear()
        self.answers.clear()
        for tables in self.lineage.values():
            tables.clear()

    def corpus(self, name: str) -> Corpus:
        try:
            return self.corpora[name]
        except KeyError:
            raise UnknownNameError("corpus", name, self.corpora) from None

    def preload(self) -> threading.Thread:
        """Load every corpus's query encoders in a background thread (see
        :meth:`CorpusSearch.preload`); queries that arrive first wait only for the
        encoder they need."""

        def run() -> None:
            for search in self.searches.values():
                search.preload()

        thread = threading.Thread(target=run, name="plait-preload", daemon=True)
        thread.start()
        return thread

    def close(self) -> None:
        self.jobs.shutdown()
        for search in self.searches.values():
            search.close()


def _job_error(exc: Exception) -> dict[str, Any]:
    from plait.server.errors import error_content

    return error_content(exc)[1]


def get_state(request: Request) -> AppState:
    return request.app.state.plait


State = Annotated[AppState, Depends(get_state)]


def get_corpus(name: str, state: State) -> Corpus:
    return state.corpus(name)


CorpusDep = Annotated[Corpus, Depends(get_corpus)]


def get_search(name: str, state: State) -> CorpusSearch:
    state.corpus(name)
    return state.searches[name]


SearchDep = Annotated[CorpusSearch, Depends(get_search)]


def require_key(
    state: State,
    x_api_key: Annotated[str | None, Header()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> None:
    """Writes need the key (``X-API-Key`` or ``Authorization: Bearer``); no key set: 403."""
    expected = state.settings.api_key
    if not expected:
        raise SecurityError("writes are disabled: start the server with --api-key or PLAIT_API_KEY")
    given = x_api_key
    if given is None and authorization and authorization.lower().startswith("bearer "):
        given = authorization[7:].strip()
    if not given or not secrets.compare_digest(given.encode(), expected.encode()):
        raise AuthError("this needs the API key (send it as X-API-Key)")


WriteKey = Depends(require_key)
