"""What an evaluation leaves behind: a table, a JSON file, a recall-at-k plot, run files.

Column labels follow the metric names of :mod:`plait.eval.metrics`: ``R@k`` is
TREC recall (relevant retrieved in the top k / all relevant), ``S@k`` is
success (a hit in the top k: what image-text papers and M-BEIR call R@k).
For a caption's single image they are equal; for an image's five captions
they are not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plait.eval.benchmark import PAGES

# label, metric
COLUMNS = [
    ("R@1", "recall@1"), ("R@5", "recall@5"), ("R@10", "recall@10"),
    ("S@1", "success@1"), ("S@5", "success@5"), ("S@10", "success@10"),
    ("MRR", "mrr"), ("nDCG@10", "ndcg@10"), ("MAP", "map"),
]  # fmt: skip
PAGE_COLUMNS = [
    ("nDCG@5", "ndcg@5"),
    ("nDCG@10", "ndcg@10"),
    ("MRR", "mrr"),
    ("R@1", "recall@1"),
    ("R@5", "recall@5"),
    ("R@10", "recall@10"),
    ("MAP", "map"),
]


def columns_for(kind: str | None) -> list[tuple[str, str]]:
    return PAGE_COLUMNS if kind == PAGES else COLUMNS


def rows(
    results: dict[str, dict[str, float]],
    num: dict[str, int],
    kind: str | None = None,
    columns: list[tuple[str, str]] | None = None,
) -> list[list[str]]:
    """Table rows, one per metric (percentages), one column per task; first row: query counts."""
    out = [["queries", *(f"{num.get(task, 0):,}" for task in results)]]
    for label, metric in columns or columns_for(kind):
        out.append(
            [label, *(f"{100 * m[metric]:.2f}" if metric in m else "" for m in results.values())]
        )
    return out


def table(
    title: str,
    results: dict[str, dict[str, float]],
    num: dict[str, int],
    kind: str | None = None,
    columns: list[tuple[str, str]] | None = None,
) -> Any:
    """A rich table of the means: metrics down, tasks across (fits any terminal width)."""
    from rich import box
    from rich.table import Table

    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    t.add_column("metric")
    for task in results:
        t.add_column(task, justify="right")
    for row in rows(results, num, kind, columns):
        t.add_row(*row)
    return t


def write_json(path: str | Path, obj: dict[str, Any]) -> Path:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(
        json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    return p


def plot_curves(
    path: str | Path, curves: dict[str, dict[str, dict[int, float]]], title: str
) -> Path:
    """Recall and success against k, one line per task (matplotlib, Agg: no display needed)."""
    from plait._deps import require

    require("matplotlib", "eval", "the recall@k plot")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    try:
        for task, curve in curves.items():
            for metric, style in (("recall", "-"), ("success", "--")):
                pts = sorted((int(k), v) for k, v in curve.get(metric, {}).items())
                if pts:
                    ax.plot(
                        [k for k, _ in pts],
                        [100 * v for _, v in pts],
                        style,
                        marker="o",
                        ms=3,
                        label=f"{task} {'R' if metric == 'recall' else 'S'}@k",
                    )
        ax.set_xscale("log")
        ax.set_xlabel("k")
        ax.set_ylabel("%")
        ax.set_ylim(0, 100)
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(p)
    finally:
        plt.close(fig)
    return p
