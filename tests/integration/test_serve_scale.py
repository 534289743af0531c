"""``plait serve`` as processes: several workers on one port, export jobs that survive kills.

Each server is a real ``plait serve`` process on 127.0.0.1, killed with SIGKILL
(its whole process group, workers included) and started again on the same export
root; the jobs live on disk, so the restarted server finishes what the killed one
left and runs nothing twice.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")

from plait import Corpus  # noqa: E402

from ..synth import synth_corpus  # noqa: E402

pytestmark = pytest.mark.slow
KEY = "scale-key"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, corpus: Path, exports: Path, workers: int = 1) -> None:
        port = _port()
        self.url = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "plait", "serve", f"c={corpus}", "--port", str(port)]
        cmd += ["--export-root", str(exports), "--api-key", KEY, "--workers", str(workers)]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + 120
        while True:
            assert self.proc.poll() is None, self.proc.stderr.read().decode()[-3000:]
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)

    def children(self) -> set[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return {int(p) for p in path.read_text().split()} if path.exists() else set()

    def export(self, dest: str, **body: object) -> str:
        r = httpx.post(
            self.url + "/api/corpora/c/export",
            json={"format": "parquet", "dest": dest, **body},
            headers={"X-API-Key": KEY},
            timeout=30,
        )
        assert r.status_code == 202, r.text
        return r.json()["job_id"]

    def job(self, job_id: str) -> dict:
        r = httpx.get(f"{self.url}/api/corpora/c/exports/{job_id}", timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def wait(self, job_id: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while (job := self.job(job_id))["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        return job

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)  # the server and its workers, as -9 -PGID
        self.proc.wait()


def _exports_ok(corpus: Corpus, dest: str) -> int:
    rows = corpus.read("runs").to_pylist()
    return sum(
        1
        for r in rows
        if r["command"] == "export"
        and r["status"] == "ok"
        and json.loads(r["params"] or "{}").get("dest", "").endswith("/" + dest)
    )


def test_workers_share_the_port_and_the_export_jobs(tmp_path: Path) -> None:
    corpus = synth_corpus(tmp_path / "c", 120)
    srv = Server(corpus.path, tmp_path / "exports", workers=2)
    try:
        assert len(srv.children()) >= 2  # two worker processes behind one port
        ids = corpus.read("samples", columns=["id"]).column("id").to_pylist()[:30]

        def page(sid: str) -> dict:
            r = httpx.get(f"{srv.url}/api/corpora/c/samples/{sid}", timeout=60)
            assert r.status_code == 200, r.text
            return r.json()

        with ThreadPoolExecutor(12) as pool:
            pages = list(pool.map(page, ids * 2))
        assert [p["id"] for p in pages] == ids * 2
        assert not (tmp_path / "exports").exists()  # a server writes nothing until asked
        job = srv.export("all")
        with ThreadPoolExecutor(4) as pool:  # polls land on either worker: both know the job
            polls = list(pool.map(lambda _: srv.job(job)["job_id"], range(16)))
        assert set(polls) == {job}
        done = srv.wait(job)
        assert done["status"] == "done" and done["report"]["selected"] == corpus.count("samples")
    finally:
        srv.kill()


def test_export_jobs_survive_kills_and_run_once(tmp_path: Path) -> None:
    corpus = synth_corpus(tmp_path / "c", 300)
    exports = tmp_path / "exports"
    n = corpus.count("samples")

    # 1. queued when the server dies: held back by the runner lock, then killed
    (exports / ".jobs").mkdir(parents=True)
    fd = os.open(exports / ".jobs" / "lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    a = Server(corpus.path, exports)
    queued = a.export("queued")
    time.sleep(1.5)
    assert a.job(queued)["status"] == "queued"
    a.kill()
    os.close(fd)

    # 2. running when the server dies (or done already: either way it must end done once)
    b = Server(corpus.path, exports)
    assert b.wait(queued)["status"] == "done"
    killed = b.export("killed", shard_size=5)
    while (state := b.job(killed))["status"] == "queued":
        time.sleep(0.02)
    b.kill()
    state = json.loads((exports / ".jobs" / f"{killed}.json").read_text())  # as the kill left it
    print(f"\nexport job killed while {state['status']} ({state['done']} of {state['total']})")

    c = Server(corpus.path, exports)
    try:
        again = c.wait(killed)
        assert again["status"] == "done" and again["report"]["selected"] == n
        assert again["attempts"] == (2 if state["status"] == "running" else 1)
        first = c.job(queued)
        assert first["status"] == "done" and first["attempts"] == 1
        time.sleep(2)  # a restarted server has had time to (wrongly) run finished jobs again
        assert c.job(queued)["attempts"] == 1 and c.job(killed)["attempts"] == again["attempts"]
    finally:
        c.kill()
    assert _exports_ok(corpus, "queued") == 1 and _exports_ok(corpus, "killed") == 1
    import pyarrow.parquet as pq

    ids = [
        i
        for f in sorted((exports / "killed").glob("*.parquet"))
        for i in pq.read_table(f).column("id").to_pylist()
    ]
    assert sorted(ids) == sorted(corpus.ids())  # every sample once, nothing left over
