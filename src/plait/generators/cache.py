"""A cache of generations keyed by (content, prompt, generator), so work is paid for once.

The key is the sha256 of the model's identity (its spec without the options that only
change how it runs: threads, batch size, concurrency, timeouts, rate), the decoding
options, the prompt as the model reads it (every turn's text; images by the sha256 of
their bytes) and a ``variant`` (the k-th sampled rewrite of one caption). So a rerun, a
resumed run after a kill, or another operator asking the same question of the same
model gets the stored answer without a model call.

Storage is one SQLite file (WAL mode): worker processes of one run write to it at once,
each answer is committed as soon as it arrives (a SIGKILL loses only the calls in
flight), and failures are never stored, so a rerun retries them.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from plait.generators.base import Generation, GenOptions, ImagePart, Prompt, parse_spec

# Options that change how a generator runs, never what it answers.
TRANSPORT_OPTIONS = frozenset(
    {"threads", "batch_size", "concurrency", "timeout", "retries", "backoff", "rate", "key_env"}
)
FILE = "generations.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    generator TEXT NOT NULL,
    text TEXT NOT NULL,
    finish TEXT NOT NULL,
    prompt_tokens INTEGER,
    new_tokens INTEGER,
    seconds REAL,
    created REAL
)
"""


def model_identity(spec: str) -> str:
    """``smollm2?threads=2`` -> ``smollm2``: the spec without transport options."""
    kind, arg, opts = parse_spec(spec)
    kept = sorted((k, v) for k, v in opts.items() if k not in TRANSPORT_OPTIONS)
    base = f"{kind}:{arg}" if arg else kind
    return base + ("?" + "&".join(f"{k}={v}" for k, v in kept) if kept else "")


def prompt_digest(prompt: Prompt) -> list[list[object]]:
    """The prompt as the model reads it, with images as the sha256 of their bytes."""
    out: list[list[object]] = []
    for m in prompt.messages:
        parts: list[object] = [
            p if isinstance(p, str) else {"image": hashlib.sha256(p.data).hexdigest()}
            for p in m.parts()
            if isinstance(p, str | ImagePart)
        ]
        out.append([m.role, parts])
    return out


def cache_key(spec: str, prompt: Prompt, options: GenOptions, variant: str = "") -> str:
    payload = [
        model_identity(spec),
        prompt_digest(prompt),
        [options.max_new_tokens, options.temperature, list(options.stop)],
        variant,
    ]
    blob = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Cached:
    text: str
    finish: str
    new_tokens: int
    created: float


class GenerationCache:
    """Answers by key in one SQLite file (``path=None``: in memory, for one process)."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(self.path) if self.path else ":memory:", timeout=60, check_same_thread=False
        )
        with self._lock:
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)
            self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, Cached]:
        out: dict[str, Cached] = {}
        uniq = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(uniq), 500):
                chunk = uniq[i : i + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, text, finish, new_tokens, created FROM generations "
                    f"WHERE key IN ({marks})",
                    chunk,
                )
                for key, text, finish, new, created in rows:
                    out[key] = Cached(text, finish, int(new or 0), float(created or 0))
        return out

    def put_many(self, items: list[tuple[str, str, Generation]]) -> None:
        """Store ``(key, generator spec, generation)`` rows; one commit for all of them."""
        if not items:
            return
        now = time.time()
        rows = [
            (k, spec, g.text, g.finish, g.prompt_tokens, g.new_tokens, g.seconds, now)
            for k, spec, g in items
        ]
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO generations VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM generations").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


_OPEN: dict[str, GenerationCache] = {}
_OPEN_LOCK = threading.Lock()


def cache_path(setting: str, corpus_path: str | None) -> Path | None:
    """Where an operator's ``cache`` setting points: ``corpus`` -> ``CORPUS/cache/``
    (in memory without a local corpus), ``none`` -> no cache, else a file or folder."""
    if setting == "none":
        return None
    if setting == "corpus":
        if not corpus_path or "://" in corpus_path:
            return None
        return Path(corpus_path) / "cache" / FILE
    p = Path(setting).expanduser()
    return p / FILE if p.suffix != ".sqlite" else p


def open_cache(setting: str, corpus_path: str | None) -> GenerationCache | None:
    """One open cache per file per process (``none`` gives None; no corpus: in memory)."""
    if setting == "none":
        return None
    path = cache_path(setting, corpus_path)
    key = str(path) if path is not None else f":memory:{corpus_path}"
    with _OPEN_LOCK:
        if key not in _OPEN:
            _OPEN[key] = GenerationCache(path)
        return _OPEN[key]
