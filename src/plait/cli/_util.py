"""Shared helpers for CLI modules: console, tables, JSON output."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
err_console = Console(stderr=True)


def print_json(obj: Any) -> None:
    console.print_json(json.dumps(obj, default=str, ensure_ascii=False))


def counts_table(
    title: str, counts: dict[str, Any], key: str = "name", value: str = "count"
) -> Table:
    t = Table(title=title, title_justify="left")
    t.add_column(key)
    t.add_column(value, justify="right")
    for k, v in counts.items():
        t.add_row(str(k), f"{v:,}" if isinstance(v, int) else str(v))
    return t


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{n} B"
