"""A hostile client against a real ``plait serve`` process bound to 127.0.0.1, without
the API key unless a case needs one: decompression bombs and broken query images, huge
queries and filters, SQL functions and break-outs in ``where``, NUL bytes and traversal
in export destinations, DNS-rebinding Host headers. Every case is answered with a 4xx
JSON error, the server's peak memory stays bounded (its VmHWM is printed), and it keeps
serving. ``PLAIT_STRESS_N`` repeats each case (memory that stays would add up)."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi")

from ..builders import bomb_png, image_bytes  # noqa: E402
from ..procs import repeats, start  # noqa: E402
from ..synth import synth_corpus  # noqa: E402

KEY = "hostile-test-key"
MB = 1024 * 1024
ENCODER = ""  # the tiny CLIP the fixture saves (named in each query)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of ``pid`` in bytes."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def _truncated_png() -> bytes:
    data = image_bytes("red", 64, "PNG")
    return data[: len(data) // 2]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "encoders"))
    from tiny_models import save_tiny_clip

    from plait.embed import embed
    from plait.index import index

    global ENCODER
    root = tmp_path_factory.mktemp("hostile")
    corpus = synth_corpus(root / "c", 40)
    ENCODER = f"hf:{save_tiny_clip(root / 'clip')}"
    embed(corpus, ENCODER)
    index(corpus)
    port = _free_port()
    proc = start(
        "serve", str(root / "c"), "--port", str(port), "--export-root", str(root / "exports"),
        env={"PLAIT_API_KEY": KEY},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)
    with httpx.Client(base_url=url, timeout=120) as client:
        yield client, proc, root
    proc.terminate()
    proc.wait(timeout=30)


def _search(c: httpx.Client, **body: Any) -> httpx.Response:
    return c.post("/api/corpora/c/search", json={"encoder": ENCODER, **body})


def _image(c: httpx.Client, data: bytes, query: str | None = None) -> httpx.Response:
    query = json.dumps({"encoder": ENCODER}) if query is None else query
    return c.post(
        "/api/corpora/c/search/image",
        files={"image": ("q.png", data, "image/png")},
        data={"query": query},
    )


def _export(c: httpx.Client, key: str | None = KEY, **body: Any) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return c.post("/api/corpora/c/export", json=body, headers=headers)


def _valid(c: httpx.Client) -> None:
    """What an ordinary user does; all of it must keep working."""
    assert c.get("/api/health").status_code == 200
    r = _search(c, text="a red circle", k=3)
    assert r.status_code == 200 and r.json()["hits"], r.text
    r = _search(c, text="red circle", fulltext=True, k=3, filters={"licences": ["CC0-1.0"]})
    assert r.status_code == 200 and all(
        h["sample"]["licence"] == "CC0-1.0" for h in r.json()["hits"]
    ), r.text
    r = _image(c, image_bytes("red", 48, "PNG"))
    assert r.status_code == 200 and r.json()["hits"], r.text
    r = c.get("/api/corpora/c/samples", params={"where": "kind = 'pair'", "limit": 5})
    assert r.status_code == 200 and r.json()["total"] > 0


HUGE = "x" * MB
CASES: dict[str, tuple[Any, set[int]]] = {
    # query images: pixel cap from the header, broken bytes, size
    "178 Mpx PNG": (lambda c: _image(c, bomb_png(13400, 13300)), {413}),
    "30000x30000 bomb": (lambda c: _image(c, bomb_png(30000, 30000)), {413}),
    "garbage image": (lambda c: _image(c, os.urandom(5000)), {400}),
    "truncated PNG": (lambda c: _image(c, _truncated_png()), {400}),
    "empty image": (lambda c: _image(c, b""), {422}),
    "image over the upload limit": (lambda c: _image(c, b"\x89PNG" + bytes(9 * MB)), {413}),
    "1 MB query form field": (
        lambda c: _image(c, image_bytes(), "{" + " " * MB + "}"),
        {400, 413, 422},
    ),
    "SVG query image": (lambda c: _image(c, b'<svg width="9" height="9"></svg>'), {400}),
    # query sizes
    "1 MB full-text query": (lambda c: _search(c, text=HUGE, fulltext=True), {422}),
    "1 MB vector query": (lambda c: _search(c, text=HUGE), {422}),
    "1 MB hybrid query": (lambda c: _search(c, text=HUGE, hybrid=True), {422}),
    "100 KB like id": (lambda c: _search(c, like="x" * 100_000), {422}),
    "absurd k": (lambda c: _search(c, text="a", k=10**9), {422}),
    "absurd offset": (lambda c: _search(c, text="a", offset=10**9), {422}),
    "10k licence values": (
        lambda c: _search(c, text="a", filters={"licences": ["x"] * 10_000}),
        {422},
    ),
    "malformed JSON": (
        lambda c: c.post(
            "/api/corpora/c/search", content=b"{", headers={"content-type": "application/json"}
        ),
        {422},
    ),
    # where: functions, break-outs, size
    "repeat() in where": (
        lambda c: _search(c, text="a", where="length(repeat(id, 40000)) > 0"),
        {422},
    ),
    "break-out of where": (
        lambda c: _search(c, text="a", where="1=1) OR (1=1", filters={"licences": ["MIT"]}),
        {422},
    ),
    "break-out in a listing": (
        lambda c: c.get(
            "/api/corpora/c/samples", params={"where": "1=1) OR (1=1", "licence": "MIT"}
        ),
        {422},
    ),
    "1 MB where": (lambda c: _search(c, text="a", where="kind = '" + HUGE + "'"), {422}),
    "2000-value IN": (
        lambda c: _search(c, text="a", where="id IN (" + ",".join(["'a'"] * 2000) + ")"),
        {422},
    ),
    "deep nesting": (lambda c: _search(c, text="a", where="(" * 200 + "1=1" + ")" * 200), {422}),
    "stacked statement": (lambda c: _search(c, text="a", where="1=1; DROP TABLE x"), {422}),
    "unknown column": (lambda c: _search(c, text="a", where="secret = 1"), {422}),
    "export break-out": (
        lambda c: _export(c, where="1=1) OR (1=1", filters={"licences": ["MIT"]}),
        {422},
    ),
    # export destinations
    "NUL in export dest": (lambda c: _export(c, dest="a\x00b"), {422}),
    "newline in export dest": (lambda c: _export(c, dest="a\nb"), {422}),
    "300-byte export dest part": (lambda c: _export(c, dest="d" * 300), {422}),
    "traversal in export dest": (lambda c: _export(c, dest="../../etc"), {403}),
    "absolute export dest": (lambda c: _export(c, dest="/tmp/x"), {403}),
    "export without the key": (lambda c: _export(c, key=None, dest="x"), {401, 403}),
    "export with a wrong key": (lambda c: _export(c, key="nope", dest="x"), {401, 403}),
    # names, paths, hosts
    "unknown corpus": (lambda c: c.get("/api/corpora/nope/stats"), {404}),
    "bad media id": (lambda c: c.get("/api/corpora/c/media/..%2F..%2Fetc%2Fpasswd"), {404, 422}),
    "traversal in static": (lambda c: c.get("/static/..%2F..%2F..%2Fetc%2Fpasswd"), {404}),
    "rebinding Host": (lambda c: c.get("/api/corpora", headers={"host": "evil.example"}), {400}),
    "rebinding Host with port": (
        lambda c: c.get("/api/health", headers={"host": "attacker.test:8765"}),
        {400},
    ),
    "lookalike Host": (
        lambda c: c.get("/api/corpora", headers={"host": "127.0.0.1.evil.example"}),
        {400},
    ),
    "declared 1 GB body": (
        lambda c: _raw(
            c,
            b"POST /api/corpora/c/search HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{}",
        ),
        {413},
    ),
}


def _raw(c: httpx.Client, request: bytes) -> httpx.Response:
    """Send bytes no well-behaved client would (a body shorter than declared)."""
    with socket.create_connection((c.base_url.host, c.base_url.port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 4 + int(
            dict(
                line.split(b": ", 1)
                for line in data.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]
                if b": " in line
            ).get(b"content-length", b"0")
        ):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return httpx.Response(int(head.split()[1]), content=body)


def _send(c: httpx.Client, case: Any) -> httpx.Response | None:
    try:
        return case(c)
    except httpx.HTTPError:  # a body the server refused before reading it all
        return None


def test_hostile_client_gets_4xx_and_the_server_stays_small_and_up(server) -> None:
    c, proc, root = server
    _valid(c)
    before = _memory(proc.pid)
    statuses: dict[str, list[int | None]] = {}
    for _ in range(repeats(2)):
        for name, (case, _ok) in CASES.items():
            r = _send(c, case)
            if r is not None:
                body = r.json()
                assert body["status"] == r.status_code and body["message"], (name, r.text)
            statuses.setdefault(name, []).append(None if r is None else r.status_code)
    after = _memory(proc.pid)
    _valid(c)
    bad = {n: s for n, s in statuses.items() if not set(s) <= CASES[n][1]}
    assert not bad, f"cases not answered as expected: {bad}"
    assert not (root / "exports").exists() or not any((root / "exports").iterdir())
    print(
        f"\nserver RSS: {before['VmRSS'] / MB:.0f} MB after warm-up, "
        f"{after['VmRSS'] / MB:.0f} MB after {sum(map(len, statuses.values()))} hostile "
        f"requests; peak (VmHWM) {after['VmHWM'] / MB:.0f} MB"
    )
    # a 178 Mpx decode alone held +650 MB, a 1 MB full-text query +555 MB
    assert after["VmHWM"] - before["VmHWM"] < 200 * MB
    assert after["VmRSS"] - before["VmRSS"] < 100 * MB


def test_docs_page_is_served_locally(server) -> None:
    c, _, _ = server
    r = c.get("/docs")
    assert r.status_code == 200
    page = r.text
    assert "http" not in page.replace("http-equiv", "")  # no CDN: every asset is local
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    for src in (
        "/docs-assets/swagger-ui-bundle.js",
        "/docs-assets/swagger-ui.css",
        "/static/docs.js",
    ):
        got = c.get(src)
        assert got.status_code == 200 and len(got.content) > 20, src
    assert json.loads(c.get("/openapi.json").text)["paths"]


def test_loopback_host_names_are_served(server) -> None:
    c, _, _ = server
    port = c.base_url.port
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert c.get("/api/health", headers={"host": host}).status_code == 200, host


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_query_images_are_checked_before_decoding(tmp_path: Path) -> None:
    """The library refuses a bomb from its header, and names broken bytes."""
    from plait.errors import InputError, InputTooLargeError
    from plait.io.media import open_image

    with pytest.raises(InputTooLargeError, match="exceeds the cap"):
        open_image(bomb_png(13400, 13300), max_pixels=16_000_000)
    with pytest.raises(InputError) as info:
        open_image(_truncated_png())
    assert info.value.reason in ("truncated_image", "corrupt_image")
    img = open_image(image_bytes("red", 8, "PNG"))
    assert img.size == (8, 8)
