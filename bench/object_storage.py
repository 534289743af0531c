"""The demo flow on S3-compatible object storage beside the same flow on a local disk.

    python bench/object_storage.py                  # starts moto's server on 127.0.0.1
    python bench/object_storage.py --endpoint http://127.0.0.1:9000   # e.g. a MinIO

For each of a local folder and ``s3://BUCKET/demo`` this runs ``plait demo``'s build
(ingest, curate, align, embed, index, search: :func:`plait.demo.build`, fresh) in a
fresh process, then ``plait serve`` on the corpus, and times ``--queries`` text
searches through HTTP one after another. It prints the wall time of every step on
both, and their ratio. moto keeps objects in memory in its own process: a real
object store adds network time that this does not show.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CODE = r"""
import json, sys
from plait.demo import build
report = build(sys.argv[1], log=lambda m: None, fresh=True)
print(json.dumps(report.seconds))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_moto() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"http://127.0.0.1:{port}"
        time.sleep(0.1)
    raise SystemExit("moto server did not start")


def serve_and_search(corpus: str, queries: int) -> tuple[float, float]:
    """(seconds until the server answers, mean seconds per search)."""
    import httpx

    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "plait", "serve", f"demo={corpus}", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if proc.poll() is not None:
                    raise SystemExit(proc.stderr.read().decode()[-2000:]) from None
                time.sleep(0.1)
        words = ["a red apple", "a cat", "a musical instrument", "how to install a package"]
        first = None
        t1 = time.perf_counter()
        for i in range(queries):
            r = httpx.post(
                url + "/api/corpora/demo/search",
                json={"text": f"{words[i % 4]} {i}", "k": 10, "hybrid": True},
                timeout=120,
            )
            r.raise_for_status()
            if first is None:
                first = time.perf_counter() - t0
        return first or float("nan"), (time.perf_counter() - t1) / max(1, queries)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--endpoint", default=None, help="an S3-compatible endpoint (else moto)")
    ap.add_argument("--bucket", default="plait-bench")
    ap.add_argument("--queries", type=int, default=20)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    moto = None
    if args.endpoint is None:
        moto, args.endpoint = start_moto()
        os.environ.update(
            AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION="us-east-1"
        )
    os.environ["AWS_ENDPOINT_URL"] = args.endpoint
    os.environ.setdefault("AWS_ALLOW_HTTP", "true")
    from pyarrow import fs

    # pyarrow's S3FileSystem does not read AWS_ENDPOINT_URL: pass the endpoint itself.
    s3 = fs.S3FileSystem(
        allow_bucket_creation=True,
        endpoint_override=args.endpoint,
        scheme="http" if args.endpoint.startswith("http://") else "https",
    )
    s3.create_dir(args.bucket)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="plait-bench-s3-"))
    work.mkdir(parents=True, exist_ok=True)
    rows: dict[str, dict[str, float]] = {}
    try:
        for where, corpus in (("local", str(work / "demo")), ("s3", f"s3://{args.bucket}/demo")):
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", CODE, corpus], cwd=work, capture_output=True, text=True
            )
            if out.returncode != 0:
                raise SystemExit(out.stderr[-3000:])
            steps = json.loads(out.stdout.strip().splitlines()[-1])
            steps["build (process)"] = time.perf_counter() - t0
            steps["serve: first answer"], steps["serve: per search"] = serve_and_search(
                corpus, args.queries
            )
            rows[where] = steps
            print(where, json.dumps({k: round(v, 2) for k, v in steps.items()}), flush=True)
    finally:
        if moto is not None:
            moto.terminate()
            moto.wait(timeout=30)
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nplait demo flow, local disk vs S3 ({args.endpoint}), wall seconds")
    print(f"{'step':<22}{'local':>9}{'s3':>9}{'s3/local':>10}")
    for step in rows["local"]:
        a, b = rows["local"][step], rows["s3"].get(step, float("nan"))
        print(f"{step:<22}{a:>9.2f}{b:>9.2f}{b / a if a else float('nan'):>10.2f}")


if __name__ == "__main__":
    main()
