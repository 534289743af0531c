"""SQL filter expressions as a tree: every value quoted and every operation
parenthesised when rendered, so a node's text can never reach past its own
parentheses. :mod:`plait.io.where` parses user filters into these nodes; the
structured filters (licence, source, language, kind) are built from them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class Expr:
    def sql(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Lit(Expr):
    value: str | int | float | bool | None
    timestamp: bool = False

    def sql(self) -> str:
        v = self.value
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "TRUE" if v else "FALSE"
        if isinstance(v, (int, float)):
            return repr(v)
        quoted = "'" + v.replace("'", "''") + "'"
        return f"TIMESTAMP {quoted}" if self.timestamp else quoted


@dataclass(frozen=True)
class Col(Expr):
    name: str

    def sql(self) -> str:
        return self.name


@dataclass(frozen=True)
class Call(Expr):
    name: str
    args: tuple[Expr, ...]

    def sql(self) -> str:
        return f"{self.name}({', '.join(a.sql() for a in self.args)})"


@dataclass(frozen=True)
class Op(Expr):
    """A binary comparison, or AND / OR over any number of operands."""

    op: str
    args: tuple[Expr, ...]

    def sql(self) -> str:
        return "(" + f" {self.op} ".join(a.sql() for a in self.args) + ")"


@dataclass(frozen=True)
class Not(Expr):
    arg: Expr

    def sql(self) -> str:
        return f"(NOT {self.arg.sql()})"


@dataclass(frozen=True)
class In(Expr):
    arg: Expr
    values: tuple[Lit, ...]
    negated: bool = False

    def sql(self) -> str:
        neg = "NOT " if self.negated else ""
        return f"({self.arg.sql()} {neg}IN ({', '.join(v.sql() for v in self.values)}))"


@dataclass(frozen=True)
class Like(Expr):
    arg: Expr
    pattern: Lit
    op: str = "LIKE"
    negated: bool = False

    def sql(self) -> str:
        neg = "NOT " if self.negated else ""
        return f"({self.arg.sql()} {neg}{self.op} {self.pattern.sql()})"


@dataclass(frozen=True)
class IsNull(Expr):
    arg: Expr
    negated: bool = False

    def sql(self) -> str:
        return f"({self.arg.sql()} IS {'NOT ' if self.negated else ''}NULL)"


@dataclass(frozen=True)
class Sql(Expr):
    """A predicate plait itself wrote in SQL, every value quoted by its builder (e.g.
    the language rule of :func:`plait.langs.lang_where`); never user text."""

    text: str

    def sql(self) -> str:
        return f"({self.text})"


@dataclass(frozen=True)
class Between(Expr):
    arg: Expr
    low: Expr
    high: Expr
    negated: bool = False

    def sql(self) -> str:
        neg = "NOT " if self.negated else ""
        return f"({self.arg.sql()} {neg}BETWEEN {self.low.sql()} AND {self.high.sql()})"


# -- building -------------------------------------------------------------------------------
def all_of(*parts: Expr | None) -> Expr | None:
    """AND of the given parts (None parts are left out)."""
    kept = tuple(p for p in parts if p is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else Op("AND", kept)


def any_of(parts: Sequence[Expr]) -> Expr | None:
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Op("OR", tuple(parts))


def one_of(column: str, values: Sequence[str]) -> Expr | None:
    """``column IN (values)`` (None for no values)."""
    return In(Col(column), tuple(Lit(str(v)) for v in values)) if values else None


def equals(column: str, value: str | None) -> Expr | None:
    """``column = value`` (None when no value is given)."""
    return None if value is None else Op("=", (Col(column), Lit(str(value))))


def has_any(column: str, values: Sequence[str]) -> Expr | None:
    """Some element of the list ``column`` is one of ``values``."""
    return any_of([Call("array_has", (Col(column), Lit(str(v)))) for v in values])


def to_sql(expr: Expr | None) -> str | None:
    return None if expr is None else expr.sql()
