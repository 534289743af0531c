"""A GGUF model through llama.cpp's Python bindings (``llama-cpp-python``), text only.

Used by ``smollm2`` when the bindings are installed. llama.cpp runs the quantised
weights directly (no de-quantised copy) and applies the GGUF's own chat template.
Its high-level API decodes one sequence at a time, so a batch is answered in turn.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from plait._deps import require
from plait.errors import PlaitError
from plait.generators.base import BaseGenerator, Generation, GenOptions, Prompt, Warn, as_int

COMPONENT = "the llama.cpp generator"


class LlamaCppGenerator(BaseGenerator):
    def __init__(self, path: str, *, threads: Any = 0, context: Any = 4096) -> None:
        super().__init__()
        llama_cpp = require("llama_cpp", "generate", COMPONENT, "llama-cpp-python")
        self.name = f"llamacpp:{path}"
        n = as_int(threads, "threads", COMPONENT)
        self.context_tokens = as_int(context, "context", COMPONENT, minimum=256)
        try:
            self.model = llama_cpp.Llama(
                model_path=path,
                n_ctx=self.context_tokens,
                n_threads=n or None,
                verbose=False,
            )
        except (ValueError, OSError, RuntimeError) as exc:
            raise PlaitError(f"{COMPONENT}: cannot load {path}: {exc}") from exc

    def count_tokens(self, text: str) -> int:
        return len(self.model.tokenize(text.encode(), add_bos=False)) if text else 0

    def _messages(self, prompt: Prompt) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.text()} for m in prompt.messages]

    def _kwargs(self, options: GenOptions) -> dict[str, Any]:
        return {
            "max_tokens": options.max_new_tokens,
            "temperature": options.temperature,
            "stop": list(options.stop) or None,
        }

    def stream(
        self, prompt: Prompt, options: GenOptions = GenOptions(), warn: Warn | None = None
    ) -> Iterator[str]:
        with self.lock:
            chunks = self.model.create_chat_completion(
                messages=self._messages(prompt), stream=True, **self._kwargs(options)
            )
            for chunk in chunks:
                piece = chunk["choices"][0].get("delta", {}).get("content")
                if piece:
                    yield piece

    def generate(self, prompt: Prompt, options: GenOptions = GenOptions()) -> Generation:
        t0 = time.perf_counter()
        with self.lock:
            out = self.model.create_chat_completion(
                messages=self._messages(prompt), **self._kwargs(options)
            )
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Generation(
            choice["message"]["content"] or "",
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            new_tokens=int(usage.get("completion_tokens", 0)),
            seconds=time.perf_counter() - t0,
            finish="length" if choice.get("finish_reason") == "length" else "stop",
        )

    def close(self) -> None:
        close = getattr(self.model, "close", None)
        if close is not None:
            close()
