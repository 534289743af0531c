"""One exception tree for plait.

Every error a user can cause is a :class:`PlaitError`. Boundaries translate it
once: the CLI into an exit code and a message, the HTTP server into a status
and a JSON body (see ``http_status``). Nothing below the boundary prints.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class PlaitError(Exception):
    """Base of every error plait raises on purpose."""

    http_status: int = 400
    exit_code: int = 1


class ConfigError(PlaitError):
    """A recipe, parameter or option is invalid; raised before any work starts."""

    http_status = 422
    exit_code = 2


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


class InputTooLargeError(InputError):
    """An input over a size or pixel cap (a decompression bomb, an oversized upload)."""

    http_status = 413


class NothingReadError(PlaitError):
    """An ingest read no input at all (every input failed, or none matched)."""

    exit_code = 4


class SecurityError(PlaitError):
    """A request tried to reach outside what it may (path traversal, bad key)."""

    http_status = 403


class GeneratorError(PlaitError):
    """A generator failed: its server timed out, refused the request or answered garbage.

    The answer pipeline turns it into an abstention with the reason, never a traceback.
    """

    http_status = 502


class NotFoundError(PlaitError):
    """A sample, run, media item or index that was asked for does not exist."""

    http_status = 404
