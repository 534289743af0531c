"""The ``openai:`` generator against a small controllable server, for the failure modes a
real server cannot be made to show on demand: refusing image parts, stalling, answering
garbage, failing once. (The happy path runs against ``plait serve``'s own ``/v1``.)"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from plait.errors import GeneratorError
from plait.generators import GenOptions, ImagePart, Prompt, load_generator


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, "PNG")
    return buf.getvalue()


class Handler(BaseHTTPRequestHandler):
    calls: list[dict] = []
    flaky_left = {"n": 1}

    def log_message(self, *args):  # quiet
        pass

    def _reply(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # client gave up
            self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        mode = self.path.strip("/").split("/")[0]
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append({"mode": mode, "body": body, "auth": self.headers.get("Authorization")})
        images = [
            p
            for m in body["messages"]
            if isinstance(m["content"], list)
            for p in m["content"]
            if p["type"] == "image_url"
        ]
        if mode == "textonly" and images:
            return self._reply(400, b'{"error": {"message": "image_url is not supported"}}')
        if mode == "slow":
            time.sleep(3)
        if mode == "garbage":
            return self._reply(200, b"<html>teapot</html>", "text/html")
        if mode == "flaky" and self.flaky_left["n"] > 0:
            self.flaky_left["n"] -= 1
            return self._reply(503, b"busy")
        if mode == "denied":
            return self._reply(401, b'{"error": "bad key"}')
        text = f"saw {len(images)} images [1]"
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in text.split(" "):
                chunk = {"choices": [{"delta": {"content": piece + " "}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return None
        out = {
            "choices": [
                {"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4},
        }
        return self._reply(200, json.dumps(out).encode())


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def prompt(n_images: int = 2) -> Prompt:
    parts: list = ["look:"]
    parts += [ImagePart(_png(), "image/png", f"image {i + 1}") for i in range(n_images)]
    return Prompt.of(parts, system="be brief")


def test_images_are_data_uris_capped_per_request_and_the_key_is_sent(server, monkeypatch):
    monkeypatch.setenv("MY_KEY", "sk-test")
    g = load_generator(f"openai:{server}/ok/v1#m?max_images=2&key_env=MY_KEY")
    out = g.generate(prompt(3))
    assert out.text == "saw 2 images [1]" and out.new_tokens == 4
    call = Handler.calls[-1]
    assert call["auth"] == "Bearer sk-test"
    parts = call["body"]["messages"][1]["content"]
    urls = [p["image_url"]["url"] for p in parts if p["type"] == "image_url"]
    assert len(urls) == 2 and all(u.startswith("data:image/png;base64,") for u in urls)
    assert {"type": "text", "text": "[image 3]"} in parts  # the third travels as its label


def test_streaming_yields_pieces(server):
    g = load_generator(f"openai:{server}/ok/v1#m")
    pieces = list(g.stream(prompt(1)))
    assert len(pieces) > 1 and "".join(pieces).strip() == "saw 1 images [1]"


def test_a_server_refusing_images_gets_text_only_with_a_warning(server):
    g = load_generator(f"openai:{server}/textonly/v1#m")
    out = g.generate(prompt(2))
    assert out.text == "saw 0 images [1]"
    assert out.warnings and "refused image parts" in out.warnings[0]
    assert isinstance(Handler.calls[-1]["body"]["messages"][1]["content"], str)
    warned: list[str] = []
    assert "".join(g.stream(prompt(1), GenOptions(), warned.append)).strip() == "saw 0 images [1]"


def test_timeouts_retry_then_fail_clearly_without_hanging(server):
    g = load_generator(f"openai:{server}/slow/v1#m?timeout=0.5&retries=1&backoff=0.01")
    t0 = time.monotonic()
    with pytest.raises(GeneratorError, match="timed out after 0.5 s.*2 tries"):
        g.generate(prompt(0))
    assert time.monotonic() - t0 < 10


def test_garbage_and_auth_errors_are_clear(server):
    with pytest.raises(GeneratorError, match="not a chat completion"):
        load_generator(f"openai:{server}/garbage/v1#m").generate(prompt(0))
    with pytest.raises(GeneratorError, match="HTTP 401"):
        load_generator(f"openai:{server}/denied/v1#m?retries=0").generate(prompt(0))
    with pytest.raises(GeneratorError, match="cannot reach"):
        load_generator("openai:http://127.0.0.1:9/v1#m?retries=0&timeout=2").generate(prompt(0))


def test_a_failing_server_is_retried_with_backoff(server):
    Handler.flaky_left["n"] = 1
    g = load_generator(f"openai:{server}/flaky/v1#m?backoff=0.01")
    assert g.generate(prompt(0)).text == "saw 0 images [1]"


def test_batches_run_with_bounded_concurrency(server):
    g = load_generator(f"openai:{server}/ok/v1#m?concurrency=3")
    outs = g.generate_batch([prompt(i % 2) for i in range(6)])
    assert [o.text for o in outs] == [f"saw {i % 2} images [1]" for i in range(6)]
