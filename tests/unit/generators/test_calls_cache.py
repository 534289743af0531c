"""Batch calls through a generator: the cache key, the SQLite cache, batching, bounded
concurrency and per-prompt failures. The generators here are fakes at the seam (the
Generator protocol); the real ones run in tests/integration/test_recaption.py."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from plait.errors import GeneratorError
from plait.generators import BaseGenerator, Generation, GenOptions, ImagePart, Prompt
from plait.generators.cache import GenerationCache, cache_key, model_identity, open_cache
from plait.generators.calls import generate_many


class Upper(BaseGenerator):
    """Upper-cases the last user turn; fails on prompts that say BAD; counts its calls."""

    def __init__(self, remote: bool = False, delay: float = 0.0) -> None:
        super().__init__()
        self.name = "upper?threads=1"
        self.remote = remote
        self.delay = delay
        self.batches: list[int] = []
        self.calls = Counter()
        self.in_flight = 0
        self.peak = 0
        self._l = threading.Lock()

    def _one(self, p: Prompt) -> Generation:
        text = p.messages[-1].text()
        with self._l:
            self.calls[text] += 1
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        try:
            time.sleep(self.delay)
            if "BAD" in text:
                raise GeneratorError("the server answered HTTP 500", reason="server_error")
            return Generation(text.upper(), new_tokens=len(text.split()))
        finally:
            with self._l:
                self.in_flight -= 1

    def generate(self, prompt, options=GenOptions()):
        return self._one(prompt)

    def generate_batch(self, prompts, options=GenOptions()):
        self.batches.append(len(prompts))
        return [self._one(p) for p in prompts]


def P(text: str) -> Prompt:
    return Prompt.of(text, system="rewrite")


def test_the_key_ignores_how_a_model_runs_but_not_what_it_is_asked():
    o = GenOptions(max_new_tokens=20)
    assert model_identity("smollm2?threads=2&batch_size=4") == "smollm2"
    assert model_identity("hf:./m?dtype=bf16&threads=1") == "hf:./m?dtype=bf16"
    k = cache_key("smollm2?threads=2", P("a dog"), o)
    assert k == cache_key("smollm2?threads=1&batch_size=16", P("a dog"), o)
    assert k != cache_key("smollm2", P("a cat"), o)
    assert k != cache_key("smollm2", P("a dog"), GenOptions(max_new_tokens=20, temperature=0.7))
    assert k != cache_key("hf:./other", P("a dog"), o)
    assert k != cache_key("smollm2", P("a dog"), o, variant="1")
    img = [ImagePart(b"\x89PNG one"), "describe"]
    assert cache_key("m", Prompt.of(img), o) != cache_key(
        "m", Prompt.of([ImagePart(b"\x89PNG two"), "describe"]), o
    )


def test_local_batches_isolate_a_failing_prompt_and_cache_the_rest(tmp_path: Path):
    gen = Upper()
    cache = GenerationCache(tmp_path / "c.sqlite")
    prompts = [P(f"caption {i}") for i in range(5)] + [P("BAD one"), P("caption 0")]
    counts: Counter = Counter()
    out = generate_many(gen, prompts, GenOptions(), cache=cache, batch_size=4, counts=counts)
    assert [a.text for a in out[:5]] == [f"CAPTION {i}" for i in range(5)]
    assert out[5].text is None and out[5].reason == "server_error"
    assert out[6].text == "CAPTION 0"  # the same prompt twice in one call runs once
    assert gen.calls["caption 0"] == 1 and max(gen.batches) <= 4
    assert counts == Counter(requests=7, calls=6, generated=5, **{"failed:server_error": 1})
    assert len(cache) == 5  # failures are not stored: a rerun retries them

    again: Counter = Counter()
    gen2 = Upper()
    out2 = generate_many(gen2, prompts, GenOptions(), cache=cache, counts=again)
    assert [a.text for a in out2] == [a.text for a in out]
    assert all(a.cached for a in out2[:5]) and not out2[5].cached
    assert again["cache_hits"] == 6 and again["failed:server_error"] == 1
    assert sum(gen2.calls.values()) == 1  # only the failed prompt was asked again


def test_a_server_gets_bounded_concurrency_and_per_prompt_failures(tmp_path: Path):
    gen = Upper(remote=True, delay=0.05)
    prompts = [P(f"c{i}") for i in range(20)] + [P("BAD")]
    counts: Counter = Counter()
    out = generate_many(gen, prompts, GenOptions(), concurrency=4, counts=counts)
    assert 2 <= gen.peak <= 4
    assert [a.text for a in out[:20]] == [f"C{i}" for i in range(20)]
    assert out[20].reason == "server_error" and out[20].text is None
    assert counts["generated"] == 20 and counts["failed:server_error"] == 1


def _writer(path: str, start: int) -> None:
    cache = GenerationCache(path)
    for i in range(start, start + 100):
        cache.put_many([(f"k{i}", "m", Generation(f"t{i}"))])


def test_worker_processes_write_one_cache_at_once(tmp_path: Path):
    path = str(tmp_path / "shared.sqlite")
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, s)) for s in (0, 100, 50)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    cache = GenerationCache(path)
    assert len(cache) == 200
    assert cache.get_many(["k0", "k199", "k75"])["k75"].text == "t75"


def test_open_cache_follows_the_setting(tmp_path: Path):
    assert open_cache("none", str(tmp_path)) is None
    c = open_cache("corpus", str(tmp_path))
    assert c is not None and c.path == tmp_path / "cache" / "generations.sqlite"
    assert open_cache("corpus", str(tmp_path)) is c  # one per file per process
    mem = open_cache("corpus", None)
    assert mem is not None and mem.path is None


@pytest.mark.parametrize("rate", [20.0])
def test_openai_rate_paces_requests_across_threads(rate: float):
    from plait.generators.openai import OpenAIGenerator

    gen = OpenAIGenerator("http://127.0.0.1:9/v1#m", rate=rate)
    t0 = time.monotonic()
    threads = [threading.Thread(target=gen._pace) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert time.monotonic() - t0 >= 9 / rate * 0.9  # 10 requests need 9 gaps


def test_a_budget_caps_model_calls_and_zero_means_cache_only(tmp_path: Path):
    gen = Upper()
    cache = GenerationCache(tmp_path / "c.sqlite")
    prompts = [P(f"c{i}") for i in range(6)]
    counts: Counter = Counter()
    out = generate_many(gen, prompts, GenOptions(), cache=cache, budget=2, counts=counts)
    assert sum(a.text is not None for a in out) == 2 and counts["calls"] == 2
    assert counts["failed:budget"] == 4 and {a.reason for a in out if a.text is None} == {"budget"}
    again: Counter = Counter()
    out = generate_many(gen, prompts, GenOptions(), cache=cache, budget=0, counts=again)
    assert sum(a.text is not None for a in out) == 2  # the cached two, nothing asked
    assert again["calls"] == 0 and again["cache_hits"] == 2 and again["failed:budget"] == 4
