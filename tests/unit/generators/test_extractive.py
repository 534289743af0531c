"""The extractive generator: typed spans from the best-supported source, or an abstention."""

from __future__ import annotations

from plait.generators import ABSTAIN, Prompt, Source, load_generator
from plait.generators.spans import (
    fill_blank,
    labelled_amount,
    norm_date,
    passage_overlap,
    question_parts,
    question_terms,
    quoted_passage,
    short_answer,
)

RECEIPT = """BOOK TA .K(TAMAN DAYA) SDN BND
NO.53 55,57 & 59, JALAN SAGU 18,
DATE:
25/12/2018 8:13:39 PM
KF MODELLING CLAY KIDDY FISH
9.00
SUB TOTAL:
8.50
TOTAL:
ROUNDING ADJUSTMENT:
0.00
ROUNDED TOTAL (RM):
9.00
CASH
10.00"""

OTHER = "SOON HUAT MACHINERY\nDATE 11/01/2019\nTOTAL 327.00"


def ask(question: str, *sources: str, kinds: tuple[str, ...] = ()) -> str:
    p = Prompt.of(question)
    p.question = question
    p.sources = [
        Source(i + 1, t, kinds[i] if i < len(kinds) else "text") for i, t in enumerate(sources)
    ]
    return load_generator("extractive").generate(p).text


def test_total_comes_from_the_receipt_the_question_names_with_its_citation():
    q = "What was the total on the receipt from BOOK TA .K (TAMAN DAYA) on 25/12/2018?"
    assert ask(q, OTHER, RECEIPT) == "9.00 [2]"


def test_date_question():
    assert ask("When did I shop at SOON HUAT MACHINERY?", RECEIPT, OTHER) == "11/01/2019 [2]"


def test_abstains_when_no_source_is_about_the_named_company_and_date():
    q = "What was the total on the receipt from ACME WIDGETS on 03/04/2017?"
    assert ask(q, RECEIPT, OTHER) == ABSTAIN
    assert ask(q) == ABSTAIN


def test_show_me_answers_with_image_sources_in_order():
    out = ask("show me a dog running on grass", "a cat", "a dog on grass", kinds=("image", "image"))
    assert out == "![a cat](image 1) ![a dog on grass](image 2)"


def test_question_terms_and_dates():
    t = question_terms("What was the total on the receipt from ABC HO TRADING on 09/01/2019?")
    assert t.kind == "amount" and t.label == "total"
    assert {"abc", "ho", "trading", norm_date("09/01/2019")} <= set(t.anchors)
    assert norm_date("25/12/2018") == norm_date("25-12-18")


def test_a_labelled_part_votes_less_than_the_final_figure():
    lines = ["SUB TOTAL", "51.42", "TOTAL GST", "3.08", "TOTAL (INCL GST)", "54.50"]
    assert labelled_amount(lines, "total") == ("54.50", 5)


def test_a_day_compares_equal_in_every_written_form():
    forms = ["25/12/2018", "25-12-18", "25.12.2018", "25 Dec 2018", "25 December, 2018"]
    assert {norm_date(f) for f in forms} | {norm_date("2018-12-25")} == {"25-12-18"}
    assert norm_date("26/12/2018") != norm_date("25/12/2018")


CLOZE = 'Which word fills the blank in "the quick brown _____ jumps over the lazy dog"?'
PAGE = "A sentence first. The quick brown fox jumps over the lazy dog. Another one."


def test_a_cloze_question_is_answered_with_the_word_in_the_gap_and_its_source():
    assert question_terms(CLOZE).kind == "blank"
    assert ask(CLOZE, "a page about something else entirely", PAGE) == "fox [2]"
    assert fill_blank(CLOZE, PAGE) == ("fox", 4)


def test_a_cloze_sentence_no_source_holds_is_an_abstention():
    # one word of context on each side matches by chance ("brown X jumps"): not enough
    assert ask(CLOZE, "a brown cow jumps.") == ABSTAIN
    assert fill_blank(CLOZE, "nothing alike here") is None


def test_a_models_wordy_cloze_reply_is_cut_to_the_word():
    assert short_answer(CLOZE, "The missing word is 'fox'. [1]") == "fox"
    assert short_answer(CLOZE, "The answer is fox [1]") == "fox"


def test_a_quoted_passage_is_matched_word_pair_by_word_pair():
    assert quoted_passage(CLOZE) == "the quick brown jumps over the lazy dog"
    assert quoted_passage('What does "the end" mean?') is None  # too short to match on
    assert passage_overlap("the quick brown fox", PAGE) == 1.0
    assert passage_overlap("the quick brown fox", "brown the fox quick") == 0.0


def test_images_asked_for_in_turn_are_placed_in_that_order():
    q = "show me two photos: first a dog on grass, then a cat on a sofa"
    assert question_parts(q) == ["a dog on grass", "a cat on a sofa"]
    assert question_parts("show me a dog on grass") == ["show me a dog on grass"]
    assert question_parts("What was the total, then?") == ["What was the total, then?"]
    out = ask(q, "a cat on a sofa", "a bird", "a dog on grass", kinds=("image",) * 3)
    assert out == "![a dog on grass](image 3) ![a cat on a sofa](image 1)"


def test_each_part_of_an_in_turn_question_makes_its_image_relevant():
    from plait.answer.rerank import Lexical
    from plait.answer.types import Candidate

    q = "show me two photos: first a dog on grass, then a cat on a sofa"
    cands = [
        Candidate(i, "pair", t) for i, t in (("c", "a cat on a sofa"), ("d", "a dog on grass"))
    ]
    both = Lexical().score(q, cands)
    cat, dog = (Lexical().score(f"show me {p}", cands) for p in question_parts(q)[::-1])
    assert both == [max(a, b) for a, b in zip(cat, dog, strict=True)]
    assert both[0] == cat[0] > dog[0] and both[1] == dog[1] > cat[1]
