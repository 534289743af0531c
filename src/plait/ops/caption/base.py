"""What every operator that asks a generator shares: the generator (one per spec per
worker), the generation cache, the counts for the run report, and provenance records.

Their common fields: ``generator`` (a spec: ``smollm2``, ``hf:DIR``,
``openai:URL#MODEL?concurrency=16&rate=20&timeout=30&retries=3``), ``cache`` (``corpus``:
``CORPUS/cache/generations.sqlite``; ``none``; or a folder or file shared between
corpora), ``max_new_tokens`` and ``max_calls`` (model calls each worker may make in a
run, None: no limit, 0: cached answers only; prompts past it fail with reason
``budget`` and a later run picks them up).

A generating operator is an ordinary Mapper or Filter: the executor keeps the version
it replaced (``replaced``), so its additions are undone by ``plait restore``; it adds
slots through :mod:`plait.slots`, so a rerun replaces them and ``plait why`` shows
where each came from.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, ClassVar

from plait.errors import ConfigError
from plait.generators.base import Generator, GenOptions, ImagePart, Prompt
from plait.ops.base import OpContext, Result
from plait.schema import Sample

CACHE_HELP = "corpus (CORPUS/cache/generations.sqlite), none, or a folder or .sqlite file"


class Generating:
    """Mixin: ``generator`` (spec), ``cache`` and ``max_new_tokens`` attributes expected."""

    uses_model: ClassVar[bool] = True
    generator: str
    cache: str
    max_new_tokens: int
    temperature: float = 0.0

    max_calls: int | None = None

    def _init_generating(
        self, generator: str, cache: str, max_new_tokens: int, max_calls: int | None = None
    ) -> None:
        if not generator or not str(generator).strip():
            raise ConfigError("a generator spec is needed, e.g. 'smollm2' or 'openai:URL#MODEL'")
        if max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be at least 1, not {max_new_tokens}")
        if not cache:
            raise ConfigError(f"cache must be {CACHE_HELP}")
        if max_calls is not None and max_calls < 0:
            raise ConfigError(f"max_calls must be >= 0 (0: cached answers only), not {max_calls}")
        self.generator, self.cache, self.max_new_tokens = generator, cache, max_new_tokens
        self.max_calls = max_calls
        self._calls_left = max_calls
        self._gen: Generator | None = None
        self._counts: Counter[str] = Counter()

    def check(self, corpus_path: str | None) -> None:
        """An unknown generator or option fails before any work (no model is loaded)."""
        from plait.generators.base import check_spec

        check_spec(self.generator)

    def setup(self) -> None:
        self._model()

    def _model(self) -> Generator:
        if self._gen is None:
            from plait.generators.calls import shared_generator

            self._gen = shared_generator(self.generator)
        return self._gen

    def _options(self, max_new_tokens: int | None = None) -> GenOptions:
        return GenOptions(
            max_new_tokens=max_new_tokens or self.max_new_tokens, temperature=self.temperature
        )

    def _ask(
        self,
        ctx: OpContext,
        prompts: Sequence[Prompt],
        variants: Sequence[str] | None = None,
        options: GenOptions | None = None,
    ) -> list[Any]:
        """One :class:`~plait.generators.calls.Answer` per prompt (cached, counted)."""
        from plait.generators.cache import open_cache
        from plait.generators.calls import generate_many, retry_counts

        if not prompts:
            return []
        gen = self._model()
        before = retry_counts(gen)
        calls_before = self._counts["calls"]
        answers = generate_many(
            gen,
            prompts,
            options or self._options(),
            cache=open_cache(self.cache, ctx.corpus_path),
            variants=variants,
            counts=self._counts,
            budget=self._calls_left,
        )
        if self._calls_left is not None:
            self._calls_left = max(0, self._calls_left - (self._counts["calls"] - calls_before))
        for reason, n in (retry_counts(gen) - before).items():
            self._counts[f"retried:{reason}"] += n
        return answers

    def _with_counts(self, res: Result) -> Result:
        res.counts.update(self._counts)
        self._counts = Counter()
        return res

    def _record(self, ctx: OpContext, template: Any, source: Any, **params: Any) -> dict[str, Any]:
        """The provenance of one generated slot (``stats.generated``)."""
        return {
            "op": getattr(self, "name", ""),
            "generator": self.generator,
            "prompt": template.hash,
            "template": template.name,
            "params": {"max_new_tokens": self.max_new_tokens, **params},
            "from": source,
            "run": ctx.run_id,
        }

    def _image(self, sample: Sample, ctx: OpContext) -> ImagePart | None:
        """The sample's first image as a prompt part, when the generator reads pixels."""
        gen = self._model()
        ids = sample.image_ids
        if not ids or not getattr(gen, "accepts_images", False):
            return None
        data = ctx.media(ids[:1]).get(ids[0])
        if not data:
            return None
        mime = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
        return ImagePart(data, mime, "image")
