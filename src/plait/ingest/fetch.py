"""Download image URLs found by any reader: bounded, capped, retried, opt-out aware.

The ingest loop hands a batch of ``ImageInput(url=...)`` to
:meth:`Fetcher.fetch_many` and gets back, in the same order, the bytes or a
``Failure`` with a short reason:

- ``http_<status>`` for an HTTP error (5xx and 429 are retried first);
- ``timeout`` (connect or read slower than ``timeout``, or the whole body
  slower than ``deadline``), ``network_error`` (refused, reset), both retried
  with exponential backoff;
- ``too_large`` when ``Content-Length`` or the bytes received so far pass
  ``max_bytes`` (checked while streaming, on the decoded body, so a gzip bomb
  is cut off too);
- ``opt_out`` when an ``X-Robots-Tag`` header carries a disallowed directive.
  As img2dataset does by default, ``noai``, ``noimageai``, ``noindex`` and
  ``noimageindex`` are honoured, either bare or addressed to our user-agent
  token (``X-Robots-Tag: plait: noai``); directives addressed to another
  crawler are ignored;
- ``bad_url`` for anything that is not http(s) (no ``file://`` reads).

Each distinct URL is fetched once per batch. One ``httpx.Client`` (thread-safe,
connection pooling) is shared by ``workers`` threads.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from plait._deps import require
from plait.ingest._safety import is_url
from plait.ingest.base import Failure, ImageInput
from plait.io.media import MAX_BYTES

OPT_OUT_DIRECTIVES = ("noai", "noimageai", "noindex", "noimageindex")
USER_AGENT_TOKEN = "plait"
MAX_BACKOFF = 30.0


def _default_user_agent() -> str:
    from plait import __version__

    return f"Mozilla/5.0 (compatible; {USER_AGENT_TOKEN}/{__version__}; multimodal dataset builder)"


def is_opted_out(values: Sequence[str], token: str, directives: Sequence[str]) -> str | None:
    """The X-Robots-Tag value that forbids use, or None (img2dataset's rule).

    A value is ``"d1, d2"`` (applies to every crawler) or ``"bot: d1, d2"``
    (applies only when ``bot`` is our token).
    """
    wanted = {d.lower() for d in directives}
    for value in values:
        head, sep, rest = value.partition(":")
        ua = head.strip().lower() if sep else None
        listed = rest if sep else head
        found = {d.strip().lower() for d in listed.split(",")}
        if (ua is None or ua == token.lower()) and found & wanted:
            return value
    return None


class _Retry(Exception):
    def __init__(self, failure: Failure, wait: float | None = None) -> None:
        super().__init__(failure.error)
        self.failure = failure
        self.wait = wait


@dataclass
class Fetcher:
    """A bounded pool of downloads; see the module docstring for the failure reasons."""

    workers: int = 16
    timeout: float = 10.0  # seconds to connect, and between two reads
    deadline: float = 60.0  # seconds for one whole download attempt
    retries: int = 2  # extra attempts after a timeout, network error, 5xx or 429
    backoff: float = 0.5  # first retry waits this long, then doubles
    max_bytes: int = MAX_BYTES
    user_agent: str = ""
    user_agent_token: str = USER_AGENT_TOKEN
    respect_optout: bool = True
    optout_directives: tuple[str, ...] = OPT_OUT_DIRECTIVES
    max_redirects: int = 5
    _client: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.user_agent = self.user_agent or _default_user_agent()

    # -- lifecycle ---------------------------------------------------------------------------
    def _http(self) -> Any:
        if self._client is None:
            httpx = require("httpx", "fetch", "the URL downloader")
            self._client = httpx.Client(
                timeout=httpx.Timeout(self.timeout),
                limits=httpx.Limits(
                    max_connections=self.workers, max_keepalive_connections=self.workers
                ),
                follow_redirects=True,
                max_redirects=self.max_redirects,
                headers={"User-Agent": self.user_agent},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- downloads ---------------------------------------------------------------------------
    def fetch_many(self, inputs: Sequence[ImageInput]) -> list[bytes | Failure]:
        """Bytes or a Failure for each input, in input order; never raises for one URL."""
        urls = list(dict.fromkeys(inp.url or "" for inp in inputs))
        if not urls:
            return []
        self._http()  # build the client once, before the threads share it
        with ThreadPoolExecutor(
            max(1, min(self.workers, len(urls))), thread_name_prefix="plait-fetch"
        ) as pool:
            got = dict(zip(urls, pool.map(self.fetch, urls)))
        out: list[bytes | Failure] = []
        for inp in inputs:
            res = got[inp.url or ""]
            if isinstance(res, Failure) and inp.location and res.location != inp.location:
                res = Failure(inp.location, res.reason, res.error)
            out.append(res)
        return out

    def fetch(self, url: str) -> bytes | Failure:
        """Download one URL with retries; a Failure located at the URL on error."""
        if not is_url(url):
            return Failure(url, "bad_url", f"only http(s) URLs are fetched, not {url[:100]!r}")
        last: Failure | None = None
        for attempt in range(self.retries + 1):
            try:
                return self._attempt(url)
            except _Retry as retry:
                last = retry.failure
                if attempt < self.retries:
                    wait = retry.wait if retry.wait is not None else self.backoff * 2**attempt
                    time.sleep(min(wait, MAX_BACKOFF))
        assert last is not None
        return Failure(
            last.location, last.reason, f"{last.error} (after {self.retries + 1} attempts)"
        )

    def _attempt(self, url: str) -> bytes | Failure:
        httpx = require("httpx", "fetch", "the URL downloader")
        start = time.monotonic()
        try:
            with self._http().stream("GET", url) as resp:
                status = resp.status_code
                if status >= 400:
                    fail = Failure(url, f"http_{status}", f"HTTP {status} {resp.reason_phrase}")
                    if status >= 500 or status == 429:
                        raise _Retry(fail, _retry_after(resp.headers.get("retry-after")))
                    return fail
                if self.respect_optout:
                    said = is_opted_out(
                        resp.headers.get_list("x-robots-tag"),
                        self.user_agent_token,
                        self.optout_directives,
                    )
                    if said:
                        return Failure(url, "opt_out", f"X-Robots-Tag: {said}")
                declared = resp.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    return Failure(
                        url,
                        "too_large",
                        f"Content-Length {declared} exceeds the cap of {self.max_bytes}",
                    )
                buf = bytearray()
                for chunk in resp.iter_bytes():
                    buf += chunk
                    if len(buf) > self.max_bytes:
                        return Failure(
                            url, "too_large", f"body passed the cap of {self.max_bytes} bytes"
                        )
                    if time.monotonic() - start > self.deadline:
                        raise _Retry(
                            Failure(url, "timeout", f"download took over {self.deadline}s")
                        )
                return bytes(buf)
        except httpx.TimeoutException as exc:
            raise _Retry(Failure(url, "timeout", f"{type(exc).__name__}: {exc}")) from exc
        except httpx.TooManyRedirects as exc:
            return Failure(url, "too_many_redirects", str(exc))
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            return Failure(url, "bad_url", str(exc))
        except httpx.DecodingError as exc:
            return Failure(url, "decoding_error", str(exc))
        except httpx.TransportError as exc:  # refused, reset, protocol errors
            raise _Retry(Failure(url, "network_error", f"{type(exc).__name__}: {exc}")) from exc


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None
