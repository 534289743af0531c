"""The corpus: a directory of Lance tables (samples, media, quarantine, rejected, runs).

One writer per table at a time: the process running a command appends in large
batches (one Lance commit per batch) and compacts at the end of the run, as
Lance wants. Readers always see a consistent version.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from plait import schema
from plait.errors import CorpusError, CorpusNotFoundError, NotFoundError

if TYPE_CHECKING:
    from lance import LanceDataset

MARKER = "plait.json"


def _lance() -> ModuleType:
    import lance  # light enough, but keep ``import plait`` from paying for it

    return lance


def sql_str(value: str) -> str:
    """Quote a string literal for a Lance filter."""
    return "'" + value.replace("'", "''") + "'"


def sql_in(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(sql_str(v) for v in values)})"


@dataclass
class TableCounts:
    samples_by_kind: dict[str, int] = field(default_factory=dict)
    samples_by_dataset: dict[str, int] = field(default_factory=dict)
    samples_by_licence: dict[str, int] = field(default_factory=dict)
    media: int = 0
    media_bytes: int = 0
    quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    replaced_by_op: dict[str, int] = field(default_factory=dict)  # versions runs replaced
    runs: list[dict[str, Any]] = field(default_factory=list)
    embeddings: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


class Corpus:
    """A corpus directory. Create with :meth:`init`, open with :meth:`open`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def init(cls, path: str | Path) -> Corpus:
        """Create an empty corpus (idempotent on an existing corpus)."""
        p = Path(path)
        marker = p / MARKER
        if marker.exists():
            return cls.open(p)
        if p.exists() and any(p.iterdir()):
            raise CorpusError(f"{p} exists and is not an empty directory or a plait corpus")
        p.mkdir(parents=True, exist_ok=True)
        marker.write_text(
            json.dumps({"format": "plait-corpus", "version": schema.FORMAT_VERSION}, indent=2)
        )
        return cls(p)

    @classmethod
    def open(cls, path: str | Path) -> Corpus:
        p = Path(path)
        if not (p / MARKER).is_file():
            raise CorpusNotFoundError(f"{p} is not a plait corpus (run `plait init {p}` first)")
        meta = json.loads((p / MARKER).read_text())
        if meta.get("version", 0) > schema.FORMAT_VERSION:
            raise CorpusError(f"{p} was written by a newer plait (format {meta['version']})")
        return cls(p)

    # -- tables ------------------------------------------------------------------------------
    def table_path(self, name: str) -> Path:
        return self.path / f"{name}.lance"

    def has(self, name: str) -> bool:
        return self.table_path(name).is_dir()

    def dataset(self, name: str) -> LanceDataset | None:
        """The Lance dataset ``name``, or None if nothing was written to it yet."""
        if not self.has(name):
            return None
        return _lance().dataset(str(self.table_path(name)))

    def append(self, name: str, table: pa.Table, schema_: pa.Schema | None = None) -> None:
        """Append rows in one commit, creating the table on first write."""
        if table.num_rows == 0:
            return
        target = schema_ or schema.TABLES[name]
        table = table.select(target.names).cast(target) if table.schema != target else table
        mode = "append" if self.has(name) else "create"
        if mode == "append":
            self.ensure_columns(name, target)
        _lance().write_dataset(table, str(self.table_path(name)), schema=target, mode=mode)

    def ensure_columns(self, name: str, target: pa.Schema | None = None) -> None:
        """Add the nullable columns a newer schema has and the table lacks (all null), so
        a corpus written by an older plait takes rows of the current schema."""
        ds = self.dataset(name)
        if ds is None:
            return
        have = set(ds.schema.names)
        missing = [f for f in (target or schema.TABLES[name]) if f.name not in have]
        if missing and all(f.nullable for f in missing):
            ds.add_columns(missing)

    def upsert(self, name: str, table: pa.Table, on: str = "id") -> None:
        """Insert rows, replacing the rows with the same ``on`` value, in one commit."""
        if table.num_rows == 0:
            return
        if not self.has(name):
            self.append(name, table)
            return
        target = schema.TABLES[name]
        self.ensure_columns(name, target)
        table = table.select(target.names).cast(target)
        ds = self.dataset(name)
        assert ds is not None  # has(name) above
        ds.merge_insert(on).when_matched_update_all().when_not_matched_insert_all().execute(table)

    def update(self, name: str, values: dict[str, str], where: str) -> None:
        """Set columns (SQL literals) on the rows matching ``where``."""
        ds = self.dataset(name)
        if ds is not None:
            ds.update(values, where=where)

    def read(
        self,
        name: str,
        columns: list[str] | None = None,
        where: str | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """Rows of ``name`` (an empty table of the right schema if it does not exist)."""
        ds = self.dataset(name)
        if ds is None:
            sch = schema.TABLES[name]
            if columns:
                sch = pa.schema([sch.field(c) for c in columns])
            return sch.empty_table()
        return ds.to_table(columns=columns, filter=where, limit=limit)

    def batches(
        self,
        name: str,
        columns: list[str] | None = None,
        where: str | None = None,
        batch_size: int = 1024,
    ) -> Iterator[pa.RecordBatch]:
        ds = self.dataset(name)
        if ds is None:
            return
        yield from ds.to_batches(columns=columns, filter=where, batch_size=batch_size)

    def count(self, name: str, where: str | None = None) -> int:
        ds = self.dataset(name)
        return 0 if ds is None else ds.count_rows(filter=where)

    def ids(self, name: str = "samples", where: str | None = None, column: str = "id") -> set[str]:
        return set(self.read(name, columns=[column], where=where).column(column).to_pylist())

    def delete(self, name: str, where: str) -> None:
        ds = self.dataset(name)
        if ds is not None:
            ds.delete(where)

    def compact(self, name: str, drop_old_versions: bool = False, min_fragments: int = 16) -> None:
        """Merge small fragments once there are ``min_fragments`` of them (run after each
        command). ``drop_old_versions`` frees the superseded files; right for append-only
        tables such as ``media``."""
        ds = self.dataset(name)
        if ds is None or len(ds.get_fragments()) < min_fragments:
            return
        ds.optimize.compact_files()
        if drop_old_versions:
            from datetime import timedelta

            _lance().dataset(str(self.table_path(name))).cleanup_old_versions(
                older_than=timedelta(seconds=0), error_if_tagged_old_versions=False
            )

    # -- samples and media -------------------------------------------------------------------
    def sample(self, sample_id: str) -> schema.Sample:
        rows = self.read("samples", where=f"id = {sql_str(sample_id)}", limit=1).to_pylist()
        if not rows:
            raise NotFoundError(f"no sample {sample_id!r} in {self.path}")
        return schema.Sample.from_row(rows[0])

    def samples(self, where: str | None = None, limit: int | None = None) -> list[schema.Sample]:
        return [
            schema.Sample.from_row(r)
            for r in self.read("samples", where=where, limit=limit).to_pylist()
        ]

    def media_info(self, media_id: str) -> dict[str, Any]:
        cols = ["id", "uri", "mime", "width", "height", "size"]
        rows = self.read(
            "media", columns=cols, where=f"id = {sql_str(media_id)}", limit=1
        ).to_pylist()
        if not rows:
            raise NotFoundError(f"no media {media_id!r} in {self.path}")
        return rows[0]

    def media_bytes(self, media_id: str) -> bytes:
        rows = self.read(
            "media", columns=["bytes", "uri"], where=f"id = {sql_str(media_id)}", limit=1
        )
        if rows.num_rows == 0:
            raise NotFoundError(f"no media {media_id!r} in {self.path}")
        row = rows.to_pylist()[0]
        if row["bytes"] is not None:
            return row["bytes"]
        return Path(row["uri"]).read_bytes()

    def media_many(self, media_ids: Iterable[str]) -> dict[str, bytes]:
        """Bytes of many media items in one scan."""
        wanted = list(dict.fromkeys(media_ids))
        out: dict[str, bytes] = {}
        for i in range(0, len(wanted), 512):
            chunk = wanted[i : i + 512]
            tbl = self.read("media", columns=["id", "bytes", "uri"], where=sql_in("id", chunk))
            for row in tbl.to_pylist():
                out[row["id"]] = (
                    row["bytes"] if row["bytes"] is not None else Path(row["uri"]).read_bytes()
                )
        return out

    # -- embeddings --------------------------------------------------------------------------
    def embeddings_path(self, encoder: str) -> Path:
        """Where an encoder's embeddings table lives (``encoder``: a spec or its slug)."""
        return self.table_path(embeddings_table(encoder))

    def embedding_tables(self) -> list[str]:
        d = self.path / "embeddings"
        return sorted(p.name[: -len(".lance")] for p in d.glob("*.lance")) if d.is_dir() else []

    # -- summary -----------------------------------------------------------------------------
    def info(self, last_runs: int = 5) -> TableCounts:
        c = TableCounts()
        if self.has("samples"):
            t = self.read("samples", columns=["kind", "source"])
            c.samples_by_kind = _value_counts(t.column("kind").to_pylist())
            src = t.column("source").combine_chunks()
            c.samples_by_dataset = _value_counts(src.field("dataset").to_pylist())
            c.samples_by_licence = _value_counts(src.field("licence").to_pylist())
        if self.has("media"):
            sizes = self.read("media", columns=["size"]).column("size")
            c.media = len(sizes)
            c.media_bytes = int(pa.compute.sum(sizes).as_py() or 0)
        if self.has("quarantine"):
            c.quarantine_by_reason = _value_counts(
                self.read("quarantine", columns=["reason"]).column("reason").to_pylist()
            )
        if self.has("rejected"):
            t = self.read("rejected", columns=["op", "reason"]).to_pylist()
            c.rejected_by_reason = _value_counts(f"{r['op']}: {r['reason']}" for r in t)
        if self.has("replaced"):
            ops = self.read("replaced", columns=["op"], where="restored_by IS NULL")
            c.replaced_by_op = _value_counts(ops.column("op").to_pylist())
        if self.has("runs"):
            runs = self.read("runs").to_pylist()
            runs.sort(key=lambda r: r["started_at"])
            c.runs = runs[-last_runs:]
        for name in self.embedding_tables():
            c.embeddings[name] = _lance().dataset(str(self.embeddings_path(name))).count_rows()
        return c

    def destroy(self) -> None:
        shutil.rmtree(self.path)

    def __repr__(self) -> str:
        return f"Corpus({str(self.path)!r})"


def slug(name: str) -> str:
    """A file-system-safe name for an encoder spec such as ``hf:openai/clip`` (a slug is
    its own slug)."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def embeddings_table(encoder: str) -> str:
    """The table name of an encoder's embeddings, ``embeddings/<slug>`` (a spec or its slug);
    the one rule behind :meth:`Corpus.embeddings_path`, ``plait embed`` and search."""
    return f"embeddings/{slug(encoder)}"


def _value_counts(values: Iterable[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        k = "(none)" if v is None else str(v)
        out[k] = out.get(k, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))
