"""One exception tree for plait.

Every error a user can cause is a :class:`PlaitError`. Boundaries translate it
once: the CLI into an exit code and a message, the HTTP server into a status
and a JSON body (see ``http_status``). Nothing below the boundary prints.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any


class PlaitError(Exception):
    """Base of every error plait raises on purpose."""

    http_status: int = 400
    exit_code: int = 1


class ConfigError(PlaitError):
    """A recipe, parameter or option is invalid; raised before any work starts."""

    http_status = 422
    exit_code = 2


class ParamError(ConfigError):
    """A parameter is unknown, missing or of the wrong type (:mod:`plait.params`): ``field``
    names it and ``detail`` says what is wrong (a recipe error puts them in its own words)."""

    def __init__(self, detail: str, field: str) -> None:
        super().__init__(f"field {field!r}: {detail}")
        self.detail, self.field = detail, field


class RecipeError(ConfigError):
    """A recipe step is invalid; carries the step's position, operator and field."""

    def __init__(
        self,
        message: str,
        *,
        position: int | None = None,
        op: str | None = None,
        field: str | None = None,
        source: str = "recipe",
    ) -> None:
        self.position, self.op, self.field = position, op, field
        where = source
        if position is not None:
            where += f" step {position}"
        if op:
            where += f" (op {op!r})"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


class UnknownNameError(ConfigError, KeyError):
    """A registry lookup failed; the message lists valid names and a close match."""

    http_status = 404

    def __init__(self, kind: str, name: str, valid: Iterable[str]) -> None:
        self.kind = kind
        self.name = name
        self.valid = sorted(valid)
        close = difflib.get_close_matches(name, self.valid, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(self.valid) if self.valid else "(none)"
        super().__init__(f"unknown {kind} {name!r}.{hint} Valid: {listed}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


class MissingDependencyError(PlaitError):
    """An optional dependency is absent; names the extra that installs it."""

    http_status = 501
    exit_code = 3

    def __init__(self, package: str, extra: str, component: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"{component} needs {package!r}, which is not installed. "
            f"Install it with: pip install 'plait[{extra}]'"
        )


class CorpusError(PlaitError):
    """The corpus directory is missing, not a corpus, or inconsistent."""


class CorpusNotFoundError(CorpusError):
    http_status = 404


class InputError(PlaitError):
    """One raw input could not be read; carries a short machine-readable reason.

    Readers raise it (or yield it) for a single bad item; the ingest loop turns
    it into a ``quarantine`` row, so it never ends a run.
    """

    def __init__(self, reason: str, message: str, location: str = "") -> None:
        self.reason = reason
        self.location = location
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, tuple[str, str, str]]:
        """Pickled with its reason and location (Ray workers hand it back to the driver)."""
        return (type(self), (self.reason, str(self), self.location))


class InputTooLargeError(InputError):
    """An input over a size or pixel cap (a decompression bomb, an oversized upload)."""

    http_status = 413


class NothingReadError(PlaitError):
    """An ingest read no input at all (every input failed, or none matched)."""

    exit_code = 4


class SecurityError(PlaitError):
    """A request tried to reach outside what it may (path traversal, bad key)."""

    http_status = 403


class AuthError(SecurityError):
    """The API key is missing or wrong (writes are enabled but this caller has no key)."""

    http_status = 401


class HostNotAllowedError(PlaitError):
    """A request to a host name this server does not answer to (DNS rebinding)."""

    http_status = 400


class PayloadTooLargeError(PlaitError):
    """An upload (a query image) is over the server's limit."""

    http_status = 413


class GeneratorError(PlaitError):
    """A generator failed: its server timed out, refused the request or answered garbage.

    The answer pipeline turns it into an abstention with the reason, never a traceback.
    ``reason`` is a short code (``timeout``, ``unreachable``, ``rate_limited``,
    ``server_error``, ``refused``, ``bad_response``, ``stream_broken``) that batch callers
    count failures by.
    """

    http_status = 502

    def __init__(self, message: str = "", reason: str = "generator_error") -> None:
        super().__init__(message)
        self.reason = reason


class NotFoundError(PlaitError):
    """A sample, run, media item or index that was asked for does not exist."""

    http_status = 404


class MediaChangedError(PlaitError):
    """A file stored by reference is not the file that was ingested (its size changed)."""

    http_status = 409


class ApiError(PlaitError):
    """An HTTP error response with no matching class here (validation, internal, ...),
    as :mod:`plait.client` raises it."""

    def __init__(self, status: int, error: str, message: str, body: dict[str, Any]) -> None:
        self.http_status = status
        self.error = error
        self.body = body
        super().__init__(f"{status} {error}: {message}")
