"""Subtitle parsing, media fragments and per-slot times."""

from __future__ import annotations

from plait.av.subtitles import parse_subtitles
from plait.av.timing import add_slot_times, fragment, slot_times, split_fragment, time_range
from plait.schema import CLIP, Sample, Source

SRT = """1
00:00:01,000 --> 00:00:02,500
<i>Hello</i> there

2
00:00:03,250 --> 00:00:04,000
second line
continues

3
not a timing line
dropped

4
01:02:03,004 --> 01:02:04,000
{\\an8}late
"""

VTT = """WEBVTT

NOTE a comment

intro
00:01.000 --> 00:02.000 align:start
first

00:00:02.500 --> 00:00:03.000
second
"""


def test_srt_cues_with_tags_removed_and_bad_blocks_counted() -> None:
    cues, skipped = parse_subtitles(SRT)
    assert [(c.start, c.end, c.text) for c in cues] == [
        (1.0, 2.5, "Hello there"),
        (3.25, 4.0, "second line continues"),
        (3723.004, 3724.0, "late"),
    ]
    assert skipped == 1


def test_vtt_short_times_settings_and_cue_ids() -> None:
    cues, skipped = parse_subtitles(VTT)
    assert [(c.start, c.end, c.text) for c in cues] == [(1.0, 2.0, "first"), (2.5, 3.0, "second")]
    assert skipped == 0


def test_fragments_round_trip() -> None:
    uri = fragment("/v/a b.mp4", 1.2, 3.04)
    assert uri == "/v/a b.mp4#t=1.2,3.04"
    assert split_fragment(uri) == ("/v/a b.mp4", 1.2, 3.04)
    assert split_fragment("/v/a.mp4") == ("/v/a.mp4", None, None)


def test_slot_times_merge_reader_and_operator_times() -> None:
    s = Sample(
        id="c",
        kind=CLIP,
        texts=[None, "cue", "added"],
        images=["m", None, None],
        source=Source(uri="/v/a.mp4#t=1,3", dataset="d"),
        meta={"start": 1.0, "end": 3.0, "times": [[1.5, 1.5], [1.0, 2.0]]},
    )
    add_slot_times(s.stats, {2: (2.0, 2.75)})
    assert slot_times(s) == [(1.5, 1.5), (1.0, 2.0), (2.0, 2.75)]
    assert time_range(s) == (1.0, 3.0)
