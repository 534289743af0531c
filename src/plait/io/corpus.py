"""The corpus: a directory of Lance tables (samples, media, quarantine, rejected, runs).

Commands append in large batches (one Lance commit per batch) and compact at
the end of the run, as Lance wants. Several commands may write one corpus at
once: every write goes through :mod:`plait.io.tables` (atomic creation, keyed
inserts, replace commits that keep concurrent appends), under the local writer
lock where there is one (:mod:`plait.io.lock`). Readers always see a
consistent version; a table folder with no committed version reads as absent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from plait import schema
from plait.errors import CorpusError, CorpusNotFoundError, NotFoundError
from plait.io import store, tables
from plait.io.lock import LOCK_FILE, writer_lock
from plait.io.store import ObjectPath

if TYPE_CHECKING:
    from lance import LanceDataset

MARKER = "plait.json"
_MARKER_TMP = ".plait.json.tmp-"


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
    """A corpus directory (a local path, or ``s3://bucket/prefix``: see
    :mod:`plait.io.store`). Create with :meth:`init`, open with :meth:`open`."""

    def __init__(self, path: str | Path | ObjectPath) -> None:
        self.path: Any = store.location(path)  # a Path, or an ObjectPath with its methods

    @property
    def uri(self) -> str:
        """The corpus as a string every process can open (a path or an ``s3://`` URI)."""
        return str(self.path)

    @property
    def remote(self) -> bool:
        return isinstance(self.path, ObjectPath)

    # -- lifecycle ---------------------------------------------------------------------------
    @classmethod
    def init(cls, path: str | Path | ObjectPath) -> Corpus:
        """Create an empty corpus (idempotent on an existing corpus, and safe when
        several commands create the same one at once)."""
        where = store.location(path)
        if isinstance(where, ObjectPath):
            with _reaching(where):
                return cls._init_remote(where)
        p = where
        marker = p / MARKER
        if marker.is_file():
            return cls.open(p)
        if p.exists() and not p.is_dir():
            raise CorpusError(f"{p} is a file, not a corpus directory")
        others = [e for e in p.iterdir() if not _ours(e.name)] if p.is_dir() else []
        if others and not marker.is_file():
            raise CorpusError(f"{p} exists and is not an empty directory or a plait corpus")
        p.mkdir(parents=True, exist_ok=True)
        tmp = p / f"{_MARKER_TMP}{os.getpid()}"
        tmp.write_text(
            json.dumps({"format": "plait-corpus", "version": schema.FORMAT_VERSION}, indent=2)
        )
        try:
            os.link(tmp, marker)  # atomic: a concurrent init either made it or finds it
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
        return cls.open(p)

    @classmethod
    def _init_remote(cls, p: ObjectPath) -> Corpus:
        """On object storage: the marker is one object, written if absent (a concurrent
        init writes the same bytes)."""
        marker = p / MARKER
        if not marker.is_file():
            if any(not _ours(e.name) for e in p.iterdir()):
                raise CorpusError(f"{p} holds objects and is not a plait corpus")
            marker.write_text(
                json.dumps({"format": "plait-corpus", "version": schema.FORMAT_VERSION}, indent=2)
            )
        return cls.open(p)

    @classmethod
    def open(cls, path: str | Path | ObjectPath) -> Corpus:
        p = store.location(path)
        if isinstance(p, ObjectPath):
            with _reaching(p):
                return cls._open(p)
        return cls._open(p)

    @classmethod
    def _open(cls, p: Path | ObjectPath) -> Corpus:
        if p.exists() and not p.is_dir():
            raise CorpusNotFoundError(f"{p} is a file, not a plait corpus")
        if not (p / MARKER).is_file():
            raise CorpusNotFoundError(f"{p} is not a plait corpus (run `plait init {p}` first)")
        meta = json.loads((p / MARKER).read_text())
        if meta.get("version", 0) > schema.FORMAT_VERSION:
            raise CorpusError(f"{p} was written by a newer plait (format {meta['version']})")
        return cls(p)

    # -- tables ------------------------------------------------------------------------------
    def table_path(self, name: str) -> Any:
        """The table's folder: a Path, or an ObjectPath (``str()`` gives Lance's URI)."""
        return self.path / f"{name}.lance"

    def has(self, name: str) -> bool:
        """Whether ``name`` has a committed version (a half-created folder does not count)."""
        return tables.committed(self.table_path(name))

    def dataset(self, name: str, version: int | None = None) -> LanceDataset | None:
        """The Lance dataset ``name``, or None if nothing was committed to it yet."""
        return tables.open_table(self.table_path(name), version)

    def lock(self) -> Any:
        """The corpus writer lock (a context manager yielding whether it is held)."""
        return writer_lock(self.path)

    def _target(self, name: str, schema_: pa.Schema | None) -> pa.Schema:
        return schema_ or schema.TABLES[name]

    def open_for_write(
        self,
        name: str,
        schema_: pa.Schema | None = None,
        *,
        locked: bool = False,
        create: bool = True,
    ) -> Any:
        """The dataset, created (atomically, empty) if absent; a table an older plait
        wrote gets the columns and the key declaration the current schema has."""
        key = schema.KEYS.get(_family(name), ())
        target = self._target(name, schema_)
        ds = self.dataset(name)
        if ds is None:
            if not create:
                return None
            return tables.create(self.table_path(name), target, key, locked=locked)
        if any(f.name not in ds.schema.names for f in target):
            self.ensure_columns(name, target)
            ds = self.dataset(name)
        return tables.ensure_key(ds, key)

    def append(
        self,
        name: str,
        table: pa.Table,
        schema_: pa.Schema | None = None,
        *,
        new_keys: bool = False,
    ) -> None:
        """Append rows in one commit, creating the table on first write. Rows of a keyed
        table whose key is already stored are left out (see :meth:`insert`), unless the
        caller made the keys new (``new_keys``: a fresh uuid in each), which skips the
        key join."""
        if _family(name) in schema.KEYS and not new_keys:
            self.insert(name, table, schema_)
            return
        if table.num_rows == 0:
            return
        table = _conform(table, self._target(name, schema_))
        with self.lock() as locked:
            ds = self.open_for_write(name, schema_, locked=locked)
            _lance().write_dataset(table, ds, schema=ds.schema, mode="append")

    def insert(
        self,
        name: str,
        table: pa.Table,
        schema_: pa.Schema | None = None,
        *,
        seen: int | None = None,
    ) -> tuple[int, int | None]:
        """Insert the rows whose key (``schema.KEYS``) is not stored yet; returns (rows
        inserted, the version to pass as ``seen`` next time, or None). ``seen``: the
        version at which the caller read every stored key it could write (0: the table
        was absent); if the table is still at it and the writer lock is held, the rows
        (which the caller filtered by those keys) are appended without a key join."""
        key = schema.KEYS[_family(name)]
        if table.num_rows == 0:
            return 0, seen
        table = _conform(table, self._target(name, schema_))
        with self.lock() as locked:
            ds = self.open_for_write(name, schema_, locked=locked)
            fast = locked and seen is not None and ds.version in (seen, 1 if seen == 0 else seen)
            got, version = tables.insert_new(ds, table, key, fast=fast)
            return got, version if fast else None

    def upsert(
        self,
        name: str,
        table: pa.Table,
        on: str | Sequence[str] | None = None,
        schema_: pa.Schema | None = None,
        *,
        seen: int | None = None,
    ) -> int | None:
        """Insert rows, replacing the rows with the same key (``on``, default the table's
        key), in one commit. ``seen`` as for :meth:`insert`: returns the version to pass
        next time if the table was still at ``seen`` (and the lock held), else None."""
        if table.num_rows == 0:
            return seen
        key = [on] if isinstance(on, str) else list(on or schema.KEYS[_family(name)])
        table = _conform(table, self._target(name, schema_))
        with self.lock() as locked:
            ds = self.open_for_write(name, schema_, locked=locked)
            still = locked and seen is not None and ds.version in (seen, 1 if seen == 0 else seen)
            ds.merge_insert(key).when_matched_update_all().when_not_matched_insert_all().execute(
                table
            )
            after = self.dataset(name) if still else None
            return after.version if after is not None else None

    def replace(self, name: str, rows: Callable[[Any], Iterable[pa.RecordBatch]]) -> Any:
        """Replace the rows of ``name`` with ``rows(dataset)`` in one commit that keeps
        rows other writers append meanwhile (see :func:`plait.io.tables.replace`)."""
        with self.lock():
            return tables.replace(self.table_path(name), self._target(name, None), rows)

    def ensure_columns(self, name: str, target: pa.Schema | None = None) -> None:
        """Add the nullable columns a newer schema has and the table lacks (all null), so
        a corpus written by an older plait takes rows of the current schema."""
        with self.lock():
            ds = self.dataset(name)
            if ds is None:
                return
            have = set(ds.schema.names)
            missing = [f for f in (target or schema.TABLES[name]) if f.name not in have]
            if missing and all(f.nullable for f in missing):
                ds.add_columns(missing)

    def update(self, name: str, values: dict[str, str], where: str) -> None:
        """Set columns (SQL literals) on the rows matching ``where``."""
        with self.lock():
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
        with self.lock():
            ds = self.dataset(name)
            if ds is not None:
                ds.delete(where)

    def compact(self, name: str, drop_old_versions: bool = False, min_fragments: int = 16) -> None:
        """Merge small fragments once there are ``min_fragments`` of them (run after each
        command). ``drop_old_versions`` frees the superseded files; right for append-only
        tables such as ``media``. Best effort: a concurrent writer's commit wins."""
        with self.lock():
            ds = self.dataset(name)
            if ds is None or len(ds.get_fragments()) < min_fragments:
                return
            try:
                ds.optimize.compact_files()
                if drop_old_versions:
                    from datetime import timedelta

                    ds = self.dataset(name)
                    assert ds is not None
                    ds.cleanup_old_versions(
                        older_than=timedelta(seconds=0), error_if_tagged_old_versions=False
                    )
            except OSError as exc:  # lance.commit.CommitConflictError is an OSError
                if "conflict" not in str(exc).lower():
                    raise

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
        return store.location(row["uri"]).read_bytes()

    def media_many(self, media_ids: Iterable[str]) -> dict[str, bytes]:
        """Bytes of many media items in one scan."""
        wanted = list(dict.fromkeys(media_ids))
        out: dict[str, bytes] = {}
        for i in range(0, len(wanted), 512):
            chunk = wanted[i : i + 512]
            tbl = self.read("media", columns=["id", "bytes", "uri"], where=sql_in("id", chunk))
            for row in tbl.to_pylist():
                out[row["id"]] = (
                    row["bytes"]
                    if row["bytes"] is not None
                    else store.location(row["uri"]).read_bytes()
                )
        return out

    # -- embeddings --------------------------------------------------------------------------
    def embeddings_path(self, encoder: str) -> Any:
        """Where an encoder's embeddings table lives (``encoder``: a spec or its slug)."""
        return self.table_path(embeddings_table(encoder))

    def embedding_tables(self) -> list[str]:
        d = self.path / "embeddings"
        if not d.is_dir():
            return []
        return sorted(p.name[: -len(".lance")] for p in d.glob("*.lance") if tables.committed(p))

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
            from plait.io.processes import with_status

            runs = with_status(self.read("runs").to_pylist())
            runs.sort(key=lambda r: r["started_at"])
            c.runs = runs[-last_runs:]
        for name in self.embedding_tables():
            ds = self.dataset(f"embeddings/{name}")
            c.embeddings[name] = ds.count_rows() if ds is not None else 0
        return c

    def destroy(self) -> None:
        store.rmtree(self.path)

    def __repr__(self) -> str:
        return f"Corpus({str(self.path)!r})"


@contextmanager
def _reaching(p: ObjectPath) -> Iterator[None]:
    """An object store that cannot be reached, or a bucket that is not there, is a
    CorpusError saying so (not a traceback from the storage library)."""
    try:
        yield
    except OSError as exc:
        raise CorpusError(
            f"cannot reach {p}: {exc} (is the bucket there, and are the endpoint and "
            "credentials right? see `plait -o` and the AWS_* variables)"
        ) from exc


def _ours(name: str) -> bool:
    """Files a corpus directory may hold before its marker is in place."""
    return name.startswith(_MARKER_TMP) or name in (MARKER, LOCK_FILE)


def _family(name: str) -> str:
    """``embeddings/x`` -> ``embeddings``: the schema family a table name belongs to."""
    return name.split("/", 1)[0]


def _conform(table: pa.Table, target: pa.Schema) -> pa.Table:
    if table.schema.equals(target, check_metadata=False):
        return table
    return table.select(target.names).cast(target)


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
