"""Ingest throughput and memory against a bare decode-and-hash loop at equal threads.

    python bench/ingest.py --n 1000 --scales 1,10 --threads 1,2

For each scale it builds an input of ``n * scale`` distinct images from the
Flickr8k photos (each copy gets unique trailing bytes after the JPEG end
marker, so it hashes differently but decodes the same), as an image folder and
as WebDataset shards. It times, in fresh processes, at each thread count T:

- the references: a bare Python loop that reads every file (the folder) or walks
  every tar member (the shards), and sha256-hashes and fully decodes each image
  (PIL) on T threads (``bare``); and the same loop decoding JPEGs the way plait
  validates them (``bare-turbo-1/8``: libjpeg-turbo through simplejpeg, all the
  entropy-coded data, the inverse DCT at 1/8 scale), the floor any ingest that
  validates every image has to pay;
- ``plait ingest`` of the folder and of the shards with ``workers=T``.

It prints images/s, the ratio of plait to the bare loop of the same input on the
same number of threads (goal >= 0.9; the ``vs bare-turbo-1/8`` rows divide by the
second reference) and each process's peak RSS (goal: flat
from 1x to 10x). A one-second run on a shared machine varies by +-15% from one
try to the next, so each scale runs ``--repeat`` rounds (every variant in turn)
and prints the median rate, the median of the per-round ratios and their range.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("PLAIT_SHARED_DATA", HERE.parents[1] / "shared" / "data"))

BARE = r"""
import hashlib, io, sys, tarfile, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import simplejpeg
from PIL import Image
src, threads, draft = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "draft"

def work(data):
    hashlib.sha256(data).hexdigest()
    if draft and data[:3] == b"\xff\xd8\xff":  # what plait's validation decodes:
        simplejpeg.decode_jpeg_header(data)  # the size, then all the data at 1/8 the IDCT
        simplejpeg.decode_jpeg(data, min_height=1, min_width=1)
        return
    Image.open(io.BytesIO(data)).load()

def folder():
    for f in sorted(p for p in src.iterdir() if p.suffix == ".jpg"):
        yield f.read_bytes()

def shards():
    for t in sorted(src.glob("*.tar")):
        with tarfile.open(t) as tar:
            for m in tar:
                if m.name.endswith(".jpg"):
                    yield tar.extractfile(m).read()

items = shards() if any(src.glob("*.tar")) else folder()
t0 = time.perf_counter()
n, window = 0, []
with ThreadPoolExecutor(threads) as pool:  # a bounded window of work in flight
    for data in items:
        window.append(pool.submit(work, data))
        if len(window) >= 8 * threads:
            window.pop(0).result()
            n += 1
    for f in window:
        f.result()
        n += 1
print(n / (time.perf_counter() - t0))
"""

PLAIT = r"""
import sys, time
import lance, PIL.Image  # imports are outside the timing, as in the reference
from plait import Corpus
from plait.ingest import ingest, IngestOptions
t0 = time.perf_counter()
r = ingest(Corpus.init(sys.argv[2]), sys.argv[1], fmt=sys.argv[3], dataset="bench",
           options=IngestOptions(workers=int(sys.argv[4])))
assert r.added > 0 and not r.quarantined, r.to_dict()
print(r.added / (time.perf_counter() - t0))
"""


def build_inputs(n: int, root: Path) -> tuple[Path, Path]:
    """A folder of n images with captions, and the same as 1000-sample tar shards."""
    src = sorted((DATA / "flickr8k" / "images").glob("*.jpg"))
    folder, shards = root / "folder", root / "shards"
    folder.mkdir(parents=True)
    shards.mkdir()
    tar = None
    for i in range(n):
        data = src[i % len(src)].read_bytes() + f"plait-bench-{i}".encode()
        key = f"{i:08d}"
        (folder / f"{key}.jpg").write_bytes(data)
        (folder / f"{key}.txt").write_text(f"photo number {i}")
        if i % 1000 == 0:
            if tar:
                tar.close()
            tar = tarfile.open(shards / f"{i // 1000:05d}.tar", "w")
        for name, payload in (
            (f"{key}.jpg", data),
            (f"{key}.txt", f"photo number {i}".encode()),
            (f"{key}.json", json.dumps({"key": key, "caption": f"photo number {i}"}).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    if tar:
        tar.close()
    return folder, shards


def measure(code: str, *args: str) -> tuple[float, float]:
    wrapper = (
        "import resource, subprocess, sys;"
        "o = subprocess.run(sys.argv[1:], capture_output=True, text=True);"
        "sys.stderr.write(o.stderr);"
        "print(o.stdout.strip().splitlines()[-1] if o.returncode == 0 else 'nan');"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
    )
    lines = out.stdout.strip().splitlines()
    if len(lines) < 2 or lines[-2] == "nan":
        raise SystemExit(out.stderr)
    return float(lines[-2]), float(lines[-1])


def _note(rates: dict, ratios: dict, mems: dict, what: str, rate: float, mem: float, ref: float):
    rates.setdefault(what, []).append(rate)
    ratios.setdefault(what, []).append(rate / ref)
    mems[what] = max(mem, mems.get(what, 0))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--n", type=int, default=1000, help="images at scale 1")
    ap.add_argument("--scales", default="1,10")
    ap.add_argument("--threads", default="1,2", help="thread counts, each for both sides")
    ap.add_argument("--repeat", type=int, default=3, help="rounds per scale (medians)")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if not (DATA / "flickr8k" / "images").is_dir():
        raise SystemExit(f"needs {DATA / 'flickr8k'} (set PLAIT_SHARED_DATA)")
    print(
        f"{'scale':>5} {'images':>7} {'what':<34} {'img/s':>8} {'ratio':>6} "
        f"{'range':>11} {'peak MiB':>9}"
    )
    threads = [int(t) for t in args.threads.split(",")]
    for scale in (int(s) for s in args.scales.split(",")):
        n = args.n * scale
        root = Path(tempfile.mkdtemp(prefix=f"plait-bench-{scale}x-"))
        try:
            folder, shards = build_inputs(n, root)
            src = {"folder": folder, "webdataset": shards}
            rates: dict[str, list[float]] = {}
            ratios: dict[str, list[float]] = {}
            mems: dict[str, float] = {}
            note = functools.partial(_note, rates, ratios, mems)

            for rnd in range(args.repeat):
                for workers in threads:
                    for fmt in ("folder", "webdataset"):
                        ref, mem = measure(BARE, str(src[fmt]), str(workers), "full")
                        note(f"bare {fmt} t={workers}", ref, mem, ref)
                        lite, mem = measure(BARE, str(src[fmt]), str(workers), "draft")
                        note(f"bare-turbo-1/8 {fmt} t={workers}", lite, mem, ref)
                        corpus = root / f"corpus-{fmt}-{workers}-{rnd}"
                        rate, mem = measure(PLAIT, str(src[fmt]), str(corpus), fmt, str(workers))
                        shutil.rmtree(corpus, ignore_errors=True)
                        note(f"plait {fmt} t={workers}", rate, mem, ref)
                        note(f"  vs bare-turbo-1/8 {fmt} t={workers}", rate, mem, lite)
            for what, rs in rates.items():
                q = ratios[what]
                span = f"{min(q):.2f}-{max(q):.2f}"
                print(
                    f"{scale:>4}x {n:>7} {what:<34} {statistics.median(rs):>8.1f} "
                    f"{statistics.median(q):>6.2f} {span:>11} {mems[what]:>9.0f}"
                )
            sys.stdout.flush()
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t:.0f}s")
