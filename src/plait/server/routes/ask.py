"""Answers over HTTP: ``POST /api/corpora/{name}/ask`` (server-sent events or JSON), and an
OpenAI-compatible ``POST /v1/chat/completions`` + ``GET /v1/models`` where ``model``
names a corpus, so any chat client uses plait as a grounded model."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from plait.server.answers import LinkRewriter, events, question_of
from plait.server.state import CorpusDep, State

router = APIRouter(tags=["ask"])


class AskRequest(BaseModel):
    question: str = Field(..., description="The question.")
    generator: str | None = Field(None, description="One of the server's generators.")
    k: int = Field(5, ge=1, le=50, description="Sources given to the generator, at most.")
    threshold: float = Field(0.4, ge=0.0, le=1.0)
    rerank: str = "lexical"
    where: str | None = Field(None, max_length=4000, description="plait's where grammar.")
    rollup: bool = True
    max_new_tokens: int = Field(96, ge=1, le=2048)
    stream: bool = Field(True, description="Server-sent events; false: one JSON answer.")


def _options(req: AskRequest) -> Any:
    from plait.answer import AskOptions

    return AskOptions(
        k=req.k,
        threshold=req.threshold,
        rerank=req.rerank,
        where=req.where,
        rollup=req.rollup,
        max_new_tokens=req.max_new_tokens,
    )


def _start(state: Any, name: str, question: str, generator: str | None, opts: Any) -> Any:
    """Everything that can fail before the first byte: so it fails as a JSON error."""
    from plait.answer.pipeline import check_question

    check_question(question)
    opts.check()
    asker = state.ask.asker(name, generator)
    asker.retriever.mode()
    asker.reranker(opts.rerank)
    return asker


@router.post("/api/corpora/{name}/ask")
def ask(name: str, corpus: CorpusDep, state: State, req: AskRequest) -> Any:
    """Events: ``sources`` (numbered, and what was cut), ``delta`` (text as generated),
    ``answer`` (segments, citations, timings; recorded in ``answers``), or ``error``."""
    opts = _options(req)
    asker = _start(state, name, req.question, req.generator, opts)
    if not req.stream:
        return asker.ask(req.question, opts).to_dict()
    return StreamingResponse(
        events(asker.stream(req.question, opts)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class ChatRequest(BaseModel):
    model: str
    messages: list[dict[str, Any]]
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1, le=2048)
    temperature: float | None = None


@router.get("/v1/models")
def models(state: State) -> dict[str, Any]:
    """Every served corpus, as a model."""
    return {
        "object": "list",
        "data": [
            {"id": n, "object": "model", "created": 0, "owned_by": "plait"} for n in state.corpora
        ],
    }


@router.post("/v1/chat/completions")
def chat(request: Request, state: State, req: ChatRequest) -> Any:
    """The last user message is the question; the answer is markdown whose image links
    point at this server's media URLs, followed by its numbered sources."""
    from plait.answer import AskOptions

    state.corpus(req.model)
    question = question_of(req.messages)
    opts = AskOptions(max_new_tokens=req.max_tokens or 96)
    asker = _start(state, req.model, question, None, opts)
    base = str(request.base_url).rstrip("/")
    media = f"{base}/api/corpora/{req.model}/media/"
    cid = f"chatcmpl-{uuid.uuid4().hex[:20]}"
    created = int(time.time())

    def footer(answer: Any) -> str:
        if not answer.sources:
            return ""
        lines = [
            f"[{c.n}] {c.parent or c.sample_id}" + (f", page {c.page}" if c.page else "")
            for c in answer.sources
            if c.n in answer.cited
        ]
        return ("\n\nSources:\n" + "\n".join(lines)) if lines else ""

    if not req.stream:
        answer = asker.ask(question, opts)
        content = answer.markdown(lambda m: media + m) + footer(answer)
        return {
            "id": cid,
            "object": "chat.completion",
            "created": created,
            "model": req.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": 0,
                "completion_tokens": answer.tokens.get("new", 0),
                "total_tokens": answer.tokens.get("new", 0),
            },
        }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        import json

        body = {
            "id": cid,
            "object": "chat.completion.chunk",
            "created": created,
            "model": req.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    def gen() -> Any:
        from plait.errors import PlaitError

        yield chunk({"role": "assistant", "content": ""})
        by_n: dict[int, str] = {}
        rewrite = LinkRewriter(lambda n: media + by_n[n] if n in by_n else None)
        try:
            for ev in asker.stream(question, opts):
                if ev["type"] == "sources":
                    by_n.update({s["n"]: s["media_id"] for s in ev["sources"] if s["media_id"]})
                elif ev["type"] == "delta":
                    text = rewrite.feed(ev["text"])
                    if text:
                        yield chunk({"content": text})
                else:
                    tail = rewrite.flush() + footer(ev["_answer"])
                    if tail:
                        yield chunk({"content": tail})
        except PlaitError as exc:
            yield chunk({"content": f"\n[error: {exc}]"})
        yield chunk({}, "stop")
        yield "data: [DONE]\n\n"

    return StreamingResponse(gen(), media_type="text/event-stream")
