"""Input builders the ingest tests share: small images, decompression bombs, tar members,
Flickr8k pairs and img2dataset-style WebDataset shards."""

from __future__ import annotations

import csv
import io
import json
import struct
import tarfile
import zlib
from pathlib import Path


def image_bytes(
    color: str | tuple[int, int, int] = "blue", size: int = 32, fmt: str = "JPEG"
) -> bytes:
    """A ``size`` x ``size`` single-colour image encoded as ``fmt``."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, fmt)
    return buf.getvalue()


def bomb_png(w: int = 60000, h: int = 60000) -> bytes:
    """A ~200-byte PNG whose header declares a ``w`` x ``h`` canvas (a decompression bomb)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def tar_add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add a regular member ``name`` holding ``data``."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def flickr_pairs(shared_data: Path, n: int) -> list[tuple[Path, str]]:
    """The first caption of the first ``n`` Flickr8k test images."""
    root = shared_data / "flickr8k"
    pairs: dict[str, str] = {}
    with open(root / "test.tsv", encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            pairs.setdefault(row["image"], row["caption"])
            if len(pairs) == n:
                break
    return [(root / "images" / name, cap) for name, cap in pairs.items()]


def write_img2dataset_shards(
    out: Path, pairs: list[tuple[Path, str]], per_shard: int
) -> list[Path]:
    """Lay out shards exactly as img2dataset does: NNNNN.tar + NNNNN_stats.json, 9-digit keys."""
    out.mkdir(parents=True, exist_ok=True)
    shards = []
    for shard_id, start in enumerate(range(0, len(pairs), per_shard)):
        path = out / f"{shard_id:05d}.tar"
        chunk = pairs[start : start + per_shard]
        with tarfile.open(path, "w") as tar:
            for i, (image, caption) in enumerate(chunk):
                key = f"{shard_id:05d}{i:04d}"
                meta = {
                    "url": f"https://example.org/flickr/{image.name}",
                    "caption": caption,
                    "key": key,
                    "status": "success",
                    "error_message": None,
                    "width": 224,
                    "height": 224,
                    "original_width": 224,
                    "original_height": 224,
                    "exif": "{}",
                }
                tar_add(tar, f"{key}.jpg", image.read_bytes())
                tar_add(tar, f"{key}.txt", caption.encode())
                tar_add(tar, f"{key}.json", json.dumps(meta).encode())
        stats = {"count": len(chunk), "successes": len(chunk), "failed_to_download": 0}
        (out / f"{shard_id:05d}_stats.json").write_text(json.dumps(stats))
        shards.append(path)
    return shards
