"""Shot splitting limits and boundary scoring (the detector itself runs in integration)."""

from __future__ import annotations

import numpy as np
import pytest

from plait.av.shots import ShotSplitter, boundary_scores
from plait.errors import ConfigError


def test_long_shots_are_split_at_the_max_clip_length() -> None:
    s = ShotSplitter(10.0, detector="none", max_clip_s=2.0)
    got = []
    frame = np.zeros((4, 4, 3), np.uint8)
    for i in range(51):  # 5 s at 10 fps
        got += s.push(i / 10, frame)
    got += s.finish()
    assert [(b.time, b.kind) for b in got] == [(2.0, "split"), (4.0, "split")]


def test_bad_limits_fail_before_work() -> None:
    with pytest.raises(ConfigError):
        ShotSplitter(25.0, detector="none", min_clip_s=5, max_clip_s=2)
    with pytest.raises(ConfigError):
        ShotSplitter(25.0, detector="magic")


def test_boundary_scores_match_each_known_cut_once() -> None:
    truth = [1.2, 3.04, 5.48]
    assert boundary_scores([1.2, 3.0, 5.5], truth)["f1"] == 1.0
    s = boundary_scores([1.21, 1.25, 9.0], truth, tolerance=0.1)
    assert s["matched"] == 1 and s["precision"] == pytest.approx(1 / 3)
    assert s["recall"] == pytest.approx(1 / 3)
    assert boundary_scores([], [])["f1"] == 1.0


def test_a_cut_between_sampled_frames_is_moved_back_to_its_frame() -> None:
    # The detector sees every 2nd frame; the cut falls on an odd frame (7) and must be
    # reported there, not at frame 8 where the detector first sees the new shot.
    s = ShotSplitter(10.0, detector="content", min_clip_s=0.2, max_clip_s=100.0, every=2)
    a = np.full((36, 64, 3), (200, 40, 40), np.uint8)
    b = np.full((36, 64, 3), (30, 200, 90), np.uint8)
    got = []
    for i in range(16):
        got += s.push(i / 10, a if i < 7 else b)
    got += s.finish()
    assert [(round(x.time, 2), x.kind) for x in got] == [(0.7, "cut")]
