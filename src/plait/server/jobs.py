"""Export jobs, persisted: a server restart neither loses nor repeats one.

Each job is a JSON file under ``EXPORT_ROOT/.jobs/`` (replaced atomically) that
holds what to export (the request, with a query's hits already resolved to
ids), its status and its progress, so any worker process of a server answers for
any job, and a restarted server finds them all. Jobs run one at a time, oldest
first: each exports a whole subset and writes a ``runs`` row, and a queue keeps a
burst of requests from starving searches. The runner is whichever worker thread
holds an exclusive lock on ``.jobs/lock`` (across processes). A job it finds
``running`` had a runner that died (a kill, a restart): it runs again and
overwrites its own partial output. A ``done`` or ``failed`` job never runs again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from plait.errors import NotFoundError

JOBS = ".jobs"
FINISHED = ("done", "failed")


@dataclass
class Job:
    job_id: str
    corpus: str
    format: str
    dest: str  # relative to the export root
    spec: dict[str, Any] = field(default_factory=dict)  # export() keyword arguments
    status: str = "queued"
    done: int = 0
    total: int = 0
    report: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    attempts: int = 0
    created: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        """What the API shows (the spec can hold 100k ids: left out)."""
        out = asdict(self)
        out.pop("spec")
        return out


Work = Callable[[Job, Callable[..., None]], dict[str, Any]]


class ExportJobs:
    """The job files under ``root`` and, in this process, a runner thread."""

    def __init__(
        self,
        root: Path,
        work: Work,
        on_error: Callable[[Exception], dict[str, Any]],
        poll_s: float = 1.0,
    ) -> None:
        self.dir = Path(root) / JOBS
        self.work, self.on_error, self.poll_s = work, on_error, poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- files ---------------------------------------------------------------------------------
    def _path(self, job_id: str) -> Path:
        if not job_id.isalnum():
            raise NotFoundError(f"no export job {job_id!r}")
        return self.dir / f"{job_id}.json"

    def _save(self, job: Job) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self._path(job.job_id)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(asdict(job), default=str))
        os.replace(tmp, path)

    def _load(self, path: Path) -> Job | None:
        try:
            return Job(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            return None  # being replaced, or not a job file

    def get(self, job_id: str) -> Job:
        job = self._load(self._path(job_id))
        if job is None:
            raise NotFoundError(f"no export job {job_id!r}")
        return job

    def pending(self) -> list[Job]:
        """Jobs not finished, oldest first."""
        if not self.dir.is_dir():
            return []
        jobs = [self._load(p) for p in self.dir.glob("*.json")]
        return sorted(
            (j for j in jobs if j is not None and j.status not in FINISHED),
            key=lambda j: (j.created, j.job_id),
        )

    # -- submit and run ------------------------------------------------------------------------
    def submit(self, corpus: str, fmt: str, dest: str, spec: dict[str, Any]) -> Job:
        job = Job(uuid.uuid4().hex[:12], corpus, fmt, dest, spec)
        self._save(job)
        self.start()
        self._wake.set()
        return job

    def start(self) -> None:
        """Start this process's runner (it also takes up jobs a dead server left)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="plait-export", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            if not self.dir.is_dir():
                continue  # no job was ever submitted here: create nothing
            with contextlib.suppress(OSError), self._runner() as mine:
                while mine and not self._stop.is_set():
                    jobs = self.pending()
                    if not jobs:
                        break
                    self._run(jobs[0])

    @contextlib.contextmanager
    def _runner(self):  # noqa: ANN202
        """True while this thread is the one runner of the export root."""
        fd = os.open(self.dir / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # releases the lock

    def _run(self, job: Job) -> None:
        job.status, job.attempts = "running", job.attempts + 1
        self._save(job)
        last = [0.0]

        def progress(done: int, total: int | None, stage: str = "") -> None:
            job.done, job.total = done, total or 0
            now = time.monotonic()
            if now - last[0] > 0.5:  # other workers read it from the file
                last[0] = now
                self._save(job)

        try:
            job.report = self.work(job, progress)
            job.status = "done"
        except Exception as exc:  # reported to the caller through the job
            job.error = self.on_error(exc)
            job.status = "failed"
        self._save(job)

    def shutdown(self) -> None:
        self._stop.set()
        self._wake.set()
