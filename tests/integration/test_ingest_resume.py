"""Killed with SIGKILL part way and run again, the corpus holds every input exactly once."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from plait import Corpus


def _copy_images(src: Path, dst: Path, n: int) -> int:
    dst.mkdir(parents=True)
    files = sorted(src.glob("*.jpg"))[:n]
    for i, f in enumerate(files):
        shutil.copyfile(f, dst / f.name)
        (dst / f"{f.stem}.txt").write_text(f"caption {i}")
    return len(files)


@pytest.mark.slow
def test_sigkill_then_rerun_holds_every_input_exactly_once(shared_data: Path, tmp_path: Path):
    n = _copy_images(shared_data / "flickr8k" / "images", tmp_path / "imgs", 800)
    corpus_dir = tmp_path / "corpus"
    cmd = [
        sys.executable,
        "-m",
        "plait",
        "ingest",
        str(corpus_dir),
        str(tmp_path / "imgs"),
        "--batch-size",
        "20",
        "--workers",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    samples = corpus_dir / "samples.lance"
    deadline = time.monotonic() + 120
    # Kill once a few batches have been committed, well before the end.
    while time.monotonic() < deadline and proc.poll() is None:
        if samples.is_dir() and Corpus(corpus_dir).count("samples") >= 60:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed; make the input bigger"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = Corpus(corpus_dir).count("samples")
    assert 0 < partial < n

    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    c = Corpus.open(corpus_dir)
    ids = c.read("samples", columns=["id"]).column("id").to_pylist()
    assert len(ids) == len(set(ids)) == n
    media = c.read("media", columns=["id"]).column("id").to_pylist()
    assert len(media) == len(set(media)) == n
    # every sample's image is present
    assert {m for s in c.samples() for m in s.media_ids} == set(media)


def test_a_write_that_fails_part_way_loses_nothing(tmp_path: Path, monkeypatch):
    """Batches are written on a writer thread while later ones decode: a write refused
    part way (a full disk) ends the run with that error, every stored sample still has
    its image, and the rerun stores the rest exactly once."""
    from plait.ingest import IngestOptions, ingest
    from plait.io.keyed import KeyedWriter

    from ..builders import image_bytes

    src = tmp_path / "imgs"
    src.mkdir()
    for i in range(60):
        (src / f"{i:03d}.jpg").write_bytes(image_bytes((4 * i, 90, 200 - i), size=24 + i))
        (src / f"{i:03d}.txt").write_text(f"picture {i}")
    real = KeyedWriter.write
    calls = []

    def refusing(self, table, **kw):
        if self.name == "media":
            calls.append(table.num_rows)
            if len(calls) == 3:
                raise OSError(28, "No space left on device")
        return real(self, table, **kw)

    corpus = Corpus.init(tmp_path / "c")
    opts = IngestOptions(batch_size=10, workers=2)
    with monkeypatch.context() as m:
        m.setattr(KeyedWriter, "write", refusing)
        with pytest.raises(OSError, match="No space left"):
            ingest(corpus, src, options=opts)
    partial = Corpus.open(tmp_path / "c")
    before = partial.count("samples")
    assert 0 < before < 60
    stored = set(partial.read("media", columns=["id"]).column("id").to_pylist())
    assert {m for s in partial.samples() for m in s.media_ids} <= stored
    run = partial.read("runs", columns=["status", "counts"]).to_pylist()[-1]
    assert run["status"] == "failed" and "No space left" in run["counts"]

    report = ingest(partial, src, options=opts)
    assert (report.added, report.skipped) == (60 - before, before)
    done = Corpus.open(tmp_path / "c")
    ids = done.read("samples", columns=["id"]).column("id").to_pylist()
    assert len(ids) == len(set(ids)) == 60
    assert {m for s in done.samples() for m in s.media_ids} == set(
        done.read("media", columns=["id"]).column("id").to_pylist()
    )


def test_a_folder_of_large_images_is_cut_into_batches_by_bytes(tmp_path: Path):
    """Files are read by the decoding threads, after the batch is formed: the batch is cut
    by their size on disk, so a folder of large photos never holds ``batch_size`` of them
    (times the batches in flight) in memory at once."""
    import numpy as np
    from PIL import Image

    from plait.ingest import IngestOptions, ingest

    src = tmp_path / "imgs"
    src.mkdir()
    rng = np.random.default_rng(0)
    sizes = []
    for i in range(12):
        pixels = (rng.random((120, 160, 3)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(src / f"{i:02d}.jpg", quality=95)
        sizes.append((src / f"{i:02d}.jpg").stat().st_size)
    cap = 2 * max(sizes)  # a batch is cut once it holds this much: three images at most
    corpus = Corpus.init(tmp_path / "c")
    report = ingest(corpus, src, options=IngestOptions(max_batch_bytes=cap))
    assert report.added == 12
    media = Corpus.open(tmp_path / "c").dataset("media")
    assert media is not None
    rows = [f.count_rows() for f in media.get_fragments()]  # one fragment per batch
    assert sum(rows) == 12 and len(rows) >= 4 and max(rows) <= 3
