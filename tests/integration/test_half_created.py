"""A table folder left by a writer killed during the table's first commit (data files,
no committed version) reads as absent, and every command works on the corpus."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from plait import Corpus
from plait.io import tables

from ..builders import image_bytes

TOY = Path(__file__).resolve().parents[1] / "unit" / "executors"


def _half_created(path: Path) -> None:
    """What Lance leaves when killed before the manifest of version 1 is written."""
    (path / "data").mkdir(parents=True)
    (path / "data" / "0a1b2c.lance").write_bytes(b"LANC" + bytes(4096))
    (path / "_transactions").mkdir()
    (path / "_transactions" / "0-abc.txn").write_bytes(b"\x08\x01")
    (path / "_versions").mkdir()


def _folder(root: Path, n: int) -> Path:
    root.mkdir()
    for i in range(n):
        (root / f"im{i}.png").write_bytes(image_bytes((i * 40, 80, 160), 24, "PNG"))
        (root / f"im{i}.txt").write_text(f"a small blue square number {i}")
    return root


def test_commands_work_over_half_created_tables(tmp_path: Path) -> None:
    from plait.audit import audit
    from plait.curate import curate
    from plait.ingest import ingest
    from plait.lineage import why

    corpus = Corpus.init(tmp_path / "c")
    for name in ("samples", "media", "quarantine", "runs"):
        _half_created(corpus.table_path(name))
    assert not corpus.has("samples") and corpus.dataset("samples") is None
    assert corpus.info().samples_by_kind == {}

    report = ingest(corpus, _folder(tmp_path / "in", 6), dataset="d")
    assert report.added == 6 and corpus.count("samples") == 6
    assert not list((corpus.table_path("samples") / "data").glob("0a1b2c*"))  # cleaned

    _half_created(corpus.table_path("rejected"))
    _half_created(corpus.path / "embeddings" / "x.lance")
    assert corpus.embedding_tables() == []
    assert why(corpus, "d/im1.png").status == "present"
    assert audit(corpus).samples == 6
    sys.path.insert(0, str(TOY))
    rep = curate(corpus, [{"op": "toy_ops:MinWords", "min_words": 6}], workers=0)
    assert rep.kept == 6 and rep.rejected == 0
    assert tables.committed(corpus.table_path("runs"))


def test_racing_creators_make_one_table(tmp_path: Path) -> None:
    """Creation is one empty commit that never retries as an overwrite."""
    import threading

    import pyarrow as pa

    from plait import schema

    uri = tmp_path / "t.lance"
    made = []

    def create() -> None:
        made.append(tables.create(uri, schema.SAMPLES, ("id",), locked=False).version)

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ds = tables.open_table(uri)
    assert made == [1] * 6 and ds.version == 1 and ds.count_rows() == 0
    assert ds.schema.field("id").metadata == {tables.PRIMARY_KEY.encode(): b"true"}
    assert isinstance(ds.schema, pa.Schema)


@pytest.mark.parametrize("seen", [None, 0])
def test_insert_never_doubles_a_key(tmp_path: Path, seen: int | None) -> None:
    """A key already stored is left out, whether the caller knew it (``seen``) or not."""
    import pyarrow as pa

    from plait import schema

    corpus = Corpus.init(tmp_path / "c")
    rows = [{"id": f"k{i}", "location": "x", "reason": "r"} for i in range(5)]
    t = pa.Table.from_pylist(rows, schema=schema.QUARANTINE)
    assert corpus.insert("quarantine", t, seen=seen)[0] == 5
    again = pa.Table.from_pylist(rows[3:] + [{"id": "k9"}, {"id": "k9"}], schema=schema.QUARANTINE)
    assert corpus.insert("quarantine", again)[0] == 1
    assert sorted(corpus.ids("quarantine")) == ["k0", "k1", "k2", "k3", "k4", "k9"]
    assert corpus.count("quarantine") == 6
