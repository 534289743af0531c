"""Every registered operator: params round-trip, works on a tiny batch, annotate never drops."""

from __future__ import annotations

import io

import pytest

from plait.ops import OPS, Deduplicator, Filter, Mapper, build
from plait.ops.base import OpContext
from plait.schema import PAIR, Sample, Source

# Ops that need a cross-modal encoder or a saved filter inside a corpus: their
# scoring is covered by tests/integration/test_ops_models.py.
NEEDS_CORPUS = {
    "image_text_similarity",
    "image_text_similarity_top",
    "learned_filter",
    "best_caption",
}


def _png(color: tuple[int, int, int], size: tuple[int, int] = (96, 64)) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, color)
    ImageDraw.Draw(img).ellipse((10, 10, 50, 40), fill=(255 - color[0], 120, 30))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture()
def tiny() -> tuple[list[Sample], OpContext]:
    from plait.io.media import sha256

    blobs = {sha256(b): b for b in (_png((20, 90, 200)), _png((200, 200, 30), (300, 40)))}
    ids = sorted(blobs)
    caps = ["A dog runs on the beach .", "x", "buy now buy now buy now buy now {}"]
    batch = [
        Sample(
            id=f"s{i}",
            kind=PAIR,
            texts=[None, c],
            images=[ids[i % 2], None],
            source=Source(uri=f"s{i}", dataset="t"),
        )
        for i, c in enumerate(caps)
    ]
    return batch, OpContext(
        run_id="contract", media=lambda want: {m: blobs[m] for m in want if m in blobs}
    )


@pytest.mark.parametrize("name", OPS.names())
def test_params_round_trip(name: str) -> None:
    op = build(name, **OPS.get(name).example)
    again = build(name, **op.params())
    assert again.params() == op.params()
    assert type(again).name == name


@pytest.mark.parametrize("name", OPS.names())
def test_runs_on_a_tiny_batch(name: str, tiny) -> None:
    if name in NEEDS_CORPUS:
        pytest.skip(f"{name} needs a corpus with an encoder or saved filter (integration tests)")
    batch, ctx = tiny
    op = build(name, **OPS.get(name).example)
    op.setup()
    if isinstance(op, Filter):
        stats = op.score(batch, ctx)
        assert len(stats) == len(batch) and all(isinstance(s, dict) and s for s in stats)
        for s, st in zip(batch, stats):
            reason = op.keep(s, st)
            assert reason is None or (isinstance(reason, str) and 0 < len(reason) <= 80)
    elif isinstance(op, Deduplicator):
        fps = op.fingerprint(batch, ctx)
        assert len(fps) == len(batch)
        dropped = op.resolve([(s.id, f) for s, f in zip(batch, fps)])
        assert set(dropped) <= {s.id for s in batch}
    else:
        assert isinstance(op, Mapper)
        assert len(op.process(batch, ctx).kept) == len(batch)


@pytest.mark.parametrize(
    "name", [n for n in OPS.names() if issubclass(OPS.get(n), Filter) and n not in NEEDS_CORPUS]
)
def test_annotate_mode_never_drops(name: str, tiny) -> None:
    batch, ctx = tiny
    params = {**OPS.get(name).example, "mode": "annotate"}
    result = build(name, **params).process(batch, ctx)
    assert [s.id for s in result.kept] == [s.id for s in batch] and result.rejected == []
