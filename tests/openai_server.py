"""A small OpenAI-compatible chat server over any plait generator, for tests and benches.

``POST /v1/chat/completions`` (plain and streamed) answers with the wrapped generator;
``GET /v1/models`` lists one model. It is a real HTTP server on a real socket, so the
``openai:`` generator, its retries, timeouts and rate limit, and the caption operators
are exercised end to end. Knobs for failure modes a real server shows only sometimes:
``fail_first`` (that many 503s before serving), ``fail_when`` (a substring of the last
user turn that always gets HTTP 500), ``delay`` (seconds before each answer). It counts
the requests per last user turn (``requests``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from plait.generators import GenOptions, ImagePart, Message, Prompt


def to_prompt(body: dict[str, Any]) -> Prompt:
    msgs = []
    for m in body.get("messages", []):
        content = m.get("content")
        if isinstance(content, list):
            parts: list[Any] = []
            for p in content:
                if p.get("type") == "text":
                    parts.append(p.get("text", ""))
                elif p.get("type") == "image_url":
                    url = p["image_url"]["url"]
                    head, _, data = url.partition(",")
                    parts.append(ImagePart(base64.b64decode(data), head[5:].split(";")[0]))
            msgs.append(Message(m["role"], parts))
        else:
            msgs.append(Message(m["role"], content or ""))
    return Prompt(msgs)


class OpenAIServer:
    """``with OpenAIServer(gen) as srv: srv.url`` -> ``http://127.0.0.1:PORT/v1``."""

    def __init__(
        self,
        generator: Any,
        model: str = "test-model",
        *,
        fail_first: int = 0,
        fail_when: str | None = None,
        delay: float = 0.0,
    ) -> None:
        self.generator, self.model = generator, model
        self.fail_left, self.fail_when, self.delay = fail_first, fail_when, delay
        self.requests: Counter[str] = Counter()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def do_GET(self) -> None:  # noqa: N802
                if self.path.rstrip("/") == "/v1/models":
                    data = {"object": "list", "data": [{"id": server.model, "object": "model"}]}
                    return self._send(200, json.dumps(data).encode())
                return self._send(404, b'{"error": "not found"}')

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, b'{"error": "not found"}')
                prompt = to_prompt(body)
                last = prompt.messages[-1].text() if prompt.messages else ""
                with server.lock:
                    server.requests[last] += 1
                    failing = server.fail_left > 0
                    server.fail_left -= 1 if failing else 0
                if failing:
                    return self._send(503, b'{"error": "busy"}')
                if server.fail_when and server.fail_when in last:
                    return self._send(500, b'{"error": "model crashed"}')
                if server.delay:
                    time.sleep(server.delay)
                options = GenOptions(
                    max_new_tokens=int(body.get("max_tokens") or 256),
                    temperature=float(body.get("temperature") or 0.0),
                    stop=tuple(body.get("stop") or ()),
                )
                gen = server.generator.generate(prompt, options)
                if body.get("stream"):
                    return self._stream(gen.text)
                out = {
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "model": server.model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": gen.text},
                            "finish_reason": "length" if gen.finish == "length" else "stop",
                        }
                    ],
                    "usage": {
                        "prompt_tokens": gen.prompt_tokens,
                        "completion_tokens": gen.new_tokens,
                    },
                }
                return self._send(200, json.dumps(out).encode())

            def _stream(self, text: str) -> None:
                chunks = [{"choices": [{"delta": {"content": text}}]}]
                payload = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)
                self._send(200, payload + b"data: [DONE]\n\n", "text/event-stream")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def spec(self, **opts: Any) -> str:
        """The ``openai:`` generator spec for this server, with options."""
        q = "&".join(f"{k}={v}" for k, v in opts.items())
        return f"openai:{self.url}#{self.model}" + (f"?{q}" if q else "")

    def __enter__(self) -> OpenAIServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
