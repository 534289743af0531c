"""Model operators on real files: NSFW (open_nsfw), text-in-image (RapidOCR), and a
learned filter trained and reused by name in a real corpus (EfficientNet-Lite0)."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pytest

from plait.io.media import probe
from plait.ops import build
from plait.ops.base import OpContext
from plait.schema import PAIR, Sample, Source

pytestmark = pytest.mark.models


def _samples(paths: list[str], dataset: str) -> tuple[list[Sample], dict[str, bytes]]:
    blobs, out = {}, []
    for p in paths:
        data = Path(p).read_bytes()
        info = probe(data)
        blobs[info.id] = data
        out.append(
            Sample(
                id=f"{dataset}/{Path(p).stem}",
                kind=PAIR,
                texts=[None, Path(p).stem],
                images=[info.id, None],
                source=Source(uri=p, dataset=dataset),
            )
        )
    return out, blobs


def test_text_in_image_flags_receipts_not_photos(shared_data: Path) -> None:
    receipts, rb = _samples(sorted(glob.glob(str(shared_data / "sroie/img/*.jpg")))[:3], "sroie")
    photos, pb = _samples(
        sorted(glob.glob(str(shared_data / "flickr8k/images/*.jpg")))[:6], "flickr"
    )
    blobs = {**rb, **pb}
    ctx = OpContext(run_id="t", media=lambda ids: {i: blobs[i] for i in ids})
    result = build("text_in_image", max_ratio=0.2).process(receipts + photos, ctx)
    dropped = {r.sample.id for r in result.rejected}
    assert {s.id for s in receipts} <= dropped
    assert all(r.reason == "text_heavy_image" for r in result.rejected)
    # the detector sees text-like texture in some photos; most photos stay
    assert sum(s.id not in dropped for s in photos) >= 4


def test_nsfw_scores_everyday_photos_low(shared_data: Path) -> None:
    photos, blobs = _samples(
        sorted(glob.glob(str(shared_data / "flickr8k/images/*.jpg")))[:6], "flickr"
    )
    ctx = OpContext(run_id="t", media=lambda ids: {i: blobs[i] for i in ids})
    result = build("nsfw", threshold=0.8).process(photos, ctx)
    assert len(result.kept) == 6
    assert all(0.0 <= s.stats["nsfw_score"] < 0.8 for s in photos)


def test_learned_filter_trained_and_reused_by_name(shared_data: Path, corpus) -> None:
    import pyarrow as pa
    import torch

    from plait import schema
    from plait.ops.filters.learned import train_filter

    torch.set_num_threads(1)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    stamps = sorted(
        glob.glob(str(shared_data / "tuxpaint/stamps/animals/**/*.png"), recursive=True)
    )[:24]
    photos = sorted(glob.glob(str(shared_data / "flickr8k/images/*.jpg")))[:60]
    good, gb = _samples(stamps, "tuxpaint")
    rest, fb = _samples(photos, "flickr")
    blobs = {**gb, **fb}
    media = [
        {
            "id": k,
            "bytes": v,
            "uri": None,
            "mime": probe(v).mime,
            "width": None,
            "height": None,
            "size": len(v),
        }
        for k, v in blobs.items()
    ]
    corpus.append("media", pa.Table.from_pylist(media, schema=schema.MEDIA))
    corpus.append("samples", schema.samples_table(good + rest))
    train_ids = [s.id for s in good[:16]]
    cfg = train_filter(corpus, "stamps", "effnet-lite0", train_ids, negatives=40, seed=0)
    assert cfg.n_pos == 16 and cfg.encoder == "effnet-lite0"
    assert (corpus.path / "filters/stamps/config.json").is_file()

    op = build("learned_filter", name="stamps", threshold=0.5)
    op.check(str(corpus.path))
    held_out = good[16:] + rest[40:]
    ctx = OpContext(run_id="t", media=corpus.media_many, corpus_path=str(corpus.path))
    result = op.process(held_out, ctx)
    kept = {s.id for s in result.kept}
    assert sum(s.id in kept for s in good[16:]) >= 6  # unseen stamps look like the reference set
    assert sum(s.id in kept for s in rest[40:]) <= 4  # unseen photos do not
    with pytest.raises(Exception, match="no learned filter 'nope'"):
        build("learned_filter", name="nope").check(str(corpus.path))
