"""The vectorised text measurements equal the plain-Python reference exactly."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from plait.ops.textstats import bad_words_pattern, measure
from plait.ops.textstats_ref import measure_one

BAD = bad_words_pattern(["dog", "x-y"])
PIECES = [
    "a",
    "b",
    "dog",
    "Dog.",
    "x-y",
    "{",
    "é",
    "\u00a0",
    "\u2028",
    "\x1c",
    "lorem ipsum",
    "LOREM  IPSUM",
    "!",
    "'",
    "1",
    "\t",
    " ",
    "\n",
    "\n\n",
    "\n \n",
]


def _check(texts: list[str]) -> None:
    fast = measure(texts, bad_words=BAD)
    for i, t in enumerate(texts):
        ref = measure_one(t, bad_words=BAD)
        for key, want in ref.items():
            got = fast[key][i]
            assert math.isclose(float(got), float(want), abs_tol=1e-9), (t, key, got, want)


def test_known_values() -> None:
    v = measure(["the cat the cat the cat", "A dog.\nA dog.\n\nA dog.", ""])
    assert v["words"].tolist() == [6, 6, 0]
    assert v["dup_line_frac"].tolist() == [0.0, 2 / 3, 0.0]
    # "the cat" x3: 6 chars x 3 over 18 word chars
    assert v["top_2gram_char_frac"][0] == 1.0
    assert v["terminal_frac"].tolist() == [0.0, 1.0, 0.0]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=30).map(" ".join), max_size=12))
def test_matches_reference_on_random_batches(texts: list[str]) -> None:
    _check(texts)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=8))
def test_matches_reference_on_arbitrary_unicode(texts: list[str]) -> None:
    _check(texts)
