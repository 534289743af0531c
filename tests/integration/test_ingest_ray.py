"""``plait ingest --executor ray``: shards read in parallel on Ray, stored as a local run stores them."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from plait import Corpus
from plait.ingest import IngestOptions, ingest

from ..builders import flickr_pairs, image_bytes, tar_add, write_img2dataset_shards

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _state(c: Corpus) -> tuple:
    samples = sorted(
        (r["id"], r["kind"], tuple(map(str, r["texts"])), tuple(map(str, r["images"])))
        for r in c.read("samples", columns=["id", "kind", "texts", "images"]).to_pylist()
    )
    media = sorted(c.read("media", columns=["id", "size"]).to_pylist(), key=str)
    quarantine = sorted(
        (r["location"], r["reason"])
        for r in c.read("quarantine", columns=["location", "reason"]).to_pylist()
    )
    return samples, media, quarantine


def test_ray_ingest_of_a_shard_list_equals_a_local_ingest(
    shared_data: Path, tmp_path: Path, ray_cluster: str
) -> None:
    pairs = flickr_pairs(shared_data, 48)
    shards = write_img2dataset_shards(tmp_path / "laion", pairs, 12)
    with tarfile.open(tmp_path / "laion" / "00004.tar", "w") as tar:  # bad and repeated inputs
        tar_add(tar, "cut.jpg", image_bytes("red", 48)[:150])
        tar_add(tar, "cut.txt", b"a truncated red square")
        tar_add(tar, "again.jpg", pairs[0][0].read_bytes())  # stored once
    shards.append(tmp_path / "laion" / "00004.tar")
    sources = [str(p) for p in shards]

    local = Corpus.init(tmp_path / "local")
    ingest(local, sources, licence="research-only")
    # the CLI driver in its own process, connected to the session's cluster (RAY_ADDRESS)
    remote = tmp_path / "ray"
    cmd = [sys.executable, "-m", "plait", "ingest", str(remote), *sources, "--executor", "ray"]
    out = subprocess.run(
        [*cmd, "--workers", "2", "--licence", "research-only", "--json", "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert _state(Corpus.open(remote)) == _state(local)
    samples, media, quarantine = _state(local)
    assert (len(samples), len(media), len(quarantine)) == (49, 48, 1)

    again = ingest(Corpus.open(remote), sources, executor="ray", options=IngestOptions(workers=2))
    assert (again.added, again.skipped, again.media_added) == (0, 49, 0)
