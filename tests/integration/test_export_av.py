"""Clips and sounds exported as WebDataset shards: each clip an MP4 of its own span (with
its sound), each sound its original bytes, both with their text lines and times."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from plait import Corpus
from plait.export import export
from plait.ingest import ingest

from ..builders import synthetic_video, write_wav

pytest.importorskip("av")
pytest.importorskip("scenedetect")


def _members(tar_path: Path) -> dict[str, bytes]:
    with tarfile.open(tar_path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


def test_clips_become_mp4_json_txt(tmp_path: Path, corpus: Corpus) -> None:
    import av

    v = tmp_path / "v"
    v.mkdir()
    synthetic_video(v / "two.mp4", [((20, 60, 200), 1.6), ((220, 200, 20), 1.2)], tone_hz=330)
    (v / "two.srt").write_text("1\n00:00:02,000 --> 00:00:02,600\nthe yellow shot\n")
    ingest(corpus, v)
    report = export(corpus, tmp_path / "out", "clips")
    assert report.exported == 2 and report.skipped == {"not_a_clip": 1}
    got = _members(tmp_path / "out" / "00000.tar")
    metas = [json.loads(got[n]) for n in sorted(got) if n.endswith(".json")]
    spans = [(m["start"], m["end"]) for m in metas]
    assert spans[0][0] == 0.0 and spans[0][1] == spans[1][0] == pytest.approx(1.6, abs=0.05)
    assert spans[1][1] == pytest.approx(2.8, abs=0.05)
    second = metas[1]
    assert [(t["text"], t["start"], t["end"]) for t in second["texts"]] == [
        ("the yellow shot", 2.0, 2.6)
    ]
    assert got[second["key"] + ".txt"].decode() == "the yellow shot"
    assert second["plait"]["id"] == "v/two.mp4#c1"
    with av.open(io.BytesIO(got[second["key"] + ".mp4"])) as c:
        assert {s.type for s in c.streams} == {"video", "audio"}
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        dur = c.duration / 1e6
    assert dur == pytest.approx(1.2, abs=0.15)
    # every frame of the cut is from the yellow shot: the cut starts at the clip, not a GOP early
    assert all(f[..., 2].mean() < 120 and f[..., 0].mean() > 150 for f in frames)
    # the shards hold cut MP4s, not the clips' keyframes: ingesting them says so
    back = ingest(Corpus.init(tmp_path / "back"), tmp_path / "out")
    assert set(back.quarantined) == {"not_in_export"}
    assert "is not in the shards read" in back.examples["not_in_export"]


def test_sounds_keep_their_bytes(tmp_path: Path, corpus: Corpus) -> None:
    a = tmp_path / "a"
    a.mkdir()
    write_wav(a / "beep.wav", 0.3 * np.sin(np.arange(16000) / 5))
    (a / "beep.txt").write_text("A short beep.\n")
    ingest(corpus, a)
    report = export(corpus, tmp_path / "out", "sounds")
    assert report.exported == 1
    got = _members(tmp_path / "out" / "00000.tar")
    key = next(n[:-4] for n in got if n.endswith(".wav"))
    assert got[f"{key}.wav"] == (a / "beep.wav").read_bytes()
    assert got[f"{key}.txt"].decode() == "A short beep."
    meta = json.loads(got[f"{key}.json"])
    assert meta["kind"] == "audio" and meta["end"] == pytest.approx(1.0, abs=0.01)


def test_a_sounds_export_ingests_back_as_the_same_samples(tmp_path: Path) -> None:
    """Sounds come back from their shards with their ids, bytes (the same media ids),
    captions with language tags, timed lines, licence and meta."""
    a = tmp_path / "a"
    a.mkdir()
    write_wav(a / "beep.wav", 0.3 * np.sin(np.arange(16000) / 5))
    (a / "beep.txt").write_text("A short beep.\nde.utf8=Ein kurzer Piepton.\n")
    write_wav(a / "hum.wav", 0.2 * np.sin(np.arange(24000) / 9))
    (a / "hum.srt").write_text("1\n00:00:00,200 --> 00:00:01,000\na low hum\n")
    original = Corpus.init(tmp_path / "c")
    ingest(original, a, licence="CC0-1.0")
    report = export(original, tmp_path / "out", "sounds", shard_size=1)
    assert (report.exported, report.shards) == (2, 2)
    back = Corpus.init(tmp_path / "back")
    got = ingest(back, tmp_path / "out")
    assert (got.added, got.quarantined) == (2, {})

    def rows(c: Corpus) -> dict[str, dict]:
        return {s.id: s.to_row() | {"run_id": None} for s in c.samples()}

    want = rows(original)
    assert rows(back) == want
    assert any("de" in (r["langs"] or []) for r in want.values())
    mids = [m for r in want.values() for m in r["images"] if m]
    assert back.ids("media") == original.ids("media") == set(mids)
    assert all(back.media_bytes(m) == original.media_bytes(m) for m in mids)
    assert ingest(back, tmp_path / "out").skipped == 2
