"""The ``where`` filter language: a small SQL subset, parsed into a tree and written
back out, so a filter can neither call what it should not nor escape its place.

Users filter samples with SQL-like text (``source.licence = 'CC-BY-4.0' AND
array_has(langs, 'de')``) from the CLI, the Python API and the HTTP API. That
text used to reach Lance's SQL engine as it was: any of its functions could
run (``repeat(id, 40000)`` allocates per row) and a closing parenthesis could
break out of the clause it was pasted into, cancelling the filters ANDed after
it (a licence filter, for a licence-safe export). Here a filter is parsed
against an allow-list of columns (those of ``samples``), operators and
functions, with bounds on its size; structured filters are built as nodes of
the same tree; the tree is rendered with every value quoted by us and every
operation parenthesised. Anything else is a :class:`ConfigError` (HTTP 422).

Grammar (keywords case-insensitive)::

    expr     := and (OR and)*
    and      := not (AND not)*
    not      := NOT not | test
    test     := value [ cmp value | [NOT] IN '(' literal, ... ')' | [NOT] (LIKE|ILIKE) string
                      | IS [NOT] NULL | [NOT] BETWEEN value AND value ]
    value    := literal | column | function '(' value, ... ')' | '(' expr ')'
    literal  := 'string' | number | -number | TRUE | FALSE | NULL | TIMESTAMP 'string'
    cmp      := = | != | <> | < | <= | > | >=
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

from plait import schema
from plait.errors import ConfigError
from plait.io.sqltree import (
    Between,
    Call,
    Col,
    Expr,
    In,
    IsNull,
    Like,
    Lit,
    Not,
    Op,
    Sql,
    all_of,
    any_of,
    equals,
    has_any,
    one_of,
    to_sql,
)

MAX_CHARS = 4000  # a filter longer than this is refused before parsing
MAX_NODES = 300
MAX_DEPTH = 40
MAX_LIST = 1000  # values in one IN (...)
MAX_STRING = 1000  # characters in one string literal

# name -> (min args, max args): bounded work per row, no allocation that grows with input
FUNCTIONS: dict[str, tuple[int, int]] = {
    "array_has": (2, 2),
    "array_length": (1, 1),
    "starts_with": (2, 2),
    "ends_with": (2, 2),
    "length": (1, 1),
    "lower": (1, 1),
    "upper": (1, 1),
}
_CMP = ("=", "!=", "<>", "<=", ">=", "<", ">")
_KEYWORDS = {"and", "or", "not", "in", "like", "ilike", "is", "null", "between", "true", "false"}


@functools.lru_cache(maxsize=1)
def sample_columns() -> frozenset[str]:
    """``samples`` columns a filter may name: top-level ones and struct fields (dotted)."""
    out = set()
    for f in schema.SAMPLES:
        out.add(f.name)
        if hasattr(f.type, "num_fields"):
            out.update(f"{f.name}.{f.type.field(i).name}" for i in range(f.type.num_fields))
    return frozenset(out)


def tree(where: str | Expr | None) -> Expr | None:
    """``where`` as a tree: text is parsed, a tree passes through."""
    return where if isinstance(where, Expr) or where is None else parse(where)


def where_sql(where: str | Expr | None, *parts: Expr | None) -> str | None:
    """``where`` (text, parsed; or a tree) AND ``parts``: the SQL to hand to Lance."""
    return to_sql(all_of(tree(where), *parts))


# -- parsing --------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<op><=|>=|!=|<>|[=<>(),.\-]))"
)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip() == "":
                break
            at = pos + len(text[pos:]) - len(text[pos:].lstrip())
            raise _error(text, at, f"unexpected {text[at]!r}")
        kind = m.lastgroup
        assert kind is not None
        out.append((kind, m.group(kind), m.start(kind)))
        pos = m.end()
    return out


def _error(text: str, at: int, why: str) -> ConfigError:
    return ConfigError(f"invalid where filter at character {at + 1}: {why} (in {text[:200]!r})")


class _Parser:
    def __init__(self, text: str, columns: Collection[str]) -> None:
        self.text = text
        self.columns = columns
        self.toks = _tokens(text)
        self.i = 0
        self.nodes = 0
        self.depth = 0

    # helpers
    def peek(self, k: int = 0) -> tuple[str, str, int] | None:
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def at(self) -> int:
        t = self.peek()
        return t[2] if t else len(self.text)

    def word(self, *words: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t is not None and t[0] == "name" and t[1].lower() in words

    def sym(self, s: str) -> bool:
        t = self.peek()
        return t is not None and t[0] == "op" and t[1] == s

    def take(self) -> tuple[str, str, int]:
        t = self.peek()
        if t is None:
            raise _error(self.text, len(self.text), "the filter ends too early")
        self.i += 1
        return t

    def expect(self, s: str) -> None:
        if not self.sym(s):
            raise _error(self.text, self.at(), f"expected {s!r}")
        self.i += 1

    def node(self, e: Expr) -> Expr:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _error(self.text, self.at(), f"more than {MAX_NODES} terms")
        return e

    # grammar
    def expr(self) -> Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _error(self.text, self.at(), f"nested more than {MAX_DEPTH} deep")
        parts = [self.conj()]
        while self.word("or"):
            self.i += 1
            parts.append(self.conj())
        self.depth -= 1
        return parts[0] if len(parts) == 1 else self.node(Op("OR", tuple(parts)))

    def conj(self) -> Expr:
        parts = [self.neg()]
        while self.word("and"):
            self.i += 1
            parts.append(self.neg())
        return parts[0] if len(parts) == 1 else self.node(Op("AND", tuple(parts)))

    def neg(self) -> Expr:
        if self.word("not"):
            self.i += 1
            return self.node(Not(self.neg()))
        return self.test()

    def test(self) -> Expr:
        left = self.value()
        t = self.peek()
        if t is not None and t[0] == "op" and t[1] in _CMP:
            self.i += 1
            op = "!=" if t[1] == "<>" else t[1]
            return self.node(Op(op, (left, self.value())))
        negated = self.word("not") and self.word("in", "like", "ilike", "between", k=1)
        if negated:
            self.i += 1
        if self.word("in"):
            self.i += 1
            return self.node(In(left, self.literal_list(), negated))
        if self.word("like", "ilike"):
            op = self.take()[1].upper()
            pattern = self.literal()
            if not isinstance(pattern.value, str):
                raise _error(self.text, self.at(), f"{op} needs a quoted pattern")
            return self.node(Like(left, pattern, op, negated))
        if self.word("between"):
            self.i += 1
            low = self.value()
            if not self.word("and"):
                raise _error(self.text, self.at(), "expected AND in BETWEEN")
            self.i += 1
            return self.node(Between(left, low, self.value(), negated))
        if self.word("is"):
            self.i += 1
            is_not = self.word("not")
            if is_not:
                self.i += 1
            if not self.word("null"):
                raise _error(self.text, self.at(), "expected NULL after IS")
            self.i += 1
            return self.node(IsNull(left, is_not))
        return left

    def literal_list(self) -> tuple[Lit, ...]:
        self.expect("(")
        values = [self.literal()]
        while self.sym(","):
            self.i += 1
            values.append(self.literal())
            if len(values) > MAX_LIST:
                raise _error(self.text, self.at(), f"more than {MAX_LIST} values in IN")
        self.expect(")")
        return tuple(values)

    def literal(self) -> Lit:
        t = self.peek()
        if t is None:
            raise _error(self.text, len(self.text), "expected a value")
        kind, text, pos = t
        if kind == "str":
            self.i += 1
            value = text[1:-1].replace("''", "'")
            if len(value) > MAX_STRING:
                raise _error(self.text, pos, f"a string over {MAX_STRING} characters")
            return Lit(value)
        if kind == "num" or (kind == "op" and text == "-" and self._next_is_num()):
            sign = 1
            if text == "-":
                self.i += 1
                sign = -1
            num = self.take()[1]
            number: int | float = float(num) if any(c in num for c in ".eE") else int(num)
            return Lit(sign * number)
        if kind == "name" and text.lower() in ("true", "false"):
            self.i += 1
            return Lit(text.lower() == "true")
        if kind == "name" and text.lower() == "null":
            self.i += 1
            return Lit(None)
        if kind == "name" and text.lower() in ("timestamp", "date") and self._next_is("str"):
            self.i += 1
            return Lit(self.literal().value, timestamp=True)
        raise _error(self.text, pos, f"expected a value, found {text!r}")

    def _next_is(self, kind: str) -> bool:
        t = self.peek(1)
        return t is not None and t[0] == kind

    def _next_is_num(self) -> bool:
        return self._next_is("num")

    def value(self) -> Expr:
        t = self.peek()
        if t is None:
            raise _error(self.text, len(self.text), "the filter ends too early")
        kind, text, pos = t
        if kind == "op" and text == "(":
            self.i += 1
            inner = self.expr()
            self.expect(")")
            return inner
        if kind == "name" and text.lower() not in _KEYWORDS and self._next_sym("("):
            return self.call()
        if kind == "name" and text.lower() not in _KEYWORDS | {"timestamp", "date"}:
            return self.column()
        if kind == "name" and text.lower() in ("timestamp", "date") and not self._next_is("str"):
            return self.column()
        return self.node(self.literal())

    def _next_sym(self, s: str) -> bool:
        t = self.peek(1)
        return t is not None and t[0] == "op" and t[1] == s

    def call(self) -> Expr:
        _, name, pos = self.take()
        fn = name.lower()
        if fn not in FUNCTIONS:
            raise _error(
                self.text,
                pos,
                f"function {name!r} is not allowed (allowed: {', '.join(FUNCTIONS)})",
            )
        self.expect("(")
        args = [] if self.sym(")") else [self.value()]
        while self.sym(","):
            self.i += 1
            args.append(self.value())
        self.expect(")")
        lo, hi = FUNCTIONS[fn]
        if not lo <= len(args) <= hi:
            raise _error(self.text, pos, f"{fn}() takes {lo} argument(s), not {len(args)}")
        return self.node(Call(fn, tuple(args)))

    def column(self) -> Expr:
        _, name, pos = self.take()
        while self.sym("."):
            self.i += 1
            t = self.take()
            if t[0] != "name":
                raise _error(self.text, t[2], "expected a field name after '.'")
            name += "." + t[1]
        if name not in self.columns:
            raise _error(
                self.text,
                pos,
                f"unknown column {name!r} (columns: {', '.join(sorted(self.columns))})",
            )
        return self.node(Col(name))


def parse(text: str | None, columns: Collection[str] | None = None) -> Expr | None:
    """The tree of a ``where`` filter over ``columns`` (default: the samples columns);
    None for an empty filter. Raises ConfigError saying where and why it is refused."""
    if text is None or not text.strip():
        return None
    if len(text) > MAX_CHARS:
        raise ConfigError(f"the where filter is {len(text)} characters; the limit is {MAX_CHARS}")
    if "\0" in text:
        raise ConfigError("the where filter contains a NUL character")
    p = _Parser(text, sample_columns() if columns is None else columns)
    tree = p.expr()
    extra = p.peek()
    if extra is not None:
        raise _error(text, p.at(), f"unexpected {extra[1]!r}")
    return tree


__all__ = [
    "Between",
    "Call",
    "Col",
    "Expr",
    "In",
    "IsNull",
    "Like",
    "Lit",
    "Not",
    "Op",
    "Sql",
    "all_of",
    "any_of",
    "equals",
    "has_any",
    "one_of",
    "parse",
    "to_sql",
    "tree",
    "where_sql",
]
