"""``openai:BASE_URL#MODEL``: any OpenAI-compatible chat server (vLLM, llama.cpp's server,
Ollama, hosted APIs, or another ``plait serve``) over httpx.

- The key comes from the environment variable named by ``key_env`` (``OPENAI_API_KEY``);
  no key, no ``Authorization`` header (local servers need none).
- Images travel as base64 ``data:`` URIs in ``image_url`` parts, at most ``max_images``
  per request (the rest as their text), downscaled to ``image_side`` pixels.
- ``timeout`` bounds each request (connect, each read, and the whole streamed answer);
  connection errors, timeouts, 429 and 5xx are retried ``retries`` times with exponential
  backoff (honouring ``Retry-After``).
- A server that refuses image parts (a 400/415/422, or a 5xx that names images) gets the
  request again as text only, with a warning in the answer; later requests skip images.
- ``concurrency`` bounds the requests :meth:`generate_batch` keeps in flight; ``rate``
  (requests per second, 0 = no limit) paces every request, retries included, across
  threads, for servers with a quota.
- ``retried`` counts the retries by reason (``timeout``, ``unreachable``,
  ``rate_limited``, ``server_error``), so batch callers can report them.

Anything else (an error status, a body that is not the chat completion shape) raises
:class:`~plait.errors.GeneratorError` with what the server said.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from plait._deps import require
from plait.errors import ConfigError, GeneratorError
from plait.generators.base import (
    BaseGenerator,
    Generation,
    GenOptions,
    ImagePart,
    Prompt,
    Warn,
    as_float,
    as_int,
)

COMPONENT = "the openai generator"
log = logging.getLogger("plait.generators")
_REFUSAL_STATUS = (400, 415, 422)


class OpenAIGenerator(BaseGenerator):
    remote = True

    def __init__(
        self,
        target: str,
        *,
        key_env: str = "OPENAI_API_KEY",
        max_images: Any = 4,
        image_side: Any = 1024,
        vision: str = "auto",
        timeout: Any = 60,
        retries: Any = 2,
        backoff: Any = 0.5,
        concurrency: Any = 4,
        context: Any = 8192,
        rate: Any = 0,
    ) -> None:
        super().__init__()
        httpx = require("httpx", "generate", COMPONENT)
        base, sep, model = target.partition("#")
        if not sep or not model or not base.startswith(("http://", "https://")):
            raise ConfigError(
                f"{COMPONENT}: spec must be openai:BASE_URL#MODEL "
                f"(e.g. openai:http://127.0.0.1:8000/v1#my-model), not openai:{target}"
            )
        if vision not in ("auto", "yes", "no"):
            raise ConfigError(f"{COMPONENT}: vision must be auto, yes or no, not {vision!r}")
        self.name = f"openai:{target}"
        self.base_url = base.rstrip("/")
        self.model = model
        self.vision = vision
        self.accepts_images = vision != "no"
        self.max_images = as_int(max_images, "max_images", COMPONENT) if self.accepts_images else 0
        self.image_side = as_int(image_side, "image_side", COMPONENT, minimum=16)
        self.timeout = as_float(timeout, "timeout", COMPONENT)
        self.retries = as_int(retries, "retries", COMPONENT)
        self.backoff = as_float(backoff, "backoff", COMPONENT)
        self.concurrency = as_int(concurrency, "concurrency", COMPONENT, minimum=1)
        self.context_tokens = as_int(context, "context", COMPONENT, minimum=256)
        self.rate = as_float(rate, "rate", COMPONENT)
        if self.rate < 0:
            raise ConfigError(f"{COMPONENT}: rate must be >= 0 requests/s, not {self.rate}")
        self._pace_lock = threading.Lock()
        self._next_at = 0.0
        self.retried: Counter[str] = Counter()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(key_env, "")
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self._httpx = httpx
        self.client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(self.timeout, connect=min(10.0, self.timeout)),
            limits=httpx.Limits(max_connections=self.concurrency),
        )
        self.images_refused = False

    # -- requests ----------------------------------------------------------------------------
    def _body(self, prompt: Prompt, options: GenOptions, images: bool, stream: bool) -> dict:
        sent = 0
        messages: list[dict[str, Any]] = []
        for m in prompt.messages:
            if isinstance(m.content, str):
                messages.append({"role": m.role, "content": m.content})
                continue
            parts: list[dict[str, Any]] = []
            for p in m.parts():
                if isinstance(p, ImagePart):
                    if images and sent < self.max_images:
                        parts.append({"type": "image_url", "image_url": {"url": self._uri(p)}})
                        sent += 1
                    elif p.label:
                        parts.append({"type": "text", "text": f"[{p.label}]"})
                else:
                    parts.append({"type": "text", "text": p})
            if images:
                messages.append({"role": m.role, "content": parts})
            else:  # text only: one string, for servers that know nothing else
                messages.append({"role": m.role, "content": "".join(x["text"] for x in parts)})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": options.max_new_tokens,
            "temperature": options.temperature,
            "stream": stream,
        }
        if options.stop:
            body["stop"] = list(options.stop)[:4]
        return body

    def _uri(self, part: ImagePart) -> str:
        data, mime = _shrink(part, self.image_side)
        return f"data:{mime};base64,{base64.b64encode(data).decode()}"

    def _wants_images(self, prompt: Prompt) -> bool:
        return self.accepts_images and not self.images_refused and bool(prompt.images())

    def _send(self, body: dict, stream: bool) -> Any:
        """POST with retries; returns an open response (the caller closes it)."""
        url = f"{self.base_url}/chat/completions"
        httpx = self._httpx
        last, reason = "", ""
        for attempt in range(self.retries + 1):
            if attempt:
                with self._pace_lock:
                    self.retried[reason] += 1
                time.sleep(self._delay(attempt, last))
            self._pace()
            try:
                req = self.client.build_request("POST", url, json=body)
                resp = self.client.send(req, stream=stream)
            except httpx.TimeoutException as exc:
                last = f"timed out after {self.timeout:g} s ({type(exc).__name__})"
                reason = "timeout"
                continue
            except httpx.TransportError as exc:
                last, reason = f"cannot reach {self.base_url}: {exc}", "unreachable"
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                text = _read(resp)
                if resp.status_code >= 500 and body_has_images(body) and "image" in text.lower():
                    return _Refused(resp.status_code, text)
                last = f"HTTP {resp.status_code}: {text[:300]}"
                reason = "rate_limited" if resp.status_code == 429 else "server_error"
                self._retry_after = resp.headers.get("retry-after")
                continue
            if resp.status_code >= 400:
                text = _read(resp)
                if resp.status_code in _REFUSAL_STATUS and body_has_images(body):
                    return _Refused(resp.status_code, text)
                raise GeneratorError(
                    f"{self.name}: the server answered HTTP {resp.status_code}: {text[:300]}",
                    reason="refused",
                )
            return resp
        raise GeneratorError(f"{self.name}: {last} (after {self.retries + 1} tries)", reason)

    def _pace(self) -> None:
        """Wait for this request's turn under ``rate`` (shared by every thread)."""
        if self.rate <= 0:
            return
        with self._pace_lock:
            now = time.monotonic()
            at = max(now, self._next_at)
            self._next_at = at + 1.0 / self.rate
        if at > now:
            time.sleep(at - now)

    _retry_after: str | None = None

    def _delay(self, attempt: int, last: str) -> float:
        ra, self._retry_after = self._retry_after, None
        if ra and ra.replace(".", "", 1).isdigit():
            return min(float(ra), self.timeout)
        return self.backoff * (2 ** (attempt - 1)) * (1 + random.random() * 0.25)

    def _open(self, prompt: Prompt, options: GenOptions, stream: bool) -> tuple[Any, list[str]]:
        warnings: list[str] = []
        images = self._wants_images(prompt)
        resp = self._send(self._body(prompt, options, images, stream), stream)
        if isinstance(resp, _Refused):
            self.images_refused = True
            msg = (
                f"{self.name} refused image parts (HTTP {resp.status}: {resp.text[:160]}); "
                "answered from the text context only"
            )
            log.warning(msg)
            warnings.append(msg)
            resp = self._send(self._body(prompt, options, False, stream), stream)
            if isinstance(resp, _Refused):
                raise GeneratorError(
                    f"{self.name}: the server answered HTTP {resp.status}: {resp.text[:300]}",
                    reason="refused",
                )
        return resp, warnings

    # -- generation --------------------------------------------------------------------------
    def generate(self, prompt: Prompt, options: GenOptions = GenOptions()) -> Generation:
        t0 = time.perf_counter()
        resp, warnings = self._open(prompt, options, stream=False)
        try:
            data = resp.json()
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
            if not isinstance(text, str):
                raise TypeError("content is not a string")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise GeneratorError(
                f"{self.name}: the server's answer is not a chat completion ({exc}): "
                f"{resp.text[:200]!r}",
                reason="bad_response",
            ) from exc
        usage = data.get("usage") or {}
        return Generation(
            text,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            new_tokens=int(usage.get("completion_tokens") or self.count_tokens(text)),
            seconds=time.perf_counter() - t0,
            finish="length" if choice.get("finish_reason") == "length" else "stop",
            warnings=warnings,
        )

    def stream(
        self, prompt: Prompt, options: GenOptions = GenOptions(), warn: Warn | None = None
    ) -> Iterator[str]:
        resp, warnings = self._open(prompt, options, stream=True)
        for w in warnings:
            if warn is not None:
                warn(w)
        deadline = time.monotonic() + self.timeout * (1 + options.max_new_tokens / 64)
        try:
            for line in resp.iter_lines():
                if time.monotonic() > deadline:
                    raise GeneratorError(
                        f"{self.name}: the streamed answer took too long", reason="timeout"
                    )
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    break
                try:
                    chunk = json.loads(payload)
                    choices = chunk.get("choices") or []
                    piece = (choices[0].get("delta") or {}).get("content") if choices else None
                except (ValueError, AttributeError, IndexError) as exc:
                    raise GeneratorError(
                        f"{self.name}: the server streamed something that is not a chat "
                        f"completion chunk: {payload[:200]!r}",
                        reason="bad_response",
                    ) from exc
                if piece:
                    yield piece
        except self._httpx.TimeoutException as exc:
            raise GeneratorError(f"{self.name}: the stream stalled ({exc})", "timeout") from exc
        except self._httpx.TransportError as exc:
            raise GeneratorError(f"{self.name}: the stream broke ({exc})", "stream_broken") from exc
        finally:
            resp.close()

    def generate_batch(
        self, prompts: Sequence[Prompt], options: GenOptions = GenOptions()
    ) -> list[Generation]:
        if len(prompts) <= 1:
            return [self.generate(p, options) for p in prompts]
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda p: self.generate(p, options), prompts))

    def close(self) -> None:
        self.client.close()


class _Refused:
    def __init__(self, status: int, text: str) -> None:
        self.status, self.text = status, text


def body_has_images(body: dict) -> bool:
    return any(
        isinstance(m.get("content"), list)
        and any(p.get("type") == "image_url" for p in m["content"])
        for m in body.get("messages", [])
    )


def _read(resp: Any) -> str:
    try:
        resp.read()
        return resp.text
    except Exception:  # noqa: BLE001 - best effort for an error message
        return ""
    finally:
        resp.close()


def _shrink(part: ImagePart, side: int) -> tuple[bytes, str]:
    """The image as sent: unchanged when small enough, else a JPEG at most ``side`` pixels."""
    from PIL import Image

    from plait.io.media import open_image

    try:
        src = Image.open(io.BytesIO(part.data))
        if max(src.size) <= side and part.mime in ("image/jpeg", "image/png"):
            return part.data, part.mime
        im = open_image(part.data)
        im.thumbnail((side, side))
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=85)
        return buf.getvalue(), "image/jpeg"
    except (OSError, ValueError):
        return part.data, part.mime or "application/octet-stream"
