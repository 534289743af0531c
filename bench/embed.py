"""``plait embed`` throughput against a bare forward loop of the same model, in one run.

The reference is the model alone: images decoded and preprocessed beforehand, then
``encode_prepared`` over batches (no I/O, no decode, no writes). ``plait embed`` does
everything: scans samples, reads media bytes from Lance, decodes and resizes (in threads,
overlapping the forward), runs the model and commits rows. Goal: ratio >= 0.9.

The reference is measured before and after the embed run and averaged, because the
machine's load can drift during the run.

Run: python bench/embed.py [--n 96] [--encoder effnet-lite0] [--random-clip] [--device cuda]
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


def build_corpus(root: Path, images: list[Path]):  # noqa: ANN201
    from plait import Corpus, Sample, Source
    from plait.io.media import probe
    from plait.schema import MEDIA, samples_table

    corpus = Corpus.init(root)
    media, samples = [], []
    for i, p in enumerate(images):
        data = p.read_bytes()
        info = probe(data)
        media.append(
            {
                "id": info.id,
                "bytes": data,
                "uri": None,
                "mime": info.mime,
                "width": info.width,
                "height": info.height,
                "size": info.size,
            }
        )
        samples.append(
            Sample(
                id=f"bench/{i}",
                kind="image",
                texts=[None],
                images=[info.id],
                source=Source(uri=str(p), dataset="bench"),
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
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from plait.embed import embed
    from plait.encoders import load_encoder
    from plait.io.media import open_image

    images = sorted((DATA / "flickr8k" / "images").glob("*.jpg"))
    if not images:
        sys.exit(f"no flickr8k images under {DATA}")
    images = (images * (args.n // len(images) + 1))[: args.n]  # repeats only past 3,500
    tmp = Path(tempfile.mkdtemp(prefix="plait-bench-embed-"))
    spec = random_clip(tmp / "clip") if args.random_clip else args.encoder
    enc = load_encoder(spec, device=args.device)
    corpus = build_corpus(tmp / "corpus", images)

    pixels = [enc.prepare_image(open_image(p.read_bytes())) for p in images]
    enc.encode_prepared(np.stack(pixels[: min(args.batch, len(pixels))]))  # warm-up
    bare1 = bare_loop(enc, pixels, args.batch)
    t = time.perf_counter()
    counts = embed(corpus, spec, batch_size=args.batch, encoder=enc, modality="image")
    wall = time.perf_counter() - t
    bare2 = bare_loop(enc, pixels, args.batch)
    bare = (bare1 + bare2) / 2
    ours = counts["images_embedded"] / wall
    print(
        f"encoder {spec} on {getattr(enc, 'device', 'cpu')}, {args.n} flickr8k images, batch {args.batch}, "
        f"{args.threads} torch threads"
    )
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
