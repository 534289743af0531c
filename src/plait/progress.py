"""Progress bars with rate and ETA for long runs (on stderr, never in library output)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


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


@contextmanager
def progress_bar(
    description: str, total: int | None = None, unit: str = "items"
) -> Iterator[Callable[[int], None]]:
    """Yields ``advance(n)``; shows done/total, rate and ETA when the total is known."""
    with new_progress(unit, counted=bool(total)) as prog:
        task = prog.add_task(description, total=total)

        def advance(n: int) -> None:
            prog.advance(task, n)

        yield advance
