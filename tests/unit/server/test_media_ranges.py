"""Byte-range parsing for video and sound served from the corpus."""

from __future__ import annotations

from plait.server.media_ranges import _parse


def test_ranges() -> None:
    assert _parse(None, 100) is None
    assert _parse("bytes=0-9", 100) == (0, 9)
    assert _parse("bytes=90-", 100) == (90, 99)
    assert _parse("bytes=-10", 100) == (90, 99)
    assert _parse("bytes=50-500", 100) == (50, 99)
    assert _parse("bytes=100-", 100) == "unsatisfiable"
    assert _parse("bytes=5-2", 100) == "unsatisfiable"
    assert _parse("bytes=0-1,5-6", 100) is None  # several ranges: the whole body
    assert _parse("items=0-1", 100) is None
