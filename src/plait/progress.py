"""Progress bars with rate and ETA for long runs (on stderr, never in library output)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol


def new_progress(unit: str = "", counted: bool = True) -> Any:
    """A rich ``Progress`` on stderr: description, bar, done/total (or a running count
    when ``counted`` is False), percent, rate over the run, elapsed and ETA. Tasks are
    added by the caller; one per stage of a multi-stage command."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    suffix = f" {unit}/s" if unit else "/s"

    class Rate(TextColumn):
        def __init__(self) -> None:
            super().__init__("")

        def render(self, task: Any) -> Any:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.1f}{suffix}" if speed else "-" + suffix, style="cyan")

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn() if counted else TextColumn("{task.completed:,} " + unit),
        TaskProgressColumn(),
        Rate(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )


class Progress(Protocol):
    """The one shape of every progress callback in plait: ``done`` of ``total`` units
    (None: not known yet) of a ``stage`` ("" for a one-stage run). Counts are absolute,
    so a callback may drop calls; library functions call it, the CLI draws it
    (:func:`bar`), the HTTP server stores it for polling."""

    def __call__(self, done: int, total: int | None, stage: str = "") -> None: ...


def silent(done: int, total: int | None, stage: str = "") -> None:
    """A :class:`Progress` that reports nowhere."""


def counter(
    progress: Progress | None, total: int | None, stage: str = ""
) -> Callable[[int], None] | None:
    """An ``advance(n)`` for code that counts in steps (executors, the ingest loop),
    reporting absolute counts to ``progress``; None when there is nothing to report to."""
    if progress is None:
        return None
    done = 0
    progress(0, total, stage)

    def advance(n: int) -> None:
        nonlocal done
        done += n
        progress(done, total, stage)

    return advance


@contextmanager
def bar(description: str, unit: str = "items") -> Iterator[Progress]:
    """Yields a :class:`Progress` that draws a bar on stderr per stage (the stage's name,
    else ``description``) with done/total, rate and ETA."""
    with new_progress(unit) as prog:
        tasks: dict[str, Any] = {}

        def update(done: int, total: int | None, stage: str = "") -> None:
            name = stage or description
            if name not in tasks:
                tasks[name] = prog.add_task(name, total=total)
            prog.update(tasks[name], completed=done, total=total)

        yield update
