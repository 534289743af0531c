"""Every stage reports progress in one shape: (done, total, stage), absolute counts."""

from __future__ import annotations

from pathlib import Path

from plait import Corpus
from plait.curate import curate
from plait.ingest import ingest
from plait.progress import counter

from ..builders import image_bytes


def test_counter_turns_steps_into_absolute_counts() -> None:
    seen: list[tuple[int, int | None, str]] = []
    advance = counter(lambda d, t, s="": seen.append((d, t, s)), 10, "curate")
    assert advance is not None and counter(None, 10) is None
    advance(4)
    advance(6)
    assert seen == [(0, 10, "curate"), (4, 10, "curate"), (10, 10, "curate")]


def test_ingest_and_curate_report_in_the_same_shape(tmp_path: Path) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    for i, colour in enumerate(("red", "green", "blue", "white", "black")):
        (src / f"{i}.png").write_bytes(image_bytes(colour, fmt="PNG"))
    (src / "broken.png").write_bytes(b"not an image")
    calls: list[tuple[int, int | None, str]] = []
    corpus = Corpus.init(tmp_path / "c")
    report = ingest(corpus, src, progress=lambda d, t, s="": calls.append((d, t, s)))
    assert calls[0][0] == 0 and all(s.startswith("ingest") for _, _, s in calls)
    done = [d for d, _, _ in calls]
    assert done == sorted(done) and done[-1] == report.read  # inputs read, bad ones included

    calls.clear()
    rep = curate(
        corpus,
        [{"op": "image_size", "min_side": 8}],
        workers=0,
        progress=lambda d, t, s="": calls.append((d, t, s)),
    )
    assert calls[-1] == (rep.samples * rep.stages, rep.samples * rep.stages, "curate")
