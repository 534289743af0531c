"""A Ray driver killed part way: the rerun keeps every finished shard and ends like a local run.

The drivers are ``plait`` processes connected to the session's Ray cluster
(``RAY_ADDRESS``); each test SIGKILLs one after a few shards, reruns the same
command, counts which shards the rerun processed, and compares the final tables
with a local run of the same work.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

TOY = Path(__file__).resolve().parents[1] / "unit" / "executors"
sys.path.insert(0, str(TOY))
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "encoders"))

import toy_corpus  # noqa: E402

from plait import Corpus, schema  # noqa: E402
from plait.curate import curate  # noqa: E402

pytestmark = [pytest.mark.ray, pytest.mark.slow]
N, SHARD = 600, 50


def _plait(*args: str) -> subprocess.Popen:
    path = os.pathsep.join(p for p in (str(TOY), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "plait"), *args],
        env={**os.environ, "PYTHONPATH": path},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill_when(proc: subprocess.Popen, ready, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, f"finished before the kill: {proc.stdout.read()}"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _finish(proc: subprocess.Popen) -> dict:
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    return json.loads(out[out.index("{") :])


def _tallied(log: Path) -> set[str]:
    """One file per shard the tally op processed, named ``FIRST-ID-PID-NS``."""
    return {p.name for p in log.iterdir()} if log.is_dir() else set()


def test_ray_curate_killed_resumes_per_shard(tmp_path: Path, ray_cluster: str) -> None:
    killed = toy_corpus.text_corpus(tmp_path / "killed", N)
    clean = toy_corpus.text_corpus(tmp_path / "clean", N)
    log = tmp_path / "tally"
    recipe = [
        {"op": "toy_ops:Tally", "log_dir": str(log)},
        {"op": "toy_ops:Slow", "seconds": 0.01},
        {"op": "toy_ops:MinWords", "min_words": 3},
        {"op": "toy_ops:ExactText"},
        {"op": "toy_ops:Lower"},
    ]
    path = tmp_path / "recipe.json"
    path.write_text(json.dumps(recipe))  # YAML is a superset of JSON
    args = ["curate", str(killed.path), str(path), "--executor", "ray", "--workers", "2"]
    args += ["--shard-size", str(SHARD), "--json"]

    proc = _plait(*args)
    _kill_when(proc, lambda: len(list(killed.path.glob(".work/*/s00/*.done"))) >= 3)
    done = sorted(int(p.stem) for p in killed.path.glob(".work/*/s00/*.done"))
    before = _tallied(log)
    assert killed.count("rejected") == 0  # nothing committed
    assert killed.count("runs", where="status = 'ok'") == 0

    report = _finish(_plait(*args))
    rerun = [name.split("-")[0] for name in _tallied(log) - before]
    ids = killed.read("samples", columns=["id"]).column("id").to_pylist()
    done_first_ids = {ids[i * SHARD].replace("/", "_") for i in done}
    shards = N // SHARD
    # every shard finished before the kill is kept, none of them is processed again
    assert report["resumed"] and report["reused"] >= len(done)
    assert not done_first_ids & set(rerun)
    assert len(rerun) == len(set(rerun)) <= shards - len(done)
    print(
        f"\nray curate: {shards} shards, {len(done)} done before the kill, rerun processed {len(rerun)}"
    )

    curate(clean, recipe, executor="local", workers=0, shard_size=SHARD)

    def state(c: Corpus):
        s = [(r["id"], r["texts"], schema.loads(r["stats"])) for r in c.read("samples").to_pylist()]
        rej = sorted((r["id"], r["op"], r["reason"]) for r in c.read("rejected").to_pylist())
        return sorted(s), rej

    assert state(killed) == state(clean)
    assert not (killed.path / ".work").exists()


def test_ray_embed_killed_resumes_per_shard(
    tmp_path: Path, shared_data: Path, ray_cluster: str
) -> None:
    from test_embed import add_pairs
    from tiny_models import save_tiny_clip

    from plait.embed import embed
    from plait.io.corpus import embeddings_table

    images = sorted((shared_data / "flickr8k" / "images").glob("*.jpg"))[:64]
    spec = f"hf:{save_tiny_clip(tmp_path / 'clip')}"
    killed, clean = Corpus.init(tmp_path / "killed"), Corpus.init(tmp_path / "clean")
    for c in (killed, clean):
        add_pairs(c, images, [f"caption {i}" for i in range(len(images))], "s")
    batch = 1
    shard = batch * 8  # ray_image_batches' default shard: 8 shards
    args = ["embed", str(killed.path), "--encoder", spec, "--modality", "image"]
    args += ["--executor", "ray", "--workers", "1", "--batch-size", str(batch), "--json"]
    table = killed.embeddings_path(spec)

    def rows() -> int:
        import lance

        try:
            return lance.dataset(str(table)).count_rows()
        except (ValueError, OSError):
            return 0

    proc = _plait(*args)
    _kill_when(proc, lambda: rows() >= 2 * shard)
    kept = rows()
    assert kept % shard == 0  # whole shards only

    report = _finish(_plait(*args))
    total = len(images)
    assert report["cached"] == kept  # every committed shard is kept ...
    assert report["images_embedded"] == total - kept  # ... and not embedded again
    print(
        f"\nray embed: {total // shard} shards, {kept // shard} committed before the kill, "
        f"rerun embedded {report['images_embedded'] // shard} shards"
    )

    embed(clean, spec, modality="image")

    def vectors(c: Corpus) -> dict:
        t = c.dataset(embeddings_table(spec)).to_table().to_pylist()
        return {(r["sample_id"], r["slot"]): np.array(r["vector"]) for r in t}

    a, b = vectors(killed), vectors(clean)
    assert a.keys() == b.keys() and len(a) == total
    for k in a:
        np.testing.assert_allclose(a[k], b[k], atol=1e-5)
