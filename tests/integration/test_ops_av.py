"""Video and audio operators through ``curate`` on real corpora: black, frozen and
still clips, silent and quiet sounds, near-duplicate clips, YAMNet labels and
Whisper transcripts (tiny.en, loaded once per session), reruns that do not double."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from plait import Corpus
from plait.av.timing import slot_times
from plait.curate import curate
from plait.ingest import ingest

from ..builders import silent_wav, synthetic_video, write_wav

pytest.importorskip("av")
pytest.importorskip("scenedetect")
TUX = Path("/usr/share/tuxpaint/stamps")


def _rejected(corpus: Corpus) -> dict[str, str]:
    return {r["id"].split("/", 1)[1]: r["reason"] for r in corpus.read("rejected").to_pylist()}


def test_frame_filters_and_near_duplicate_clips(tmp_path: Path, corpus: Corpus) -> None:
    v = tmp_path / "v"
    v.mkdir()
    synthetic_video(v / "black.mp4", [((0, 0, 0), 2.0)], moving=False)
    synthetic_video(v / "frozen.mp4", [((90, 140, 200), 2.0)], moving=False)
    synthetic_video(v / "moving.mp4", [((200, 120, 40), 2.0)])
    shutil.copy(v / "moving.mp4", v / "moving_copy.mp4")
    ingest(corpus, v)
    recipe = [
        {"op": "clip_duration", "min_s": 1.0},
        {"op": "black_frames", "max_fraction": 0.5},
        {"op": "static_frames", "max_fraction": 0.9},
        {"op": "motion", "min_motion": 0.0001},
        {"op": "near_dup_clip", "radius": 4},
    ]
    curate(corpus, recipe, workers=0)  # in this process: models load once per session
    got = _rejected(corpus)
    assert got == {
        "black.mp4#c0": "black_frames",
        "frozen.mp4#c0": "static_frames",
        "moving_copy.mp4#c0": "near_duplicate_of:v/moving.mp4#c0",
    }
    kept = corpus.sample("v/moving.mp4#c0")
    assert kept.stats["black_fraction"] == 0 and kept.stats["motion"] > 0.0001
    assert kept.stats["duration_s"] == pytest.approx(2.0, abs=0.05)


def test_sound_levels_and_silent_long_recording(tmp_path: Path, corpus: Corpus) -> None:
    a = tmp_path / "a"
    a.mkdir()
    t = np.arange(32000) / 16000
    write_wav(a / "tone.wav", 0.4 * np.sin(2 * np.pi * 440 * t))
    write_wav(a / "quiet.wav", 0.005 * np.sin(2 * np.pi * 440 * t))  # -49 dBFS
    silent_wav(a / "silence.wav", 0.05)  # three minutes of digital silence
    ingest(corpus, a)
    curate(
        corpus,
        [
            {"op": "audio_silence", "max_fraction": 0.5, "silence_db": -60},
            {"op": "audio_loudness", "min_db": -45},
        ],
    )
    assert _rejected(corpus) == {"silence.wav": "silent", "quiet.wav": "too_quiet"}
    tone = corpus.sample("a/tone.wav")
    assert tone.stats["rms_db"] == pytest.approx(20 * np.log10(0.4 / np.sqrt(2)), abs=0.5)
    assert tone.stats["silent_fraction"] == 0


@pytest.mark.models
@pytest.mark.skipif(not TUX.is_dir(), reason="Debian tuxpaint-stamps-default is not installed")
def test_speech_and_sound_labels_on_spoken_descriptions(tmp_path: Path, corpus: Corpus) -> None:
    pytest.importorskip("faster_whisper")
    pytest.importorskip("ai_edge_litert")
    a = tmp_path / "a"
    a.mkdir()
    for name in ("animals/mammals/cats/tiger_desc", "animals/birds/penguin_desc"):
        shutil.copy(TUX / f"{name}.ogg", a / f"{Path(name).name}.ogg")
    silent_wav(a / "long_silence.wav", 0.25)  # 15 minutes: skipped before any model runs
    ingest(corpus, a)
    recipe = [{"op": "sound_events", "top_k": 3}, {"op": "speech", "model": "tiny.en"}]
    curate(corpus, recipe, workers=0)  # in this process: models load once per session
    tiger = corpus.sample("a/tiger_desc.ogg")
    said = [t for t in tiger.texts if t and "tiger" in t.lower()]
    assert said, tiger.texts
    assert tiger.stats["speech_language"] == "en"
    assert tiger.stats["sound_events"][0][0] == "Speech"
    spans = [sp for t, sp in zip(tiger.texts, slot_times(tiger)) if t in said]
    assert spans[0] is not None and 0 <= spans[0][0] < spans[0][1] <= tiger.meta["duration"] + 0.05
    quiet = corpus.sample("a/long_silence.wav")
    assert quiet.texts == [None] and quiet.stats["speech_skipped_s"] == pytest.approx(900, abs=1)
    assert quiet.stats["sound_events"] == []
    before = len(tiger.texts)
    curate(corpus, recipe, resume=False, workers=0)  # a rerun replaces what ops added
    assert len(corpus.sample("a/tiger_desc.ogg").texts) == before
