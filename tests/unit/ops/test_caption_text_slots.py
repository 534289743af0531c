"""Model answers made into captions (or refused with a reason), and added slots kept
aligned with their provenance when slots come and go."""

from __future__ import annotations

import pytest

from plait.generators import ABSTAIN
from plait.ops.caption.prompts import JUDGE, REWRITE_STYLES
from plait.ops.caption.text import clean_caption, parse_score
from plait.schema import PAIR, Sample, Source
from plait.slots import added_by, original_slots, provenance, remove_slots, set_added_slots


@pytest.mark.parametrize(
    ("answer", "finish", "expected"),
    [
        ("A dog runs on the sand.", "stop", ("A dog runs on the sand.", None)),
        ('Rewritten caption: "A dog runs on the sand."', "stop", ("A dog runs on the sand.", None)),
        ("New caption - A dog runs.\nI kept every fact.", "stop", ("A dog runs.", None)),
        ("  ", "stop", (None, "empty")),
        (ABSTAIN, "stop", (None, "abstained")),
        ('The original caption: "a dog on a beach"', "stop", (None, "echoed_prompt")),
        (
            "A dog runs on the sand. Then it jumps over a",
            "length",
            ("A dog runs on the sand.", None),
        ),
        ("A dog runs on the sand and then it jumps over", "length", (None, "truncated")),
        ("Dog.", "stop", (None, "too_short")),
        ("a dog, running on the beach!", "stop", (None, "unchanged")),
    ],
)
def test_clean_caption(answer: str, finish: str, expected: tuple) -> None:
    assert clean_caption(answer, finish, source="A dog running on the beach .") == expected


def test_parse_score_takes_the_first_grade_in_range() -> None:
    assert parse_score("4") == 4
    assert parse_score("Score: 5/5") == 5
    assert parse_score("I'd say 10... no, 3") == 3
    assert parse_score("good") is None


def test_templates_hash_their_wording() -> None:
    reword = REWRITE_STYLES["reword"]
    assert reword.hash != REWRITE_STYLES["fluent"].hash
    assert reword.with_system("Paraphrase.").hash != reword.hash
    assert reword.with_system(None) is reword
    p = JUDGE.render(caption="A dog.")
    # system, three worked examples as turns, then the caption to grade
    assert [m.role for m in p.messages] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert p.messages[-1].text() == "Caption: A dog."


def _pair(*caps: str) -> Sample:
    return Sample(
        id="s",
        kind=PAIR,
        texts=[None, *caps],
        images=["m1", *([None] * len(caps))],
        langs=[None, *(["en"] * len(caps))],
        source=Source(uri="s", dataset="t"),
    )


def test_added_slots_carry_provenance_and_a_rerun_replaces_them() -> None:
    s = _pair("a dog", "a puppy")
    rec = {"op": "rewrite_captions", "generator": "g", "prompt": "p1", "from": 1, "run": "r1"}
    set_added_slots(s, "rewrite_captions", [("A dog.", "en", None)], [rec])
    assert s.texts == [None, "a dog", "a puppy", "A dog."]
    assert original_slots(s) == [1, 2] and added_by(s) == {3}
    assert provenance(s, 3)["from"] == 1 and provenance(s, 1) is None

    # a rerun that makes the same slot keeps the run that first made it
    again = {**rec, "run": "r2"}
    set_added_slots(s, "rewrite_captions", [("A dog.", "en", None)], [again])
    assert s.texts == [None, "a dog", "a puppy", "A dog."] and provenance(s, 3)["run"] == "r1"
    # another operator's slot after ours; ours are replaced, theirs shift down with records
    other = {
        "op": "caption_from_context",
        "generator": "g",
        "prompt": "c",
        "from": [1],
        "run": "r3",
    }
    set_added_slots(s, "caption_from_context", [("A dog outside.", None, None)], [other])
    s.stats["best_caption"] = 4
    set_added_slots(s, "rewrite_captions", [], [])
    assert s.texts == [None, "a dog", "a puppy", "A dog outside."]
    assert provenance(s, 3)["op"] == "caption_from_context"
    assert s.stats["best_caption"] == 3 and added_by(s) == {3}


def test_removing_slots_keeps_every_slot_keyed_stat_aligned() -> None:
    s = _pair("a dog", "ein Hund", "a puppy")
    set_added_slots(s, "op", [("A dog.", "en", (1.0, 2.0))], [{"op": "op", "from": 1}])
    s.stats["caption_scores"] = {"1": 0.1, "3": 0.2, "4": 0.3}
    s.stats["best_caption"] = 2
    remove_slots(s, {2})
    assert s.texts == [None, "a dog", "a puppy", "A dog."]
    assert s.langs == [None, "en", "en", "en"]
    assert s.stats["added_slots"] == {"op": [3]}
    assert s.stats["generated"] == {"3": {"op": "op", "from": 1}}
    assert s.stats["times"] == {"3": [1.0, 2.0]}
    assert s.stats["caption_scores"] == {"1": 0.1, "2": 0.2, "3": 0.3}
    assert "best_caption" not in s.stats  # the chosen slot is gone


def test_a_rerun_that_makes_the_same_slots_leaves_the_sample_as_it_was() -> None:
    s = _pair("a dog")
    set_added_slots(s, "a", [("one", "en", None)], [{"op": "a", "from": 1}])
    set_added_slots(s, "b", [("two", None, None)], [{"op": "b", "from": [1]}])
    before = (list(s.texts), list(s.langs), dict(s.stats["generated"]))
    set_added_slots(s, "a", [("one", "en", None)], [{"op": "a", "from": 1}])
    set_added_slots(s, "b", [("two", None, None)], [{"op": "b", "from": [1]}])
    assert (s.texts, s.langs, s.stats["generated"]) == before
    # more slots than last time: the first in place, the rest appended
    set_added_slots(s, "a", [("one", "en", None), ("three", "en", None)])
    assert s.texts == [None, "a dog", "one", "two", "three"]
    assert added_by(s, "a") == {2, 4} and added_by(s, "b") == {3}
    # fewer: the surplus goes and the others shift
    set_added_slots(s, "a", [("uno", "es", None)])
    assert s.texts == [None, "a dog", "uno", "two"] and s.langs[2] == "es"
    assert added_by(s, "a") == {2} and added_by(s, "b") == {3}
