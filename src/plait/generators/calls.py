"""Many prompts through one generator, as batch work needs it: cached, batched or
concurrent, every failure isolated to its prompt and counted by reason.

- Cache first (:mod:`plait.generators.cache`): a prompt answered before costs nothing
  and counts as ``cache_hits``; the same prompt twice in one call runs once.
- A local model (``remote`` false) gets ``generate_batch`` chunks of ``batch_size``
  prompts, sorted by length so a batch pads little; a chunk that fails is retried
  prompt by prompt, so one bad prompt fails alone.
- A server (``remote`` true) gets ``concurrency`` requests in flight; the generator
  itself applies timeouts, retries with backoff and its rate limit, and its retries
  are counted here as ``retried:<reason>``.
- Each answer is written to the cache the moment it arrives, so a killed run loses only
  the calls in flight. A failed call is an :class:`Answer` with a ``reason``, never an
  empty text, and counts as ``failed:<reason>``.
- ``budget`` caps the model calls (0: answers only from the cache); prompts past it fail
  with reason ``budget`` and a later run picks them up.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from plait.errors import PlaitError
from plait.generators.base import Generation, Generator, GenOptions, Prompt, load_generator
from plait.generators.cache import GenerationCache, cache_key


@dataclass(frozen=True)
class Answer:
    """One prompt's outcome: ``text`` (None when the call failed) or the failure ``reason``."""

    text: str | None
    reason: str | None = None
    finish: str = "stop"
    cached: bool = False


def failure_reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return reason if isinstance(reason, str) and reason else type(exc).__name__


def generate_many(
    gen: Generator,
    prompts: Sequence[Prompt],
    options: GenOptions,
    *,
    cache: GenerationCache | None = None,
    variants: Sequence[str] | None = None,
    batch_size: int | None = None,
    concurrency: int | None = None,
    counts: Counter[str] | None = None,
    budget: int | None = None,
) -> list[Answer]:
    """One :class:`Answer` per prompt, in order; ``counts`` gains what happened."""
    counts = counts if counts is not None else Counter()
    spec = gen.name
    keys = [
        cache_key(spec, p, options, variants[i] if variants else "") for i, p in enumerate(prompts)
    ]
    found = cache.get_many(keys) if cache is not None else {}
    answers: dict[str, Answer] = {
        k: Answer(c.text, finish=c.finish, cached=True) for k, c in found.items()
    }
    todo: dict[str, Prompt] = {}
    for k, p in zip(keys, prompts, strict=True):
        if k not in answers:
            todo.setdefault(k, p)
    counts["requests"] += len(prompts)
    counts["cache_hits"] += sum(1 for k in keys if k in found)
    over = list(todo)[max(0, budget) :] if budget is not None else []
    for k in over:  # past the budget: not asked, counted, picked up by a later run
        answers[k] = Answer(None, reason="budget")
        del todo[k]
    if over:
        counts["failed:budget"] += len(over)
    counts["calls"] += len(todo)
    if todo:
        store = _Store(cache, spec)
        if getattr(gen, "remote", False):
            _concurrent(gen, todo, options, concurrency, answers, store)
        else:
            _batched(gen, todo, options, batch_size, answers, store)
        store.flush()
    for k in todo:
        a = answers[k]
        counts["generated" if a.text is not None else f"failed:{a.reason}"] += 1
    return [answers[k] for k in keys]


class _Store:
    """Writes answers to the cache as they arrive (failures are not stored)."""

    def __init__(self, cache: GenerationCache | None, spec: str) -> None:
        self.cache, self.spec = cache, spec
        self.pending: list[tuple[str, str, Generation]] = []

    def add(self, key: str, gen: Generation) -> None:
        self.pending.append((key, self.spec, gen))

    def flush(self) -> None:
        if self.cache is not None and self.pending:
            self.cache.put_many(self.pending)
        self.pending = []


_FAILURES = (PlaitError, RuntimeError, ValueError, OSError)  # one prompt's failure, counted


def _failed(exc: BaseException) -> Generation:
    return Generation("", finish="error", warnings=[failure_reason(exc)])


def _attempt(gen: Generator, prompt: Prompt, options: GenOptions) -> Generation:
    """One generation; a failure becomes a generation that says why."""
    try:
        return gen.generate(prompt, options)
    except _FAILURES as exc:
        return _failed(exc)


def _record(key: str, g: Generation, answers: dict[str, Answer], store: _Store) -> None:
    """An answer (a generation that says it failed is a failure, with its reason)."""
    if g.finish == "error":
        answers[key] = Answer(None, reason=g.warnings[0] if g.warnings else "error")
    else:
        answers[key] = Answer(g.text, finish=g.finish)
        store.add(key, g)


def _batched(
    gen: Generator,
    todo: dict[str, Prompt],
    options: GenOptions,
    batch_size: int | None,
    answers: dict[str, Answer],
    store: _Store,
) -> None:
    size = batch_size or int(getattr(gen, "batch_size", 0) or 8)
    # longest first: a batch of similar lengths pads little, and the slow ones start first
    order = sorted(todo, key=lambda k: -sum(len(m.text()) for m in todo[k].messages))
    for lo in range(0, len(order), size):
        chunk = order[lo : lo + size]
        try:
            gens = gen.generate_batch([todo[k] for k in chunk], options)
        except _FAILURES as exc:
            if len(chunk) == 1:
                gens = [_failed(exc)]
            else:  # isolate the prompt that fails
                gens = [_attempt(gen, todo[k], options) for k in chunk]
        for k, g in zip(chunk, gens, strict=True):
            _record(k, g, answers, store)
        store.flush()


def _concurrent(
    gen: Generator,
    todo: dict[str, Prompt],
    options: GenOptions,
    concurrency: int | None,
    answers: dict[str, Answer],
    store: _Store,
) -> None:
    width = max(1, concurrency or int(getattr(gen, "concurrency", 0) or 4))

    def one(k: str) -> tuple[str, Generation]:
        return k, _attempt(gen, todo[k], options)

    keys = iter(todo)
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="plait-gen") as pool:
        running = {pool.submit(one, k) for k in _take(keys, width)}
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                _record(*fut.result(), answers, store)
            store.flush()
            running |= {pool.submit(one, k) for k in _take(keys, width - len(running))}


def _take(it: Any, n: int) -> list[str]:
    out = []
    for _ in range(max(0, n)):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


def retry_counts(gen: Generator) -> Counter[str]:
    """A copy of the retries a server generator made so far, by reason (empty for local)."""
    return Counter(getattr(gen, "retried", None) or {})


_SHARED: dict[str, Generator] = {}
_SHARED_LOCK = threading.Lock()


def shared_generator(spec: str) -> Generator:
    """One generator per spec per process: the operators of a recipe that name the same
    model (rewrite, caption, judge) load it once per worker."""
    with _SHARED_LOCK:
        if spec not in _SHARED:
            _SHARED[spec] = load_generator(spec)
        return _SHARED[spec]
