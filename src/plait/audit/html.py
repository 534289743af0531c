"""Render an :class:`~plait.audit.AuditReport` as one self-contained HTML page.

Plots are drawn with matplotlib's Agg backend (no display, no global style
change) and embedded as base64 PNG, so the page can be mailed or archived as
one file. Every number also appears in a table cell with ``data-section`` and
``data-key`` attributes, which is what tests and scripts read.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

from plait._deps import require
from plait.audit import AuditReport

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.5rem} h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0} td,th{padding:.2rem .7rem;border-bottom:1px solid #eee}
td.n{text-align:right;font-variant-numeric:tabular-nums} .grid{display:flex;gap:2rem;flex-wrap:wrap}
.summary span{display:inline-block;margin-right:2rem;font-size:1.1rem}
"""


def _plot(counts: dict[str, int], title: str, top: int = 20) -> str:
    """A horizontal bar chart of the ``top`` largest counts, as a data: URI."""
    require("matplotlib", "eval", "audit plots")
    from matplotlib.figure import Figure  # Figure + Agg canvas: no pyplot global state

    items = list(counts.items())[:top]
    fig = Figure(figsize=(6, 0.35 * max(3, len(items)) + 0.8), dpi=90)
    ax = fig.add_subplot()
    labels = [str(k)[:40] for k, _ in items][::-1]
    ax.barh(labels, [v for _, v in items][::-1], color="#4c72b0")
    ax.set_title(title)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _table(section: str, counts: dict[str, Any], key: str) -> str:
    rows = "".join(
        f'<tr><td>{html.escape(str(k))}</td><td class="n" data-section="{section}" '
        f'data-key="{html.escape(str(k), quote=True)}">{v}</td></tr>'
        for k, v in counts.items()
    )
    return f'<table id="{section}"><tr><th>{key}</th><th>count</th></tr>{rows}</table>'


def _section(title: str, section: str, counts: dict[str, Any], key: str) -> str:
    if not counts:
        return f"<h2>{title}</h2><p>none</p>"
    img = f'<img alt="{title}" src="{_plot(counts, title)}">'
    return f'<h2>{title}</h2><div class="grid">{_table(section, counts, key)}{img}</div>'


def render_html(report: AuditReport) -> str:
    flat_drops = {
        f"{op}: {reason}": n
        for op, reasons in report.rejected_by_op.items()
        for reason, n in reasons.items()
    }
    d = report.duplicates
    summary = "".join(
        f'<span>{label}: <b data-section="summary" data-key="{key}">{value}</b></span>'
        for label, key, value in (
            ("samples", "samples", report.samples),
            ("rejected", "rejected", report.rejected),
            ("quarantined", "quarantined", report.quarantined),
            ("duplicate clusters", "clusters", d.clusters),
            ("duplicates dropped", "duplicates", d.duplicates),
        )
    )
    runs = "".join(
        f"<tr><td>{html.escape(r['run_id'])}</td><td>{r['command']}</td><td>{r['status']}</td>"
        f"<td>{r['started_at']}</td><td class='n'>{r['seconds']}</td></tr>"
        for r in report.runs
    )
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>plait audit: "
        f"{html.escape(report.corpus)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Provenance audit of {html.escape(report.corpus)}</h1>",
        f'<p class="summary">{summary}</p>',
        _section("Sources", "sources", report.by_source, "dataset"),
        _section("Licences", "licences", report.by_licence, "licence"),
        _section("Kinds", "kinds", report.by_kind, "kind"),
        _section("Languages", "languages", report.by_language, "language"),
        _section("Drop reasons per operator", "drops", flat_drops, "operator: reason"),
        _section("Rejected by source", "rejected_sources", report.rejected_by_source, "dataset"),
        _section(
            "Duplicate cluster sizes",
            "cluster_sizes",
            {str(k): v for k, v in d.sizes.items()},
            "size (kept + duplicates)",
        ),
        _section("Largest duplicate clusters", "largest_clusters", dict(d.largest), "kept sample"),
        _section("Quarantine reasons", "quarantine", report.quarantine_by_reason, "reason"),
        "<h2>Runs</h2><table id='runs'><tr><th>run</th><th>command</th><th>status</th>"
        f"<th>started</th><th>seconds</th></tr>{runs}</table>",
        "</body></html>",
    ]
    return "\n".join(parts)
