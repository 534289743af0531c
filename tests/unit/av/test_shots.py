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
