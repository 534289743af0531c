"""``plait eval CORPUS --benchmark rag --questions Q.jsonl``: answer quality, grounding,
abstention and image placement.

A question line: ``{"question", "answers": [...], "sources": [...], "images": [...]}``;
``answers`` empty means the corpus cannot answer it (abstention is right). Gold sources
and images name sample ids, or their tail after the dataset (``sroie/img/000.jpg``).

Per question, then averaged over the questions where each applies:

- ``em``, ``f1``: of the answer's short form (the amount or date the question asks for,
  else its text: ``Answer.short``), SQuAD's normalisation (lower case, no punctuation,
  no articles), best over the gold answers;
- ``recall@k``, ``success@k``: gold sources among the first k retrieved (before rerank);
  ``kept_success@k``: a gold source among the (at most k) sources the generator got,
  after rerank over the deeper candidate list;
- ``cite_p``, ``cite_r``: cited sources that are gold; gold sources cited;
- ``abstain_acc``: right to abstain on unanswerable questions; ``false_abstain`` on the
  answerable ones;
- ``img_p``, ``img_r``, ``img_f1``: images placed in the answer against the gold images;
- ``order``: MRAMG-Bench's image ordering score, for every question with gold images
  (see :func:`order_score`).
"""

from __future__ import annotations

import json
import re
import string
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.errors import ConfigError


def normalise(text: str) -> str:
    text = text.lower()
    text = "".join(ch for ch in text if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact(pred: str, golds: list[str]) -> float:
    return float(any(normalise(pred) == normalise(g) for g in golds))


def token_f1(pred: str, golds: list[str]) -> float:
    best = 0.0
    p = normalise(pred).split()
    for g in golds:
        t = normalise(g).split()
        common = sum((Counter(p) & Counter(t)).values())
        if common:
            prec, rec = common / len(p), common / len(t)
            best = max(best, 2 * prec * rec / (prec + rec))
    return best


def same(sample_id: str, gold: str) -> bool:
    return sample_id == gold or sample_id.endswith("/" + gold)


def hits(ids: list[str], golds: list[str]) -> int:
    return sum(1 for g in golds if any(same(i, g) for i in ids))


def weighted_edit_distance(
    gold: list[str], pred: list[str], insert: float, delete: float, substitute: float
) -> float:
    """The cheapest way to turn ``pred`` into ``gold``: ``insert`` a gold item ``pred``
    lacks, ``delete`` an item ``pred`` has too many, ``substitute`` one for another."""
    row = [j * delete for j in range(len(pred) + 1)]
    for i, g in enumerate(gold, 1):
        diag, row[0] = row[0], i * insert
        for j, p in enumerate(pred, 1):
            diag, row[j] = (
                row[j],
                min(row[j] + insert, row[j - 1] + delete, diag + (0 if g == p else substitute)),
            )
    return row[-1]


# MRAMG-Bench's costs: a missing gold image costs most, an extra image less, an image in
# the wrong place least; the normalised distance is capped at P.
P_INSERT, P_DELETE, P_SUBSTITUTE, P_CAP = 3.0, 2.0, 1.0, 3.0


def order_score(pred: list[str], gold: list[str]) -> float:
    """MRAMG-Bench's image ordering score of the placed images ``pred`` against the gold
    sequence: recall x (1 - min(d / max(|gold|, |pred|), P) / P), d the weighted edit
    distance above (Yu et al. 2025, "MRAMG-Bench", statistical metrics). 1 when both are
    empty, 0 when the answer places no gold image. Placed ids match gold ids by
    :func:`same` (a sample id ends with the gold's dataset path)."""
    if not gold:
        return 1.0 if not pred else 0.0
    mapped = [next((g for g in gold if same(p, g)), p) for p in pred]
    recall = len(set(gold) & set(mapped)) / len(gold)
    if recall == 0:
        return 0.0
    d = weighted_edit_distance(gold, mapped, P_INSERT, P_DELETE, P_SUBSTITUTE)
    penalty = min(d / max(len(gold), len(mapped)), P_CAP) / P_CAP
    return max(0.0, recall * (1.0 - penalty))


@dataclass
class RagResult:
    name: str
    generator: str
    means: dict[str, float]
    counts: dict[str, int]
    per_question: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def load_questions(path: str | Path) -> list[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"question file {p} does not exist")
    out = []
    for i, line in enumerate(p.read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except ValueError as exc:
            raise ConfigError(f"{p}:{i}: not JSON ({exc})") from exc
        if not isinstance(q, dict) or not q.get("question"):
            raise ConfigError(f"{p}:{i}: a question line needs a 'question'")
        out.append(q)
    return out


def score(q: dict[str, Any], answer: Any, retrieved: list[str], k: int) -> dict[str, float]:
    golds = [str(a) for a in q.get("answers") or []]
    sources = list(q.get("sources") or [])
    images = list(q.get("images") or [])
    m: dict[str, float] = {}
    if golds:
        m["em"] = 0.0 if answer.abstained else exact(answer.short, golds)
        m["f1"] = 0.0 if answer.abstained else token_f1(answer.short, golds)
        m["false_abstain"] = float(answer.abstained)
    elif not images:
        m["abstain_acc"] = float(answer.abstained)
    if sources:
        m[f"recall@{k}"] = hits(retrieved[:k], sources) / len(sources)
        m[f"success@{k}"] = float(hits(retrieved[:k], sources) > 0)
        given = [c.sample_id for c in answer.sources]
        m[f"kept_success@{k}"] = float(hits(given, sources) > 0)
        cited = answer.cited_ids
        if cited:
            m["cite_p"] = sum(1 for c in cited if any(same(c, g) for g in sources)) / len(cited)
        m["cite_r"] = hits(cited, sources) / len(sources)
    if images:
        placed = answer.images
        good = hits(placed, images)
        p = good / len(placed) if placed else 0.0
        r = good / len(images)
        m.update(img_p=p, img_r=r, img_f1=2 * p * r / (p + r) if p + r else 0.0)
        m["order"] = order_score(placed, images)
    return m


def evaluate(
    corpus: Any,
    questions_path: str | Path,
    generator: str = "extractive",
    k: int = 5,
    limit: int | None = None,
    **options: Any,
) -> RagResult:
    from plait.answer import Asker, AskOptions
    from plait.answer.retrieve import Retrieval

    qs = load_questions(questions_path)[:limit]
    asker = Asker(corpus, generator)
    t0 = time.perf_counter()
    rows = []
    for q in qs:
        opts = AskOptions(k=k, **options)
        answer = asker.ask(q["question"], opts)
        retrieved = [
            c.sample_id
            for c in asker.retriever(q["question"], Retrieval(depth=k, where=opts.where))
        ]
        m = score(q, answer, retrieved, k)
        rows.append({"question": q["question"], "answer": answer.markdown(), **m})
    keys = sorted({k2 for r in rows for k2 in r if k2 not in ("question", "answer")})
    means = {
        key: sum(r[key] for r in rows if key in r) / max(1, sum(1 for r in rows if key in r))
        for key in keys
    }
    counts = {key: sum(1 for r in rows if key in r) for key in keys}
    name = Path(questions_path).stem
    return RagResult(name, asker.generator.name, means, counts, rows, time.perf_counter() - t0)
