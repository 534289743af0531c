"""Parameters checked against the signature of what they configure, and spec strings.

One rule for every place that takes parameters from a user (a recipe step, an encoder
or generator option): unknown names, missing required ones and values of the wrong
simple type are refused before anything runs, naming the parameter (``ParamError.field``)
and the valid ones. The signature is the schema; nothing else is declared.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable, Collection
from typing import Any
from urllib.parse import parse_qsl

from plait.errors import ConfigError, ParamError


def bind(
    fn: Callable[..., Any],
    params: dict[str, Any],
    *,
    keyword_only: bool = False,
    skip: Collection[str] = ("self",),
) -> dict[str, Any]:
    """Check ``params`` against ``fn``'s signature; return them with defaults filled in.

    ``keyword_only`` accepts only keyword-only parameters (encoder and generator
    options); ``skip`` names parameters the caller fills itself.
    """
    sig = inspect.signature(fn)
    kinds = (
        (inspect.Parameter.KEYWORD_ONLY,)
        if keyword_only
        else (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    )
    accepted = [p for p in sig.parameters.values() if p.kind in kinds and p.name not in skip]
    names = [p.name for p in accepted]
    var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    for key in params:
        if key not in names and not var_kw:
            raise ParamError(
                f"unknown parameter; valid: {', '.join(sorted(names)) or '(none)'}", key
            )
    for p in accepted:
        if p.default is p.empty and p.name not in params:
            raise ParamError("required parameter is missing", p.name)
    hints = _hints(fn)
    for key, value in params.items():
        expected = hints.get(key)
        if expected is not None and not type_ok(value, expected):
            raise ParamError(f"expected {type_name(expected)}, got {value!r}", key)
    resolved = {p.name: params.get(p.name, p.default) for p in accepted}
    resolved.update({k: v for k, v in params.items() if k not in resolved})
    return resolved


def _hints(fn: Callable[..., Any]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: leave the check to the callee
        return {}


_SIMPLE = (bool, int, float, str)


def type_ok(value: Any, expected: Any) -> bool:
    """Check scalars, optionals and lists of scalars; anything richer is the callee's job."""
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, a) for a in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if origin in (list, tuple, collections.abc.Sequence):
        args = typing.get_args(expected)
        if not isinstance(value, (list, tuple)):
            return False
        if len(args) == 1 or (len(args) == 2 and args[-1] is Ellipsis):
            return all(type_ok(v, args[0]) for v in value)
        return True
    if expected is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if expected in _SIMPLE:
        return isinstance(value, expected)
    return True


def type_name(expected: Any) -> str:
    return getattr(expected, "__name__", None) or str(expected).replace("typing.", "")


def parse_spec(spec: str, prefixed: Collection[str], what: str) -> tuple[str, str, dict[str, str]]:
    """``"hf:./m?dtype=bf16"`` -> ``("hf", "./m", {"dtype": "bf16"})``: the spec strings of
    encoders and generators. Only names in ``prefixed`` take an argument after ``:``."""
    base, _, query = spec.strip().partition("?")
    opts = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
    prefix, sep, arg = base.partition(":")
    if sep and prefix in prefixed:
        if not arg:
            raise ConfigError(f"{what} spec {spec!r} needs something after {prefix + ':'!r}")
        return prefix, arg, opts
    return base, "", opts


def check_options(
    what: str, kind: str, factory: Callable[..., Any], opts: dict[str, Any], skip: Collection[str]
) -> None:
    """Unknown options of an encoder or generator fail before a model loads, naming the
    ones it takes (its keyword-only parameters)."""
    valid = [
        n
        for n, p in inspect.signature(factory).parameters.items()
        if p.kind == p.KEYWORD_ONLY and n not in skip
    ]
    bad = [k for k in opts if k not in valid]
    if bad:
        raise ConfigError(
            f"{what} {kind!r} has no option {bad[0]!r}; options: {', '.join(valid) or '(none)'}"
        )


def as_bool(value: Any, option: str, component: str) -> bool:
    """A yes/no option given as a bool or as a spec string (1/0, true/false, yes/no)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{component}: option {option} takes 1 or 0, not {value!r}")
