"""``plait audit``: a provenance report of a corpus.

Sources, licences, kinds and languages of the samples kept; drop reasons per
operator; duplicate clusters (read from the deduplicators' reasons, which name
the sample kept); quarantine reasons. :func:`audit` computes the numbers once;
:mod:`plait.audit.terminal` and :mod:`plait.audit.html` only render them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from plait.executors.base import reason_code
from plait.io.corpus import Corpus
from plait.langs import lang_counts

_DUP_OF = re.compile(r"dup\w*?(?:[_\s]of)?\s*[:\s]\s*['\"]?([^\s'\",;()]+)", re.I)


@dataclass
class DuplicateClusters:
    clusters: int = 0  # kept samples that have at least one dropped duplicate
    duplicates: int = 0  # dropped samples that name the one they duplicate
    sizes: dict[int, int] = field(default_factory=dict)  # cluster size (kept + dups) -> count
    largest: list[tuple[str, int]] = field(default_factory=list)  # (kept id, size)
    by_op: dict[str, int] = field(default_factory=dict)


@dataclass
class AuditReport:
    corpus: str
    samples: int
    rejected: int
    quarantined: int
    by_source: dict[str, int]
    by_licence: dict[str, int]
    by_kind: dict[str, int]
    by_language: dict[str, int]  # samples per language (plait.langs: a sample may be in several)
    rejected_by_op: dict[str, dict[str, int]]
    rejected_by_source: dict[str, int]
    quarantine_by_reason: dict[str, int]
    duplicates: DuplicateClusters
    runs: list[dict[str, Any]]
    orphans: int = 0  # kept children (pages, clips) whose parent is not kept

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["duplicates"] = dict(self.duplicates.__dict__)
        return d


def _counts(values: Any) -> dict[str, int]:
    c = Counter("(none)" if v is None else str(v) for v in values)
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def audit(corpus: Corpus, largest: int = 10) -> AuditReport:
    """Provenance of a corpus: samples by source, licence, language and kind, drops by
    operator and reason, quarantine by reason, and the ``largest`` duplicate clusters."""
    table = corpus.read(
        "samples", columns=["id", "parent", "kind", "source", "texts", "langs", "stats"]
    )
    ids = set(table.column("id").to_pylist())
    orphans = sum(1 for p in table.column("parent").to_pylist() if p is not None and p not in ids)
    s = table.select(["kind", "source"]).to_pylist()
    r = corpus.read("rejected", columns=["id", "source", "op", "reason"]).to_pylist()
    q = corpus.read("quarantine", columns=["reason"]).column("reason").to_pylist()
    runs = sorted(corpus.read("runs").to_pylist(), key=lambda x: x["started_at"])
    by_op: dict[str, Counter] = {}
    for row in r:
        by_op.setdefault(row["op"], Counter())[reason_code(row["reason"])] += 1
    return AuditReport(
        corpus=str(corpus.path),
        samples=len(s),
        rejected=len(r),
        quarantined=len(q),
        by_source=_counts((x["source"] or {}).get("dataset") for x in s),
        by_licence=_counts((x["source"] or {}).get("licence") for x in s),
        by_kind=_counts(x["kind"] for x in s),
        by_language=lang_counts(table),
        rejected_by_op={op: dict(c.most_common()) for op, c in sorted(by_op.items())},
        rejected_by_source=_counts((x["source"] or {}).get("dataset") for x in r),
        quarantine_by_reason=_counts(q),
        duplicates=clusters(r, largest),
        orphans=orphans,
        runs=[
            {
                "run_id": x["run_id"],
                "command": x["command"],
                "status": x["status"],
                "started_at": str(x["started_at"])[:19],
                "seconds": round(x["seconds"] or 0, 2),
            }
            for x in runs
        ],
    )


def clusters(rejected: list[dict[str, Any]], largest: int = 10) -> DuplicateClusters:
    """Group dropped duplicates by the sample their reason names."""
    members: dict[str, int] = Counter()
    by_op: Counter = Counter()
    for row in rejected:
        m = _DUP_OF.search(row["reason"] or "")
        if m:
            members[m.group(1)] += 1
            by_op[row["op"]] += 1
    sizes = Counter(n + 1 for n in members.values())
    top = sorted(members.items(), key=lambda kv: (-kv[1], kv[0]))[:largest]
    return DuplicateClusters(
        len(members),
        sum(members.values()),
        dict(sorted(sizes.items())),
        [(k, n + 1) for k, n in top],
        dict(by_op),
    )
