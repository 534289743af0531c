"""Bad input never stops a run and nothing is lost: it is quarantined with a reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from plait import Corpus
from plait.errors import NothingReadError
from plait.ingest import ingest

from ..builders import bomb_png, image_bytes


@pytest.fixture()
def messy(tmp_path: Path) -> Path:
    d = tmp_path / "messy"
    d.mkdir()
    (d / "good.jpg").write_bytes(image_bytes(size=64))
    (d / "good.txt").write_text("a blue square")
    (d / "copy.jpg").write_bytes(image_bytes(size=64))  # same bytes: stored once
    (d / "empty.jpg").write_bytes(b"")
    (d / "truncated.jpg").write_bytes(image_bytes("red", 256)[:300])
    (d / "garbage.png").write_bytes(b"\x89PNG not really")
    (d / "bomb.png").write_bytes(bomb_png())
    (d / "latin1.jpg").write_bytes(image_bytes("green", 64))
    (d / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    return d


def test_every_bad_input_is_quarantined_with_location_and_reason(messy: Path, corpus: Corpus):
    report = ingest(corpus, messy, licence="CC0-1.0")
    assert report.added == 3  # good.jpg, copy.jpg and latin1.jpg (its caption decoded)
    assert corpus.count("media") == 2  # identical bytes stored once
    rows = {Path(r["location"]).name: r for r in corpus.read("quarantine").to_pylist()}
    assert rows["empty.jpg"]["reason"] == "empty_file"
    assert rows["truncated.jpg"]["reason"] in ("truncated_image", "corrupt_image")
    assert rows["garbage.png"]["reason"] in ("not_an_image", "corrupt_image")
    assert rows["bomb.png"]["reason"] == "decompression_bomb"
    assert corpus.sample("messy/latin1.jpg").meta["caption_encoding"] == "cp1252"
    assert all(r["error"] and r["run_id"] == report.run_id for r in rows.values())
    assert sum(report.quarantined.values()) == len(rows) == 4

    again = ingest(corpus, messy, licence="CC0-1.0")
    assert again.added == 0 and corpus.count("quarantine") == 4  # no duplicate rows


def test_cli_exits_0_with_bad_inputs_and_4_when_nothing_reads(messy: Path, tmp_path: Path):
    cmd = [
        sys.executable,
        "-m",
        "plait",
        "ingest",
        str(tmp_path / "c"),
        str(messy),
        "--no-progress",
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "quarantined 4" in " ".join(ok.stdout.split())
    for name in ("good.jpg", "good.txt", "copy.jpg", "latin1.jpg"):
        (messy / name).unlink()
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "plait",
            "ingest",
            str(tmp_path / "c2"),
            str(messy),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 4 and "nothing could be read" in bad.stderr


def test_nothing_read_raises(tmp_path: Path, corpus: Corpus):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "a.jpg").write_bytes(b"")
    with pytest.raises(NothingReadError):
        ingest(corpus, d)
    assert corpus.count("quarantine") == 1
