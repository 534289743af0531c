"""Operator base classes. The base owns the loop, the stats and the drop reasons,
so a concrete operator implements one hook.

- :class:`Filter`: ``score`` measures (writes ``stats``), ``keep`` decides with a
  reason. ``mode="annotate"`` scores without dropping.
- :class:`Mapper`: adds or rewrites fields (never ``meta``). The executor keeps the
  version a mapper replaced (table ``replaced``), so ``plait restore`` undoes it.
- :class:`Deduplicator`: ``fingerprint`` per shard, then one global ``resolve``;
  ``describe`` turns a fingerprint into stats, ``mode="annotate"`` drops nothing.

In annotate mode a sample that would have been dropped is kept with
``stats["would_drop"][op] = reason``, and the run counts it per reason.

Operators never import an executor. Their constructor signature is their
config schema: recipes and ``plait ops show`` are generated from it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from plait.errors import ConfigError
from plait.schema import Sample

DROP = "drop"
ANNOTATE = "annotate"
MODES = (DROP, ANNOTATE)
WOULD_DROP = "would_drop"  # stats key: {op: reason} of annotate-mode steps


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError(f"mode must be {DROP!r} or {ANNOTATE!r}, not {mode!r}")
    return mode


def flag(sample: Sample, op: str, reason: str) -> None:
    """Record in ``stats`` that ``op`` would have dropped ``sample`` (annotate mode)."""
    flags = sample.stats.get(WOULD_DROP)
    if not isinstance(flags, dict):
        flags = {}
    flags[op] = reason
    sample.stats[WOULD_DROP] = flags


@dataclass
class OpContext:
    """What an operator may use while it runs: media access and the run id."""

    run_id: str
    media: Callable[[Sequence[str]], dict[str, bytes]]  # media ids -> bytes
    corpus_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Rejection:
    sample: Sample
    op: str
    reason: str


@dataclass
class Result:
    kept: list[Sample]
    rejected: list[Rejection]
    flagged: list[Rejection] = field(default_factory=list)  # annotate mode: kept, would drop
    # what the step did besides keeping and dropping, for the run report (a generating
    # operator's calls, cache hits and failures by reason)
    counts: Counter[str] = field(default_factory=Counter)


class Op(ABC):  # noqa: B024 - hooks with defaults, no abstract method
    """Common base. ``name`` is the registry name; ``uses_model`` marks ops that Ray
    runs as an actor pool (the model loads once per worker in :meth:`setup`)."""

    name: ClassVar[str] = ""
    uses_model: ClassVar[bool] = False
    # Parameters for a minimal working instance: ``plait ops show`` prints them as a
    # recipe line and the contract tests build every registered op from them.
    example: ClassVar[dict[str, Any]] = {}
    _params: dict[str, Any]  # set by build(): the parameters as the recipe gave them

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Load models or other heavy state; called once per worker before any batch."""

    def check(self, corpus_path: str | None) -> None:  # noqa: B027 - optional hook
        """Fail early (ConfigError) if this op cannot run on the corpus, e.g. a saved
        filter that does not exist. Called by the recipe checker before any work."""

    def process(self, batch: list[Sample], ctx: OpContext) -> Result:
        """One batch in, the kept and the dropped samples out (Filter and Mapper). A
        Deduplicator has no per-batch result: it runs as ``fingerprint`` then ``resolve``."""
        raise NotImplementedError(f"{type(self).__name__} runs as fingerprint, then resolve")

    def params(self) -> dict[str, Any]:
        """The constructor arguments this op was built with (for runs and lineage).

        Operators keep each constructor argument as an attribute of the same name,
        so this also works for ops built directly rather than through ``build``.
        """
        if hasattr(self, "_params"):
            return dict(self._params)
        import inspect

        sig = inspect.signature(type(self).__init__)
        return {
            p: getattr(self, p)
            for p in list(sig.parameters)[1:]
            if sig.parameters[p].kind
            not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
            and hasattr(self, p)
        }


class Filter(Op):
    """Scores samples and keeps or drops each with a reason."""

    def __init__(self, mode: str = DROP) -> None:
        self.mode = check_mode(mode)

    @abstractmethod
    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        """Measure each sample; return one stats dict per sample (merged into ``stats``)."""

    @abstractmethod
    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        """None to keep the sample, else the reason it is dropped."""

    def process(self, batch: list[Sample], ctx: OpContext) -> Result:
        scored = self.score(batch, ctx)
        res = Result([], [])
        for sample, stats in zip(batch, scored, strict=True):
            sample.stats.update(stats)
            reason = self.keep(sample, stats)
            if reason is None:
                res.kept.append(sample)
            elif self.mode == ANNOTATE:
                flag(sample, self.name, reason)
                res.kept.append(sample)
                res.flagged.append(Rejection(sample, self.name, reason))
            else:
                res.rejected.append(Rejection(sample, self.name, reason))
        return res


class Mapper(Op):
    """Adds or rewrites fields of each sample.

    A mapper only changes samples; keeping what it replaced is the executor's job
    (it compares each sample before and after, and stores the run's input version
    of every changed sample in ``replaced``), so every mapper is reversible for free.
    """

    @abstractmethod
    def map(self, batch: list[Sample], ctx: OpContext) -> list[Sample]: ...

    def process(self, batch: list[Sample], ctx: OpContext) -> Result:
        return Result(self.map(batch, ctx), [])


class Deduplicator(Op):
    """Two phases: a per-shard ``fingerprint`` and one global ``resolve``.

    Subclasses take a ``mode`` parameter (``drop`` or ``annotate``) and store it as
    ``self.mode``; the executor reads it.
    """

    mode: str = DROP

    def describe(self, fingerprint: Any) -> dict[str, Any]:
        """Stats to write for a sample with this (non-None) fingerprint (default: none),
        e.g. the score a top-fraction cut ranks by."""
        return {}

    @abstractmethod
    def fingerprint(self, batch: list[Sample], ctx: OpContext) -> list[Any]:
        """One picklable fingerprint per sample (None: not comparable, always kept)."""

    @abstractmethod
    def resolve(self, items: list[tuple[str, Any]]) -> dict[str, str]:
        """Given (sample_id, fingerprint) for the whole corpus in a stable order, return
        {dropped sample_id: reason}; the reason names the kept sample it duplicates."""
