"""Curation benchmarks; every speed is a ratio against a reference measured in the same run.

1. text: the text-quality filters (caption_length, word_count, special_chars,
   repetition, c4_quality) over Flickr8k captions, in samples/s, against a plain
   Python loop computing the same checks (plait.ops.textstats_ref).
2. neardup-scale: near-duplicate detection (multi-index hashing) over 10k and
   100k synthetic 64-bit hashes with planted near-duplicates; the fitted growth
   exponent of time in n (goal <= 1.15), for the default and the classic config.
3. neardup-flickr: 200 re-encoded, resized and cropped copies of Flickr8k images
   among the 3,500 originals: share of copies found, false positives among originals.

Usage: python bench/curate.py [text] [neardup-scale] [neardup-flickr]
"""

from __future__ import annotations

import csv
import io
import math
import os
import random
import sys
import time
from pathlib import Path

import numpy as np

DATA = Path(
    os.environ.get("PLAIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def _best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def bench_text() -> None:
    from plait.ops import build
    from plait.ops.base import OpContext
    from plait.ops.textstats import _classes
    from plait.ops.textstats_ref import measure_one
    from plait.schema import TEXT, Sample, Source

    rows = list(csv.reader(open(DATA / "flickr8k/train.tsv"), delimiter="\t"))[1:]
    caps = [r[2] for r in rows]
    # the captions, plus multi-line web-like documents built from them (repetition matters there)
    rng = random.Random(0)
    docs = ["\n".join(rng.choice(caps) for _ in range(rng.randint(3, 12))) for _ in range(2000)]
    texts = caps + docs
    samples = [
        Sample(id=str(i), kind=TEXT, texts=[t], images=[None], source=Source(uri="", dataset="b"))
        for i, t in enumerate(texts)
    ]
    ops = [
        build("caption_length", min_chars=6),
        build("word_count", min_words=3),
        build("special_chars"),
        build("repetition"),
        build("c4_quality"),
    ]
    ctx = OpContext(run_id="bench", media=lambda ids: {})
    _classes()  # built once per process; not part of the per-batch cost

    def fast() -> None:
        for start in range(0, len(samples), 1024):
            batch = samples[start : start + 1024]
            for op in ops:
                op.process(batch, ctx)

    def loop() -> None:
        for t in texts:
            m = measure_one(t)
            _ = (
                m["chars"] < 6,
                m["words"] < 3,
                m["special_ratio"] > 0.25,
                m["dup_line_frac"] > 0.3,
                m["lorem"],
                m["curly"],
            )

    tf, tl = _best(fast), _best(loop)
    n = len(texts)
    print(
        f"text filters: {n} texts ({len(caps)} captions + {len(docs)} documents), 5 filters, batches of 1024"
    )
    print(f"  vectorised ops : {n / tf:10.0f} samples/s")
    print(f"  plain loop     : {n / tl:10.0f} samples/s")
    print(f"  ratio          : {tl / tf:10.2f}x")


def synthetic(
    n: int, radius: int, erase: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random hashes; 10% are copies of earlier ones with <= radius flipped reliable bits."""
    from plait.ops.dedup.phash import band_edges

    rng = np.random.default_rng(seed)
    h = (rng.integers(0, 2**63, size=n, dtype=np.uint64) << np.uint64(1)) | rng.integers(
        0, 2, size=n, dtype=np.uint64
    )
    m = np.zeros(n, dtype=np.uint64)
    if erase:
        bits = np.zeros((n, 64), dtype=bool)
        for lo, hi in band_edges(radius + 1):
            idx = np.argsort(rng.random((n, hi - lo)), axis=1)[:, :erase] + lo
            np.put_along_axis(bits, idx, True, axis=1)
        m = (bits.astype(np.uint64) << np.arange(64, dtype=np.uint64)).sum(axis=1, dtype=np.uint64)
    k = n // 10
    src = rng.integers(0, n - k, size=k)
    flips = np.zeros(k, dtype=np.uint64)
    for _ in range(radius):
        flips |= np.uint64(1) << rng.integers(0, 64, size=k).astype(np.uint64)
    h[n - k :] = h[src] ^ (flips & ~m[src])
    m[n - k :] = m[src]
    return h, m, src


def bench_neardup_scale() -> None:
    from plait.ops.dedup.mih import first_kept, near_pairs

    print("near-duplicate detection, synthetic 64-bit hashes, 10% planted copies")
    for radius, erase, label in (
        (3, 0, "classic pHash, radius 3"),
        (2, 6, "default: radius 2, 6 erased bits/band"),
    ):
        ns, ts = [10_000, 100_000], []
        for n in ns:
            h, m, src = synthetic(n, radius, erase)
            t0 = time.perf_counter()
            a, b, _ = near_pairs(h, m, radius)
            parent = first_kept(n, a, b)
            ts.append(time.perf_counter() - t0)
            found = np.mean(parent[n - n // 10 :] >= 0)
            print(
                f"  {label:40s} n={n:>7}: {ts[-1]:8.3f} s, candidates verified -> {len(a)} pairs, planted found {found:.3f}"
            )
        exp = math.log(ts[1] / ts[0]) / math.log(ns[1] / ns[0])
        print(f"  {label:40s} growth exponent {exp:.2f} (goal <= 1.15)")


def make_copy(data: bytes, rng: random.Random) -> bytes:
    """Crop 2-5% per side, resize to 0.5-0.9x, re-encode as JPEG quality 60-90."""
    from PIL import Image

    im = Image.open(io.BytesIO(data)).convert("RGB")
    w, h = im.size
    left, top, right, bottom = (rng.uniform(0.02, 0.05) for _ in range(4))
    im = im.crop((round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom))))
    s = rng.uniform(0.5, 0.9)
    im = im.resize(
        (max(1, round(im.width * s)), max(1, round(im.height * s))), Image.Resampling.BICUBIC
    )
    out = io.BytesIO()
    im.save(out, "JPEG", quality=rng.randint(60, 90))
    return out.getvalue()


def neardup_flickr(
    method: str = "phash", radius: int = 2, erase: int = 6, copies: int = 200, seed: int = 0
) -> dict[str, float]:
    """Share of copies found as duplicates of their original; originals wrongly flagged."""
    from PIL import Image

    from plait.ops import build

    files = sorted((DATA / "flickr8k/images").glob("*.jpg"))
    rng = random.Random(seed)
    originals = [f.read_bytes() for f in files]
    chosen = rng.sample(range(len(files)), copies)
    op = build("near_dup_image", method=method, radius=radius, erase=erase)
    items = [
        (f"a/{f.stem}", op.hash_image(Image.open(io.BytesIO(d)))) for f, d in zip(files, originals)
    ]
    for j, i in enumerate(chosen):
        items.append(
            (f"z/copy{j:03d}", op.hash_image(Image.open(io.BytesIO(make_copy(originals[i], rng)))))
        )
    dropped = op.resolve(items)
    found = sum(
        dropped.get(f"z/copy{j:03d}") == f"near_duplicate_of:a/{files[i].stem}"
        for j, i in enumerate(chosen)
    )
    fp = sum(1 for sid in dropped if sid.startswith("a/"))
    return {
        "recall": found / copies,
        "fp_rate": fp / len(files),
        "originals": len(files),
        "copies": copies,
    }


def bench_neardup_flickr() -> None:
    print(
        "near-duplicates on Flickr8k: 200 copies (crop 2-5%/side, 0.5-0.9x, JPEG 60-90) among 3,500 originals"
    )
    for method, radius, erase in (
        ("phash", 2, 6),
        ("phash", 3, 0),
        ("phash", 12, 0),
        ("dhash", 2, 6),
    ):
        t0 = time.perf_counter()
        r = neardup_flickr(method, radius, erase)
        print(
            f"  {method} radius {radius:2d} erase {erase}: copies found {r['recall']:.3f} (goal >= 0.95), "
            f"originals flagged {r['fp_rate']:.4f} (goal < 0.01)  [{time.perf_counter() - t0:.0f} s]"
        )


if __name__ == "__main__":
    wanted = sys.argv[1:] or ["text", "neardup-scale", "neardup-flickr"]
    if "text" in wanted:
        bench_text()
    if "neardup-scale" in wanted:
        bench_neardup_scale()
    if "neardup-flickr" in wanted:
        bench_neardup_flickr()
