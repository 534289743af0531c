"""Corpus counts for the dashboard: by kind, source, licence and language, and the
reasons samples were quarantined or dropped."""

from __future__ import annotations

from collections import Counter
from typing import Any

from plait.io.corpus import Corpus
from plait.langs import lang_counts


def _counts(values: list[Any]) -> dict[str, int]:
    c = Counter("(none)" if v is None else str(v) for v in values)
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def corpus_stats(corpus: Corpus) -> dict[str, Any]:
    inf = corpus.info(last_runs=0)
    by_lang: dict[str, int] = {}
    samples = sum(inf.samples_by_kind.values())
    if corpus.has("samples"):  # samples per language, as the language filter selects them
        by_lang = lang_counts(corpus.read("samples", columns=["texts", "langs", "stats"]))
    rejected_by_op: dict[str, int] = {}
    rejected = 0
    if corpus.has("rejected"):
        ops = corpus.read("rejected", columns=["op"]).column("op").to_pylist()
        rejected = len(ops)
        rejected_by_op = _counts(ops)
    return {
        "samples": samples,
        "by_kind": inf.samples_by_kind,
        "by_source": inf.samples_by_dataset,
        "by_licence": inf.samples_by_licence,
        "by_lang": by_lang,
        "media": inf.media,
        "media_bytes": inf.media_bytes,
        "quarantine_by_reason": inf.quarantine_by_reason,
        "rejected": rejected,
        "rejected_by_reason": inf.rejected_by_reason,
        "rejected_by_op": rejected_by_op,
        "embeddings": inf.embeddings,
    }
