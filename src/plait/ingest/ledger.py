"""What a corpus already holds when an ingest run starts, and what the run settles.

- :class:`Known`: the ids of a dataset already in the corpus, kept (``samples``) or
  dropped by curation (``rejected``: a rerun must not bring a dropped sample back),
  and which stored samples are incomplete (``stats["missing_images"]``), so a
  rerun that can read their images completes them.
- :class:`QuarantineLedger`: the quarantine rows written before this run. A row
  stands for a failure that is still current; when this run reads the input it
  stands for, the row is stale and goes. An input is identified by the sample the
  failed image belonged to (a rerun retries every image of that sample and records
  what still fails), or by its location when a sample read from there is complete.
"""

from __future__ import annotations

from typing import Any

from plait import schema
from plait.io.corpus import Corpus, sql_str

MISSING = "missing_images"


class Known:
    """Sample ids per dataset (loaded on first use): present, dropped, incomplete."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self._ids: dict[str, set[str]] = {}
        self.incomplete: dict[str, int] = {}  # kept id -> images missing when stored
        self.dropped_incomplete: set[str] = set()  # in rejected, stored incomplete

    def _load(self, dataset: str) -> set[str]:
        if dataset not in self._ids:
            # every stored id the run could make for this dataset (DATASET/KEY), so a batch
            # Known cleared has no stored id (plait.io.keyed appends it without a join)
            where = (
                f"(source.dataset = {sql_str(dataset)}"
                f" OR starts_with(id, {sql_str(dataset + '/')}))"
            )
            ids = set()
            for table in ("samples", "rejected"):
                ids |= self.corpus.ids(table, where=where)
                short = self.corpus.read(
                    table, columns=["id", "stats"], where=f"{where} AND stats LIKE '%{MISSING}%'"
                )
                for sid, stats in zip(
                    short.column("id").to_pylist(), short.column("stats").to_pylist(), strict=True
                ):
                    n = schema.loads(stats).get(MISSING)
                    if not (isinstance(n, int) and n > 0):
                        continue
                    if table == "samples":
                        self.incomplete[sid] = n
                    else:
                        self.dropped_incomplete.add(sid)
            self._ids[dataset] = ids
        return self._ids[dataset]

    def __contains__(self, key: tuple[str, str]) -> bool:
        sid, dataset = key
        return sid in self._load(dataset)

    def add(self, sid: str, dataset: str) -> None:
        self._load(dataset).add(sid)

    def settled(self, dataset: str) -> frozenset[str]:
        """Ids a run will skip without reading their images: stored complete, or dropped."""
        return frozenset(self._load(dataset) - self.incomplete.keys())


class QuarantineLedger:
    """Quarantine rows from earlier runs, by sample and by location; collects the stale."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        corpus.ensure_columns("quarantine")
        rows = corpus.read("quarantine", columns=["id", "location", "sample_id"]).to_pylist()
        self.ids = {r["id"] for r in rows}
        self._by_sample: dict[str, set[str]] = {}
        self._by_location: dict[str, set[str]] = {}
        for r in rows:
            if r["sample_id"]:
                self._by_sample.setdefault(r["sample_id"], set()).add(r["id"])
            if r["location"]:
                self._by_location.setdefault(r["location"], set()).add(r["id"])
        self._current: set[str] = set()  # failures this run met (again)
        self._stale: set[str] = set()

    def failed(self, qid: str) -> None:
        self._current.add(qid)

    def retried(self, sample_id: str) -> None:
        """This run tried every input of ``sample_id`` again: its older rows are settled
        (what still fails was recorded again by this run)."""
        if self._by_sample:
            self._stale |= self._by_sample.get(sample_id, set())

    def read_ok(self, item: Any) -> None:
        """A complete sample was read (``item``, a raw sample): earlier failures at its
        locations are settled. Free when no earlier row has a location (the usual run)."""
        if self._by_location:
            for loc in locations(item):
                self._stale |= self._by_location.get(loc, set())

    def take_stale(self) -> list[str]:
        """The stale rows found so far (to :meth:`delete`), forgotten here at once: the
        thread that reads this ledger takes them, another may delete them."""
        stale = sorted(self._stale - self._current)
        self._stale.clear()
        if not stale:
            return []
        gone = set(stale)
        self.ids -= gone
        for index in (self._by_sample, self._by_location):
            for key in [k for k, v in index.items() if v & gone]:
                index[key] -= gone
        return stale

    def delete(self, stale: list[str]) -> int:
        """Delete rows :meth:`take_stale` gave (one commit per thousand, none for none)."""
        for i in range(0, len(stale), 1000):
            chunk = stale[i : i + 1000]
            self.corpus.delete("quarantine", "id IN (" + ", ".join(map(sql_str, chunk)) + ")")
        return len(stale)


def locations(item: Any) -> list[str]:
    """Where a raw sample was read: its source uri and its image slots' locations."""
    out = [item.source.uri] if item.source.uri else []
    out += [s.location for s in item.slots if getattr(s, "location", None)]
    return out
