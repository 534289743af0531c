"""A day the question names orders the retrieval pool: sources showing that day first,
sources showing no day next, sources showing only other days last."""

from __future__ import annotations

from plait.answer.retrieve import date_agreement
from plait.generators.spans import norm_date

DAY = {norm_date("25/12/2018")}


def test_a_source_showing_the_day_in_another_form_agrees():
    assert date_agreement(DAY, "BOOK TA.K\nDATE: 25-12-18 8:13 PM\nTOTAL 9.00") == 0
    assert date_agreement(DAY, "printed 25.12.2018, reprinted 02/01/2019") == 0


def test_no_day_is_neutral_and_only_other_days_come_last():
    assert date_agreement(DAY, "a dog running in the snow") == 1
    assert date_agreement(DAY, "BOOK TA.K\nDATE: 26/12/2018\nTOTAL 12.00") == 2


def test_the_order_keeps_the_fused_ranking_within_each_group():
    texts = ["other 01/01/2019", "no day a", "the day 25/12/2018", "no day b", "25-12-18 too"]
    ranked = sorted(texts, key=lambda t: date_agreement(DAY, t))  # sorted() is stable
    assert ranked == [
        "the day 25/12/2018",
        "25-12-18 too",
        "no day a",
        "no day b",
        "other 01/01/2019",
    ]
