"""``plait embed`` throughput against a bare forward loop of the same model, in one run.

The reference is the model alone: images decoded and preprocessed beforehand, then
``encode_prepared`` over batches (no I/O, no decode, no writes). ``plait embed`` does
everything: scans samples, reads media bytes from Lance, decodes and resizes (in threads,
overlapping the forward), runs the model and commits rows. Goal: ratio >= 0.9.

The reference is measured before and after the embed run and averaged, because the
machine's load can drift during the run.

Run: python bench/embed.py [--n 96] [--encoder effnet-lite0] [--random-clip] [--device cuda]
     [--workers 14 --batch 256 --dtype bf16]   (a GPU machine: decode threads keep it fed)
``--random-clip`` uses a randomly initialised CLIP ViT-B/32 (the transformers default config)
saved to a temporary directory, as on a GPU machine with no CLIP weights.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
DATA = Path(
    os.environ.get("PLAIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def distinct_bytes(paths: list[Path], n: int) -> list[bytes]:
    """``n`` images from ``paths``; past the first round each copy gets unique trailing
    bytes after the image data, so it hashes (and is embedded) as new content but decodes
    the same. (``plait embed`` is content-keyed: a plain repeat would cost nothing.)"""
    out = []
    for i in range(n):
        data = paths[i % len(paths)].read_bytes()
        out.append(data if i < len(paths) else data + f"plait-bench-{i}".encode())
    return out


def build_corpus(root: Path, images: list[bytes]):  # noqa: ANN201
    from plait import Corpus, Sample, Source
    from plait.io.media import media_row
    from plait.schema import MEDIA, samples_table

    corpus = Corpus.init(root)
    media, samples = [], []
    for i, data in enumerate(images):
        row = media_row(data)
        media.append(row)
        samples.append(
            Sample(
                id=f"bench/{i}",
                kind="image",
                texts=[None],
                images=[row["id"]],
                source=Source(uri=f"bench/{i}", dataset="bench"),
            )
        )
    corpus.append("media", pa.Table.from_pylist(media, schema=MEDIA))
    corpus.append("samples", samples_table(samples))
    return corpus


def random_clip(path: Path) -> str:
    import json

    from transformers import CLIPConfig, CLIPModel

    CLIPModel(CLIPConfig()).save_pretrained(str(path))  # defaults = ViT-B/32 geometry
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(vocab={"<pad>": 0, "<unk>": 1}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>"
    ).save_pretrained(str(path))
    (path / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "size": {"shortest_edge": 224},
                "crop_size": {"height": 224, "width": 224},
                "do_center_crop": True,
                "resample": 3,
            }
        )
    )
    return f"hf:{path}"


def bare_loop(enc, pixels: list[np.ndarray], batch: int) -> float:  # noqa: ANN001
    t = time.perf_counter()
    for i in range(0, len(pixels), batch):
        enc.encode_prepared(np.stack(pixels[i : i + batch]))
    return len(pixels) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=96, help="flickr8k images to embed")
    ap.add_argument("--encoder", default="effnet-lite0")
    ap.add_argument("--random-clip", action="store_true")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--workers", type=int, default=2, help="plait embed's decode threads")
    ap.add_argument("--dtype", default="", help="hf: encoders: bf16 (default fp32)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from plait.embed import embed
    from plait.encoders import load_encoder
    from plait.io.media import open_image

    paths = sorted((DATA / "flickr8k" / "images").glob("*.jpg"))
    if not paths:
        sys.exit(f"no flickr8k images under {DATA}")
    images = distinct_bytes(paths, args.n)
    tmp = Path(tempfile.mkdtemp(prefix="plait-bench-embed-"))
    spec = random_clip(tmp / "clip") if args.random_clip else args.encoder
    if args.dtype:
        spec += f"?dtype={args.dtype}"
    enc = load_encoder(spec, device=args.device)
    corpus = build_corpus(tmp / "corpus", images)

    t = time.perf_counter()
    pixels = [enc.prepare_image(open_image(b)) for b in images]
    decode_one = len(images) / (time.perf_counter() - t)
    enc.encode_prepared(np.stack(pixels[: min(args.batch, len(pixels))]))  # warm-up
    bare1 = bare_loop(enc, pixels, args.batch)
    t = time.perf_counter()
    counts = embed(
        corpus, spec, batch_size=args.batch, encoder=enc, modality="image", workers=args.workers
    )
    wall = time.perf_counter() - t
    bare2 = bare_loop(enc, pixels, args.batch)
    bare = (bare1 + bare2) / 2
    ours = counts["images_embedded"] / wall
    print(
        f"encoder {spec} on {getattr(enc, 'device', 'cpu')}, {args.n} flickr8k images "
        f"({len(paths)} distinct files), batch {args.batch}, {args.threads} torch threads, "
        f"{args.workers} decode threads, {os.cpu_count()} CPUs"
    )
    print(f"decode + resize alone, one thread:        {decode_one:8.2f} images/s")
    print(
        f"bare forward loop (pre-decoded tensors): {bare:8.2f} images/s  (before {bare1:.2f}, after {bare2:.2f})"
    )
    print(
        f"plait embed (read, decode, forward, write): {ours:8.2f} images/s  "
        f"(embed loop alone {counts['images_per_s']:.2f})"
    )
    print(f"ratio: {ours / bare:.3f}  (goal >= 0.9)")


if __name__ == "__main__":
    main()
