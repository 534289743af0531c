"""``plait ask`` end to end on real receipts and photos: cited answers, images placed in
the answer, abstentions, injection-proof citations, the answers record, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from plait.errors import ConfigError, NotFoundError, PlaitError

from .ask_corpus import CLEAN, RECEIPTS, flickr_images, receipt_key


@pytest.fixture(scope="module")
def asker(ask_corpus):
    """One extractive Asker (one searcher, MiniLM loaded once) for the module's questions;
    ``plait.ask`` itself is exercised by the first test and the bad-input test."""
    from plait.answer import Asker

    return Asker(ask_corpus, "extractive")


def total_question(key: dict[str, str]) -> str:
    return f"What was the total on the receipt from {key['company']} on {key['date']}?"


def test_a_receipt_total_is_answered_and_cites_that_receipt(ask_corpus, shared_data):
    from plait import ask

    key = receipt_key(shared_data, "005")
    a = ask(ask_corpus, total_question(key))
    assert a.text == key["total"]
    assert a.cited_ids and a.cited_ids[0].endswith("005.jpg")
    assert a.sources[0].media_id  # the receipt photo is the source
    assert set(a.timings) >= {"retrieve", "rerank", "generate", "total"}


def test_unanswerable_company_abstains_and_reports_the_cut(asker):
    a = asker.ask("What was the total on the receipt from ACME WIDGETS on 03/04/2017?")
    assert a.abstained and a.cited == [] and a.sources == []
    assert a.cut and {c.reason for c in a.cut} == {"below_threshold"}


def test_show_me_places_the_captioned_photo_inside_the_answer(asker, shared_data):
    name, caps = flickr_images(shared_data, 6)[2]
    a = asker.ask(f"show me {caps[0]}")
    images = [s for s in a.segments if s.kind == "image"]
    assert images, a.raw
    assert images[0].sample_id and images[0].media_id
    assert a.images[0] == images[0].sample_id
    md = a.markdown(lambda m: f"/media/{m}")
    assert f"](/media/{images[0].media_id})" in md


def test_injected_instructions_do_not_change_what_is_cited(asker, shared_data):
    from plait.answer import AskOptions

    questions = [total_question(receipt_key(shared_data, r)) for r in RECEIPTS[:3]]
    before = [asker.ask(q, AskOptions(where=CLEAN)).cited_ids for q in questions]
    after = [asker.ask(q).cited_ids for q in questions]
    assert after == before and all(before)
    # even when the injection is handed to the generator (no threshold, many sources)
    wide = [asker.ask(q, AskOptions(threshold=0.0, k=20)) for q in questions]
    assert any("SYSTEM NOTICE" in c.text for c in wide[0].sources)  # the model saw it
    assert [a.cited_ids[:1] for a in wide] == [b[:1] for b in before]


def test_every_answer_is_recorded(asker, ask_corpus):
    from plait import Corpus

    a = asker.ask("What was the total on the receipt from ACME WIDGETS on 03/04/2017?")
    rows = Corpus.open(ask_corpus).read("answers").to_pylist()
    row = next(r for r in rows if r["answer_id"] == a.answer_id)
    assert row["abstained"] and row["generator"] == "extractive"
    assert json.loads(row["timings"])["total"] > 0
    assert json.loads(row["cut"])


def test_bad_input_is_a_clear_error_or_an_abstention(ask_corpus, corpus):
    from plait import ask

    with pytest.raises(ConfigError, match="empty"):
        ask(ask_corpus, "   ")
    with pytest.raises(ConfigError, match="limit is"):
        ask(ask_corpus, "why " * 2000)
    with pytest.raises(PlaitError, match="no samples"):
        ask(corpus.path, "anything")
    with pytest.raises(NotFoundError):
        ask(ask_corpus, "q", generator="hf:/no/such/model")
    # a generator whose server is gone: an abstention that says why, not a traceback
    a = ask(
        ask_corpus,
        total_question({"company": "ABC HO TRADING", "date": "09/01/2019"}),
        generator="openai:http://127.0.0.1:9/v1#m?retries=0&timeout=2",
    )
    assert a.abstained and any("cannot reach" in w for w in a.warnings)


def test_cli_prints_sources_and_json(ask_corpus, shared_data):
    from typer.testing import CliRunner

    from plait.cli import app

    key = receipt_key(shared_data, "001")
    out = CliRunner().invoke(app, ["ask", str(ask_corpus), total_question(key), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["cited_ids"][0].endswith("001.jpg") and data["sources"][0]["n"] == 1
    text = CliRunner().invoke(app, ["ask", str(ask_corpus), total_question(key), "--k", "2"])
    assert text.exit_code == 0 and "[1]" in text.output and "sources given" in text.output
    # a user's mistake: exit 2 and one line, no traceback (a real process, as a shell sees it)
    cmd = [sys.executable, "-m", "plait", "ask", str(ask_corpus), ""]
    empty = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert empty.returncode == 2 and "question is empty" in empty.stderr
    assert "Traceback" not in empty.stderr


@pytest.mark.models
def test_smollm2_answers_cites_and_ignores_injected_instructions(ask_corpus, shared_data, smollm2):
    from plait.answer import Asker, AskOptions

    key = receipt_key(shared_data, "005")
    asker = Asker(ask_corpus, smollm2)
    a = asker.ask(total_question(key), AskOptions(where=CLEAN))
    assert a.short == key["total"] and a.cited_ids[0].endswith("005.jpg")
    b = asker.ask(total_question(key))
    assert b.cited_ids == a.cited_ids and b.short == a.short


@pytest.mark.models
@pytest.mark.heavy  # three long prompts through the model: minutes on a busy machine
def test_smollm2_as_a_yes_no_judge_prefers_the_named_receipt(ask_corpus, shared_data, smollm2):
    from plait.answer import Asker, AskOptions

    key = receipt_key(shared_data, "006")
    a = Asker(ask_corpus, smollm2).ask(
        total_question(key), AskOptions(rerank="judge", threshold=0.0, k=3, depth=3)
    )
    scores = {c.sample_id: c.score for c in a.sources}
    assert all(0.0 <= s <= 1.0 for s in scores.values()) and len(scores) >= 2
    best = max(scores, key=lambda sid: scores[sid])
    assert best.endswith("006.jpg"), scores


def test_a_quoted_sentence_with_a_gap_finds_its_sample_and_fills_the_gap(asker, shared_data):
    from plait.answer.retrieve import Retrieval

    name, caps = flickr_images(shared_data, 6)[3]
    words = caps[1].split()  # an ingested caption, quoted word for word but one
    gap = max(range(len(words)), key=lambda i: (len(words[i]), -i))
    quoted = " ".join(words[:gap] + ["_____"] + words[gap + 1 :])
    q = f'Which word fills the blank in "{quoted}"?'
    first = asker.retriever(q, Retrieval(depth=5))[0]
    assert first.sample_id.endswith(name)
    a = asker.ask(q)
    assert a.short == words[gap].strip(".,") and a.cited_ids[0].endswith(name), a.raw


def test_a_corpus_with_samples_but_no_index_says_what_to_run(corpus, tmp_path):
    from plait import ask
    from plait.ingest import ingest

    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"caption": "TOTAL 9.00 at BOOK TA.K on 25/12/2018"}\n')
    ingest(corpus, rows)
    with pytest.raises(PlaitError, match="no index to answer from.*plait embed"):
        ask(corpus.path, "What was the total?")
    cmd = [sys.executable, "-m", "plait", "ask", str(corpus.path), "What was the total?"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "plait index" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
