"""The URL downloader against a real HTTP server on 127.0.0.1, started by the test."""

from __future__ import annotations

import contextlib
import io
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from PIL import Image

from plait.ingest.base import Failure, ImageInput
from plait.ingest.fetch import Fetcher, is_opted_out

pytest.importorskip("httpx")


def _png(color: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), color).save(buf, "PNG")
    return buf.getvalue()


IMAGES = {"red.png": _png("red"), "blue.png": _png("blue")}
ROBOTS = {
    "/optout": "noai",
    "/optout-ours": "plait: noimageai, nofollow",
    "/optout-index": "noindex",
    "/optout-other": "otherbot: noai",  # addressed to another crawler: not for us
}


class _Handler(BaseHTTPRequestHandler):
    hits: Counter = Counter()

    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _send(
        self, status: int, body: bytes, headers: dict[str, str] | None = None, length: bool = True
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "image/png")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        self.hits[self.path] += 1
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up
            self._route(path)

    def _route(self, path: str) -> None:
        name = path.rsplit("/", 1)[-1]
        if path.startswith("/img/") and name in IMAGES:
            self._send(200, IMAGES[name])
        elif path == "/slow":
            time.sleep(2)
            self._send(200, IMAGES["red.png"])
        elif path == "/drip":
            self.send_response(200)
            self.end_headers()
            for _ in range(30):
                self.wfile.write(b"x" * 10)
                self.wfile.flush()
                time.sleep(0.1)
        elif path == "/flaky":
            status = 500 if self.hits[self.path] == 1 else 200
            self._send(status, IMAGES["blue.png"] if status == 200 else b"oops")
        elif path == "/down":
            self._send(503, b"unavailable")
        elif path == "/big":
            self._send(200, b"\0" * 5000)
        elif path == "/big-unsized":
            self._send(200, b"\0" * 5000, length=False)  # HTTP/1.0: body ends at close
        elif path == "/redirect":
            self._send(302, b"", {"Location": "/img/blue.png"})
        elif path in ROBOTS:
            self._send(200, IMAGES["red.png"], {"X-Robots-Tag": ROBOTS[path]})
        else:
            self._send(404, b"not found")


@pytest.fixture()
def server() -> Iterator[str]:
    _Handler.hits = Counter()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _fetcher(**kw: object) -> Fetcher:
    opts = {"workers": 4, "timeout": 0.5, "retries": 2, "backoff": 0.01, "max_bytes": 4096}
    opts.update(kw)
    return Fetcher(**opts)  # type: ignore[arg-type]


def _reason(result: bytes | Failure) -> str:
    return result.reason if isinstance(result, Failure) else "ok"


def test_images_download_in_input_order_and_each_url_once(server: str):
    urls = [f"{server}/img/red.png", f"{server}/img/blue.png", f"{server}/img/red.png"]
    with _fetcher() as f:
        got = f.fetch_many([ImageInput(url=u) for u in urls])
    assert got == [IMAGES["red.png"], IMAGES["blue.png"], IMAGES["red.png"]]
    assert _Handler.hits["/img/red.png"] == 1  # the duplicate URL was fetched once


def test_every_failure_has_its_reason_and_location(server: str):
    cases = {
        "/missing": "http_404",
        "/slow": "timeout",
        "/big": "too_large",
        "/big-unsized": "too_large",
        "/optout": "opt_out",
        "/optout-ours": "opt_out",
        "/optout-index": "opt_out",
        "/optout-other": "ok",
        "/redirect": "ok",
        "/flaky": "ok",
        "/down": "http_503",
    }
    inputs = [ImageInput(url=server + p, location=f"table.tsv:{i}") for i, p in enumerate(cases)]
    with _fetcher() as f:
        got = f.fetch_many(inputs)
    assert {p: _reason(r) for p, r in zip(cases, got)} == cases
    for inp, res in zip(inputs, got):
        if isinstance(res, Failure):
            assert res.location == inp.location and res.error
    assert got[list(cases).index("/redirect")] == IMAGES["blue.png"]
    assert got[list(cases).index("/flaky")] == IMAGES["blue.png"]
    assert _Handler.hits["/flaky"] == 2  # one 500, one retry that worked
    assert _Handler.hits["/down"] == 3  # first try + 2 retries
    assert _Handler.hits["/missing"] == 1  # a 4xx is not retried
    assert "noai" in got[list(cases).index("/optout")].error


def test_a_slow_drip_is_cut_by_the_deadline(server: str):
    with _fetcher(timeout=1.0, deadline=0.5, retries=0, max_bytes=10_000) as f:
        (res,) = f.fetch_many([ImageInput(url=f"{server}/drip")])
    assert _reason(res) == "timeout"


def test_opt_out_can_be_switched_off(server: str):
    with _fetcher(respect_optout=False) as f:
        assert f.fetch(f"{server}/optout") == IMAGES["red.png"]


def test_refused_connections_and_non_http_urls(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with _fetcher() as f:
        refused, local = f.fetch_many(
            [
                ImageInput(url=f"http://127.0.0.1:{port}/x.png"),
                ImageInput(url=f"file://{tmp_path}/x.png"),
            ]
        )
    assert _reason(refused) == "network_error" and "3 attempts" in refused.error
    assert _reason(local) == "bad_url"


def test_x_robots_tag_rules_match_img2dataset():
    directives = ("noai", "noimageai", "noindex", "noimageindex")
    assert is_opted_out(["noai"], "plait", directives) == "noai"
    assert is_opted_out(["nofollow, NoImageAI"], "plait", directives)
    assert is_opted_out(["plait: noindex"], "plait", directives)
    assert is_opted_out(["googlebot: noindex"], "plait", directives) is None
    assert is_opted_out(["nofollow", "all"], "plait", directives) is None
