"""Lance tables that concurrent writers and kills cannot corrupt.

- A table exists once it has a committed version. A folder left by a writer
  killed during its first commit (data files, no manifest) reads as absent,
  and the next writer creates the table over it.
- Creation is one empty commit that never retries: of two writers racing to
  create a table, one commits version 1 and the other finds the table made.
  (A plain ``write_dataset(mode="create")`` that loses the race is retried by
  Lance as an overwrite, which silently drops the winner's first batch.)
- Keyed tables (samples by id, media by sha256, ...) declare their key as
  Lance's unenforced primary key, and rows go in with an insert-if-absent
  ``merge_insert``: two writers inserting the same new key conflict at commit
  and the loser re-plans, so a key is stored once. A writer that holds the
  local writer lock (:mod:`plait.io.lock`) and finds the table at the version
  it last saw appends directly, skipping the key join.
- ``replace`` swaps a table's rows for new ones as an Update of the fragments
  it read: rows another writer appends meanwhile survive, and a concurrent
  delete or rewrite of the same fragments makes the commit fail and re-run.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from plait.errors import CorpusError
from plait.io import store
from plait.io.lock import is_local
from plait.io.store import ObjectPath

PRIMARY_KEY = "lance-schema:unenforced-primary-key"
REPLACE_ATTEMPTS = 8


def _lance() -> Any:
    import lance

    return lance


def committed(uri: str | Path | ObjectPath) -> bool:
    """Whether a table folder (local or on object storage) has a committed version."""
    versions = store.location(uri) / "_versions"
    return versions.is_dir() and any(p.suffix == ".manifest" for p in versions.iterdir())


def open_table(uri: str | Path, version: int | None = None) -> Any | None:
    """The dataset at ``uri``, or None if nothing was committed there (absent or
    half-created)."""
    if is_local(uri):
        if not committed(uri):
            return None
        return _lance().dataset(str(uri), version=version)
    try:
        return _lance().dataset(str(uri), version=version)
    except (ValueError, OSError) as exc:
        if "not found" in str(exc).lower() or "does not exist" in str(exc).lower():
            return None
        raise


def keyed(schema: pa.Schema, key: Sequence[str]) -> pa.Schema:
    """``schema`` with ``key`` declared as the primary key (the fields must be non-null)."""
    fields = []
    for f in schema:
        if f.name in key:
            f = f.with_nullable(False).with_metadata({**(f.metadata or {}), PRIMARY_KEY: "true"})
        fields.append(f)
    return pa.schema(fields, metadata=schema.metadata)


def create(uri: str | Path, schema: pa.Schema, key: Sequence[str] = (), *, locked: bool) -> Any:
    """Create the table with version 1 empty, unless another writer did first."""
    from lance import LanceOperation
    from lance.dataset import LanceDataset

    target = keyed(schema, key) if key else schema
    if locked and is_local(uri) and Path(uri).exists() and not committed(uri):
        shutil.rmtree(uri)  # a half-created table: nobody else may write it now
    if is_local(uri):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        LanceDataset.commit(str(uri), LanceOperation.Overwrite(target, []), max_retries=0)
    except (OSError, ValueError, RuntimeError) as exc:  # lost the race: it exists now
        ds = open_table(uri)
        if ds is None:
            raise CorpusError(f"could not create table {uri}: {exc}") from exc
        return ds
    ds = open_table(uri)
    assert ds is not None
    return ds


def ensure_key(ds: Any, key: Sequence[str]) -> Any:
    """Declare ``key`` on a table written before keys were declared (when its key
    fields are non-null; a table that cannot take it relies on the writer lock)."""
    if not key:
        return ds
    fields = {f.name: f for f in ds.schema}
    if all((fields[k].metadata or {}).get(PRIMARY_KEY.encode()) for k in key):
        return ds
    if any(fields[k].nullable for k in key):
        return ds
    try:
        ds.update_field_metadata({k: {PRIMARY_KEY: "true"} for k in key})
    except (OSError, ValueError, RuntimeError):
        return ds  # another writer declared it first, or Lance refuses: keep going
    return _lance().dataset(ds.uri)


def dedupe(table: pa.Table, key: Sequence[str]) -> pa.Table:
    """First row of each key."""
    if table.num_rows < 2:
        return table
    cols = [table.column(k).to_pylist() for k in key]
    seen: set[Any] = set()
    keep = []
    for i, k in enumerate(zip(*cols, strict=True)):
        if k not in seen:
            seen.add(k)
            keep.append(i)
    return table if len(keep) == table.num_rows else table.take(keep)


def insert_new(
    ds: Any,
    table: pa.Table,
    key: Sequence[str],
    *,
    fast: bool,
) -> tuple[int, int]:
    """Insert the rows of ``table`` whose key is not in ``ds``; returns (rows inserted,
    version after). ``fast``: the caller holds the writer lock and knows the table has
    none of these keys, so a plain append is enough."""
    table = dedupe(table, key)
    if fast:
        out = _lance().write_dataset(table, ds, schema=ds.schema, mode="append")
        return table.num_rows, out.version
    stats = ds.merge_insert(list(key)).when_not_matched_insert_all().execute(table)
    return int(stats.get("num_inserted_rows", 0)), _lance().dataset(ds.uri).version


def replace(
    uri: str | Path,
    schema: pa.Schema,
    rows: Callable[[Any], Iterable[pa.RecordBatch]],
    *,
    on_conflict: Callable[[], None] | None = None,
) -> Any:
    """Replace every row the table holds with ``rows(ds)`` (computed from the version
    read), in one commit that keeps rows appended concurrently; retried when another
    writer deleted or rewrote the same fragments first."""
    from lance import LanceOperation
    from lance.dataset import LanceDataset
    from lance.fragment import write_fragments

    last: Exception | None = None
    for _ in range(REPLACE_ATTEMPTS):
        ds = open_table(uri)
        if ds is None:
            raise CorpusError(f"no table at {uri}")
        batches: Iterator[pa.RecordBatch] = iter(rows(ds))
        reader = pa.RecordBatchReader.from_batches(ds.schema, _cast(batches, ds.schema))
        frags = write_fragments(reader, str(uri), schema=ds.schema)
        op = LanceOperation.Update(
            removed_fragment_ids=[f.fragment_id for f in ds.get_fragments()],
            new_fragments=frags,
        )
        try:
            return LanceDataset.commit(str(uri), op, read_version=ds.version)
        except (OSError, ValueError, RuntimeError) as exc:
            if "conflict" not in str(exc).lower() and "preempted" not in str(exc).lower():
                raise
            last = exc
            if on_conflict is not None:
                on_conflict()
    raise CorpusError(f"{uri} kept changing under this commit: {last}")


def _cast(batches: Iterator[pa.RecordBatch], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    for b in batches:
        yield b if b.schema == schema else pa.Table.from_batches([b]).cast(schema).to_batches()[0]
