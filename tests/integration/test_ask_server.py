"""Answers over HTTP: server-sent events from /api/.../ask, and plait serve's /v1 used by
the official openai client and by plait's own ``openai:`` generator (a real
OpenAI-compatible server)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")
openai = pytest.importorskip("openai")

from plait.server import create_app  # noqa: E402

from ..synth import ServerThread  # noqa: E402
from .ask_corpus import flickr_images, receipt_key  # noqa: E402


@pytest.fixture(scope="module")
def served(ask_corpus: Path):
    with ServerThread(create_app({"receipts": ask_corpus})) as srv:
        yield srv


def q(shared: Path, rid: str) -> tuple[str, str]:
    k = receipt_key(shared, rid)
    return f"What was the total on the receipt from {k['company']} on {k['date']}?", k["total"]


def sse_events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_ask_streams_sources_deltas_then_the_answer(served, shared_data):
    question, total = q(shared_data, "002")
    r = httpx.post(
        served.url + "api/corpora/receipts/ask", json={"question": question}, timeout=120
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    evs = sse_events(r.text)
    assert [e for e, _ in evs][0] == "sources" and evs[-1][0] == "answer"
    assert any(e == "delta" for e, _ in evs)
    answer = evs[-1][1]["answer"]
    assert answer["text"] == total and answer["cited_ids"][0].endswith("002.jpg")


def test_ask_errors_are_json_before_streaming(served):
    url = served.url + "api/corpora/receipts/ask"
    assert httpx.post(url, json={"question": " "}, timeout=30).status_code == 422
    r = httpx.post(url, json={"question": "x", "generator": "hf:/etc"}, timeout=30)
    assert r.status_code == 403 and "not enabled" in r.json()["message"]
    assert (
        httpx.post(served.url + "api/corpora/nope/ask", json={"question": "x"}).status_code == 404
    )


def test_the_official_openai_client_talks_to_v1(served, shared_data):
    client = openai.OpenAI(base_url=served.url + "v1", api_key="unused", timeout=120)
    assert [m.id for m in client.models.list()] == ["receipts"]
    question, total = q(shared_data, "006")
    done = client.chat.completions.create(
        model="receipts", messages=[{"role": "user", "content": question}]
    )
    content = done.choices[0].message.content
    assert content.startswith(total) and "Sources:" in content and "006.jpg" in content
    pieces = [
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(
            model="receipts", messages=[{"role": "user", "content": question}], stream=True
        )
    ]
    assert "".join(pieces).startswith(total)


def test_image_answers_link_to_plait_media(served, shared_data):
    client = openai.OpenAI(base_url=served.url + "v1", api_key="unused", timeout=120)
    _, caps = flickr_images(shared_data, 6)[3]
    msg = [{"role": "user", "content": f"show me {caps[0]}"}]
    content = client.chat.completions.create(model="receipts", messages=msg).choices[0]
    link = content.message.content.split("](", 1)[1].split(")", 1)[0]
    assert link.startswith(served.url + "api/corpora/receipts/media/")
    assert httpx.get(link).headers["content-type"].startswith("image/")
    streamed = "".join(
        c.choices[0].delta.content or ""
        for c in client.chat.completions.create(model="receipts", messages=msg, stream=True)
    )
    assert link in streamed


def test_the_openai_generator_against_plait_serve(served, shared_data):
    from plait.generators import Prompt, load_generator

    question, total = q(shared_data, "005")
    g = load_generator(f"openai:{served.url}v1#receipts?timeout=120")
    out = g.generate(Prompt.of(question))
    assert out.text.startswith(total)
    assert "".join(g.stream(Prompt.of(question))).startswith(total)
