"""Answer parsing, keeping and fitting sources: the steps around the generator."""

from __future__ import annotations

from plait.answer.context import fit, select
from plait.answer.parse import is_abstention, parse
from plait.answer.types import Answer, Candidate
from plait.generators.spans import short_answer


def cands() -> list[Candidate]:
    return [
        Candidate("r1", "image", "TOTAL 9.00", media_id="m1", n=1),
        Candidate("p2", "page", "The launch was in 1969.", n=2, parent="doc", page=3),
    ]


def test_text_citations_and_images_in_reading_order():
    segs, warns = parse("It cost 9.00 [1]. ![the receipt](image 1) Launched 1969 [2][7].", cands())
    assert [s.kind for s in segs] == ["text", "image", "text"]
    assert segs[0].cites == [1] and segs[1].media_id == "m1" and segs[2].cites == [2]
    assert any("[7]" in w for w in warns)  # a citation of a source that was not given


def test_an_image_link_to_a_text_source_is_dropped():
    segs, warns = parse("![x](image 2)", cands())
    assert segs[0].kind == "abstain" and "image 2" in warns[0]


def test_uncited_text_is_attributed_by_its_words():
    segs, warns = parse("The launch was in 1969.", cands())
    assert segs[0].cites == [2] and "attributed" in warns[0]


def test_abstentions_in_the_usual_wordings():
    for text in ("The sources do not answer this.", "I don't know.", "", "Cannot answer."):
        assert is_abstention(text)
    assert not is_abstention("The total is 9.00 [1]")


def test_show_me_answers_naming_a_source_get_its_image():
    segs, _ = parse("The source number is 1.", cands(), "show me the receipt")
    assert [s.kind for s in segs] == ["image"] and segs[0].n == 1


def test_short_answer_takes_the_typed_span():
    q = "What was the total on the receipt from X on 25/12/2018?"
    assert short_answer(q, "The total on the receipt from X on 25/12/2018 was RM 9.00.") == "9.00"
    a = Answer(q, "g", parse("9.00 [1]", cands())[0], cands())
    assert a.short == "9.00" and a.cited_ids == ["r1"]
    assert a.markdown(lambda m: f"/m/{m}") == "9.00 [1]"


def test_select_keeps_the_threshold_and_k_and_reports_cuts():
    cs = cands() + [Candidate("x", "text", "noise", rank=2)]
    kept, cut = select(cs, [0.9, 0.6, 0.1], threshold=0.4, k=1)
    assert [c.sample_id for c in kept] == ["r1"]
    assert {(c.sample_id, c.reason) for c in cut} == {("p2", "beyond_k"), ("x", "below_threshold")}


def test_fit_numbers_sources_and_cuts_over_budget():
    long = Candidate("l", "text", "word " * 400)
    kept, cut = fit([cands()[0], long], budget=40, count=lambda t: len(t.split()), per_source=30)
    assert [c.n for c in kept] == [1] and cut[0].reason == "over_budget"
    kept, _ = fit([long], budget=100, count=lambda t: len(t.split()), per_source=30)
    assert kept[0].text.endswith("...") and len(kept[0].text.split()) <= 31


def test_a_long_source_is_trimmed_around_the_sentence_the_question_is_about():
    filler = " ".join(f"Filler sentence number {i} says nothing." for i in range(60))
    page = f"{filler} The probe reached Jupiter in 1995 after six years. {filler}"
    words = lambda t: len(t.split())  # noqa: E731 - a token counter for the test
    q = "When did the probe reach Jupiter?"
    (c,) = fit([Candidate("p", "page", page)], budget=500, count=words, per_source=60, question=q)[
        0
    ]
    assert "reached Jupiter in 1995" in c.text and c.text.startswith("... ")
    assert words(c.text) <= 62
    cloze = 'Which word fills the blank in "The probe _____ Jupiter in 1995 after six years."?'
    (c,) = fit(
        [Candidate("p", "page", page)], budget=500, count=words, per_source=60, question=cloze
    )[0]
    assert "reached Jupiter in 1995" in c.text
    # no question, or one the page says nothing about: the start of the page, as before
    (c,) = fit([Candidate("p", "page", page)], budget=500, count=words, per_source=60)[0]
    assert c.text.startswith("Filler sentence number 0") and "Jupiter" not in c.text
