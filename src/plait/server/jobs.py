"""Export jobs: one worker thread runs them in order; callers poll their progress.

Exports run one at a time because each writes a ``runs`` row and reads the
whole subset; a queue keeps a burst of requests from starving searches.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from plait.errors import NotFoundError


@dataclass
class Job:
    job_id: str
    format: str
    dest: str
    status: str = "queued"
    done: int = 0
    total: int = 0
    report: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    finished: threading.Event = field(default_factory=threading.Event)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "finished"}


class ExportJobs:
    def __init__(self, keep: int = 200) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="plait-export")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def submit(
        self,
        fmt: str,
        dest: str,
        work: Callable[[Callable[[int, int], None]], dict[str, Any]],
        on_error: Callable[[Exception], dict[str, Any]],
    ) -> Job:
        job = Job(uuid.uuid4().hex[:12], fmt, dest)
        with self._lock:
            self._jobs[job.job_id] = job
            while len(self._jobs) > self._keep:
                self._jobs.pop(next(iter(self._jobs)))

        def progress(done: int, total: int | None, stage: str = "") -> None:
            job.done, job.total = done, total or 0

        def run() -> None:
            job.status = "running"
            try:
                job.report = work(progress)
                job.status = "done"
            except Exception as exc:  # reported to the caller through the job
                job.error = on_error(exc)
                job.status = "failed"
            finally:
                job.finished.set()

        self._pool.submit(run)
        return job

    def get(self, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no export job {job_id!r}")
        return job

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
