"""Four ``plait ingest`` processes writing one corpus at once, from overlapping inputs:
every input ends up stored exactly once (samples by id, media by sha256, quarantine by
location), and every process succeeds. Runs with the local writer lock and without it
(the path an object-store corpus takes). ``PLAIT_STRESS_N`` sets the repetitions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from plait import Corpus

from ..builders import image_bytes
from ..procs import finish, keys_once, repeats, start

WRITERS = 4
PER_FOLDER = 120
STEP = 40  # folder k holds images k*STEP .. k*STEP+PER_FOLDER: neighbours overlap


def _inputs(root: Path) -> list[Path]:
    """Overlapping folders: the same file name has the same bytes in every folder; every
    tenth image repeats another's bytes under its own name; each folder has one corrupt
    file of its own."""
    total = STEP * (WRITERS - 1) + PER_FOLDER
    colours = [(i * 7 % 256, i * 13 % 256, i * 29 % 256) for i in range(total)]
    folders = []
    for k in range(WRITERS):
        d = root / f"in{k}"
        d.mkdir(parents=True)
        for i in range(k * STEP, k * STEP + PER_FOLDER):
            c = colours[i - 1] if i % 10 == 9 else colours[i]
            (d / f"img{i:04d}.png").write_bytes(image_bytes(c, 24, "PNG"))
            (d / f"img{i:04d}.txt").write_text(f"a picture number {i}")
        (d / f"broken{k}.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
        folders.append(d)
    return folders


def _expected(folders: list[Path]) -> tuple[set[str], set[str]]:
    import hashlib

    names, hashes = set(), set()
    for d in folders:
        for p in d.glob("img*.png"):
            names.add(f"shared/{p.name}")
            hashes.add(hashlib.sha256(p.read_bytes()).hexdigest())
    return names, hashes


def _race(corpus_dir: Path, folders: list[Path], env: dict[str, str]) -> list[dict]:
    procs = [
        start(
            "ingest", str(corpus_dir), str(d), "--dataset", "shared", "--batch-size", "25",
            "--workers", "1", "--no-progress", "--json", env=env,
        )
        for d in folders
    ]  # fmt: skip
    return [json.loads((out := finish(p))[out.index("{") :]) for p in procs]


def _check(corpus_dir: Path, folders: list[Path], reports: list[dict]) -> None:
    corpus = Corpus.open(corpus_dir)
    keys_once(corpus)
    names, hashes = _expected(folders)
    assert corpus.ids("samples") == names
    assert corpus.ids("media") == hashes
    assert corpus.count("quarantine") == WRITERS  # one broken file per folder
    assert sum(r["added"] for r in reports) <= len(names)
    runs = [r for r in corpus.read("runs").to_pylist() if r["command"] == "ingest"]
    assert all(r["status"] == "ok" for r in runs)


def _scenario(tmp_path: Path, n: int, existing: bool, lock: bool) -> None:
    folders = _inputs(tmp_path / "inputs")
    env = {} if lock else {"PLAIT_WRITE_LOCK": "0"}
    for i in range(n):
        corpus_dir = tmp_path / f"corpus{i}"
        if existing:  # a corpus that already holds part of the inputs
            finish(start("ingest", str(corpus_dir), str(folders[1]), "--dataset", "shared",
                         "--no-progress", env=env))  # fmt: skip
        reports = _race(corpus_dir, folders, env)
        _check(corpus_dir, folders, reports)
        shutil.rmtree(corpus_dir)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("existing", "lock"), [(False, True), (True, False)], ids=["fresh-locked", "existing-lockfree"]
)
def test_concurrent_ingests_store_every_input_once(
    tmp_path: Path, existing: bool, lock: bool
) -> None:
    _scenario(tmp_path, repeats(1), existing, lock)


@pytest.mark.heavy
@pytest.mark.parametrize("existing", [False, True], ids=["fresh", "existing"])
@pytest.mark.parametrize("lock", [True, False], ids=["locked", "lockfree"])
def test_concurrent_ingests_stress(tmp_path: Path, existing: bool, lock: bool) -> None:
    _scenario(tmp_path, repeats(10), existing, lock)
