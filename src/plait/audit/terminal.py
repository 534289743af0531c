"""Render an :class:`~plait.audit.AuditReport` as rich tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from plait.audit import AuditReport


def _table(title: str, counts: dict[str, int], key: str, total: int | None = None) -> Table:
    t = Table(title=title, title_justify="left")
    t.add_column(key)
    t.add_column("count", justify="right")
    if total:
        t.add_column("share", justify="right")
    for k, v in counts.items():
        row = [str(k), f"{v:,}"]
        if total:
            row.append(f"{v / total:.1%}")
        t.add_row(*row)
    return t


def print_report(report: AuditReport, console: Console) -> None:
    console.print(
        f"[bold]{report.corpus}[/]: {report.samples:,} samples kept, "
        f"{report.rejected:,} rejected, {report.quarantined:,} quarantined"
    )
    if report.orphans:
        console.print(
            f"[bold red]{report.orphans:,} pages or clips kept without their parent[/] "
            "(curated before documents and pages were judged together)"
        )
    n = report.samples
    console.print(_table("sources", report.by_source, "dataset", n))
    console.print(_table("licences", report.by_licence, "licence", n))
    console.print(_table("kinds", report.by_kind, "kind", n))
    console.print(_table("languages", report.by_language, "language", n))
    if report.rejected_by_op:
        t = Table(title="drop reasons per operator", title_justify="left")
        for col in ("operator", "reason", "count"):
            t.add_column(col, justify="right" if col == "count" else "left")
        for op, reasons in report.rejected_by_op.items():
            for reason, v in reasons.items():
                t.add_row(op, reason, f"{v:,}")
        console.print(t)
        console.print(_table("rejected by source", report.rejected_by_source, "dataset"))
    d = report.duplicates
    if d.clusters:
        console.print(
            f"[bold]duplicate clusters[/]: {d.clusters:,} kept samples with "
            f"{d.duplicates:,} dropped duplicates"
        )
        console.print(_table("cluster sizes", {str(k): v for k, v in d.sizes.items()}, "size"))
        console.print(_table("largest clusters", dict(d.largest), "kept sample"))
    if report.quarantine_by_reason:
        console.print(_table("quarantine reasons", report.quarantine_by_reason, "reason"))
