"""YAML recipes: an ordered list of ``{op: NAME, ...params}``.

Every step is built (and so every parameter checked against the operator's
constructor signature) when the recipe is loaded, before any sample is read:
a typo in step 7 must not cost the six steps before it. Errors name the step's
position, the operator and the field.

``op`` is a registered name (``plait.ops.OPS``) or ``"package.module:Class"``
for an operator that lives outside plait; both are checked the same way.

Given the corpus (``load_recipe(..., corpus_path=...)`` or :meth:`Recipe.check`),
each step's operator also checks that it can run there (``Op.check``: a saved
learned filter or an aligned encoder that must exist), still before any work.
"""

from __future__ import annotations

import hashlib
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from plait.errors import ConfigError, ParamError, PlaitError, RecipeError
from plait.ops.base import Deduplicator, Filter, Mapper, Op
from plait.params import bind

if TYPE_CHECKING:
    from plait.registry import Registry


@dataclass(frozen=True)
class Step:
    """One recipe step: what the user wrote, and every parameter resolved with defaults."""

    position: int  # 1-based, as a user counts
    op: str
    params: dict[str, Any]
    resolved: dict[str, Any] = field(default_factory=dict)
    kind: str = "filter"  # filter, mapper or dedup

    @property
    def key(self) -> str:
        """Unique within a recipe even when one operator appears twice."""
        return f"{self.position}:{self.op}"

    def build(self) -> Op:
        """A fresh operator instance (workers call this; the driver already validated)."""
        return build_op(self.op, self.params)


@dataclass(frozen=True)
class Recipe:
    steps: tuple[Step, ...]
    source: str = "recipe"

    @property
    def hash(self) -> str:
        """Identifies the work a recipe asks for; an unfinished run resumes only on a match."""
        canon = json.dumps([[s.op, s.resolved] for s in self.steps], sort_keys=True, default=str)
        return hashlib.sha256(canon.encode()).hexdigest()[:16]

    def to_list(self) -> list[dict[str, Any]]:
        return [{"op": s.op, **s.resolved} for s in self.steps]

    def check(self, corpus_path: str | Path) -> None:
        """Ask every step's operator whether it can run on this corpus (``Op.check``);
        the first refusal raises :class:`RecipeError` naming the step and operator."""
        for step in self.steps:
            try:
                step.build().check(str(corpus_path))
            except PlaitError as exc:
                raise RecipeError(
                    str(exc),
                    position=step.position,
                    op=step.op,
                    field=getattr(exc, "field", None),
                    source=self.source,
                ) from exc


def load_recipe(
    recipe: str | Path | list[dict[str, Any]], *, corpus_path: str | Path | None = None
) -> Recipe:
    """Parse and validate a recipe from a YAML file, YAML text, or a list of dicts.

    With ``corpus_path``, every operator's ``check`` hook runs too (see :meth:`Recipe.check`).
    """
    source = "recipe"
    if isinstance(recipe, Path) or (
        isinstance(recipe, str) and "\n" not in recipe and Path(recipe).suffix in (".yaml", ".yml")
    ):
        path = Path(recipe)
        if not path.is_file():
            raise ConfigError(f"recipe file {path} not found")
        source, text = str(path), path.read_text()
        recipe = _parse_yaml(text, source)
    elif isinstance(recipe, str):
        recipe = _parse_yaml(recipe, source)
    if isinstance(recipe, dict) and "steps" in recipe:
        recipe = recipe["steps"]
    if not isinstance(recipe, list) or not recipe:
        raise RecipeError("must be a non-empty list of {op: NAME, ...params}", source=source)
    steps = []
    for i, raw in enumerate(recipe, start=1):
        if not isinstance(raw, dict) or not isinstance(raw.get("op"), str):
            raise RecipeError(
                "each step must be a mapping with an 'op' name", position=i, source=source
            )
        params = {k: v for k, v in raw.items() if k != "op"}
        steps.append(_check_step(i, raw["op"], params, source))
    rec = Recipe(tuple(steps), source)
    if corpus_path is not None:
        rec.check(corpus_path)
    return rec


def _parse_yaml(text: str, source: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"not valid YAML: {exc}", source=source) from exc


def _check_step(position: int, name: str, params: dict[str, Any], source: str) -> Step:
    try:
        cls = op_class(name)
        resolved = _bind(cls, params)
        op = build_op(name, params)
    except RecipeError as exc:
        raise RecipeError(
            str(exc).split(": ", 1)[-1], position=position, op=name, field=exc.field, source=source
        ) from exc
    except PlaitError as exc:
        raise RecipeError(
            str(exc), position=position, op=name, field=getattr(exc, "field", None), source=source
        ) from exc
    except (TypeError, ValueError) as exc:  # a constructor refused a value
        raise RecipeError(str(exc), position=position, op=name, source=source) from exc
    return Step(position, name, dict(params), resolved, op_kind(op))


def op_kind(op: Op) -> str:
    if isinstance(op, Deduplicator):
        return "dedup"
    if isinstance(op, Filter):
        return "filter"
    if isinstance(op, Mapper):
        return "mapper"
    raise ConfigError(f"{type(op).__name__} is not a Filter, Mapper or Deduplicator")


def op_class(name: str) -> type[Op]:
    """The operator class for a registered name or a ``module:Class`` path."""
    if ":" in name:
        module, _, attr = name.partition(":")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"cannot import operator {name!r}: {exc}") from exc
    else:
        cls = _registry().get(name)
    if not (isinstance(cls, type) and issubclass(cls, Op)):
        raise ConfigError(f"{name!r} is not an operator class")
    return cls


def build_op(name: str, params: dict[str, Any]) -> Op:
    """Build through ``plait.ops.build`` for registered names, directly for paths."""
    if ":" not in name:
        from plait.ops import build

        return build(name, **params)
    cls = op_class(name)
    _bind(cls, params)
    op = cls(**params)
    op._params = dict(params)
    if not type(op).name:
        op.name = name  # type: ignore[misc]  # name is per class; a path-built op names its instance
    return op


def _bind(cls: type[Op], params: dict[str, Any]) -> dict[str, Any]:
    """Check ``params`` against the constructor; return them with defaults filled in."""
    try:
        return bind(cls.__init__, params)
    except ParamError as exc:
        raise RecipeError(exc.detail, field=exc.field) from exc


def _registry() -> Registry[type[Op]]:
    from plait.ops import OPS

    return OPS
