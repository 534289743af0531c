"""Export to WebDataset (img2dataset layout), Parquet and OBELICS JSONL, read back with
real readers: tarfile, pyarrow, and plait's own ingest (round trip)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from PIL import Image

from plait import Corpus
from plait.errors import ConfigError, PlaitError, UnknownNameError
from plait.export import export

from ..synth import synth_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return synth_corpus(tmp_path_factory.mktemp("exp") / "c", 60)


def test_webdataset_shards_as_img2dataset_writes_them(corpus: Corpus, tmp_path: Path):
    progress: list[tuple[int, int]] = []
    rep = export(
        corpus,
        tmp_path / "wds",
        "webdataset",
        shard_size=20,
        progress=lambda d, t, stage="": progress.append((d, t)),
    )
    samples = corpus.samples()
    images = sum(len(s.media_ids) for s in samples)
    text_only = sum(1 for s in samples if not s.media_ids)
    assert rep.selected == len(samples) and progress[-1] == (len(samples), len(samples))
    assert rep.exported == images + text_only and rep.skipped == {}
    tars = sorted((tmp_path / "wds").glob("*.tar"))
    assert [t.name for t in tars] == [f"{i:05d}.tar" for i in range(rep.shards)]
    by_id = {s.id: s for s in samples}
    owners: list[set[str]] = []
    for n, tar in enumerate(tars):
        with tarfile.open(tar) as tf:
            names = tf.getnames()
            groups = sorted({name.split(".")[0] for name in names})
            metas = [json.loads(tf.extractfile(f"{k}.json").read()) for k in groups]
            owners.append({m["plait_id"] for m in metas})
            if n < len(tars) - 1:  # a shard closes at the first sample end past 20 groups
                assert len(groups) >= 20
            for meta in metas[:4]:
                key = meta["key"]
                assert len(key) == 7  # 5 + ceil(log10(20)) digits
                caption = tf.extractfile(f"{key}.txt").read().decode()
                assert meta["caption"] == caption and caption in by_id[meta["plait_id"]].texts
                if meta["status"] == "success":
                    image = next(
                        x
                        for x in names
                        if x.startswith(key) and x.split(".")[1] not in ("txt", "json")
                    )
                    data = tf.extractfile(image).read()
                    img = Image.open(io.BytesIO(data))
                    assert (meta["width"], meta["height"]) == img.size
                    assert hashlib.sha256(data).hexdigest() == meta["sha256"]  # bytes unchanged
        shard_meta = pq.read_table(tmp_path / "wds" / f"{n:05d}.parquet")
        assert shard_meta.num_rows == len(groups) and "sha256" in shard_meta.column_names
        stats = json.loads((tmp_path / "wds" / f"{n:05d}_stats.json").read_text())
        assert stats["count"] == len(groups)
        assert stats["successes"] == sum(m["status"] == "success" for m in metas)
    # the groups of one sample never straddle two shards
    assert sum(len(o) for o in owners) == len(set().union(*owners)) == len(samples)


def test_webdataset_round_trips_through_ingest(corpus: Corpus, tmp_path: Path):
    from plait.ingest import ingest

    rep = export(corpus, tmp_path / "wds", "webdataset", where="kind = 'pair'", shard_size=16)
    back = Corpus.init(tmp_path / "back")
    pattern = str(tmp_path / "wds" / f"{{00000..{rep.shards - 1:05d}}}.tar")
    got = ingest(back, pattern, dataset="back")
    assert got.added == rep.exported == corpus.count("samples", "kind = 'pair'")
    assert sorted(t for s in back.samples() for t in s.texts if t) == sorted(
        t for s in corpus.samples(where="kind = 'pair'") for t in s.texts if t
    )


def test_parquet_rows_carry_media_bytes(corpus: Corpus, tmp_path: Path):
    rep = export(
        corpus, tmp_path / "pq", "parquet", where="source.licence = 'CC0-1.0'", shard_size=1000
    )
    tbl = pq.read_table(tmp_path / "pq" / "00000.parquet")
    assert rep.files == ["00000.parquet"] and tbl.num_rows == rep.selected == rep.exported
    assert set(tbl.column("licence").to_pylist()) == {"CC0-1.0"}
    for row in tbl.to_pylist()[:5]:
        for mid, data in zip(row["images"], row["image_bytes"]):
            assert (mid is None) == (data is None)
            if data is not None:
                assert hashlib.sha256(data).hexdigest() == mid


def test_obelics_jsonl_layout_and_round_trip(corpus: Corpus, tmp_path: Path):
    rep = export(corpus, tmp_path / "ob", "jsonl", where="kind = 'document'", shard_size=3)
    files = sorted((tmp_path / "ob").glob("*.jsonl"))
    assert [f.name for f in files] == rep.files and rep.shards == len(files)
    rows = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert len(rows) == rep.exported == corpus.count("samples", "kind = 'document'")
    for row in rows:
        assert set(row) >= {"images", "texts", "metadata", "general_metadata"}
        assert len(row["images"]) == len(row["texts"])
        assert all((i is None) != (t is None) for i, t in zip(row["images"], row["texts"]))
        for rel in filter(None, row["images"]):
            assert (tmp_path / "ob" / rel).is_file()
        assert json.loads(row["general_metadata"])["id"] == row["id"]
    from plait.ingest import ingest

    back = Corpus.init(tmp_path / "back")
    for f in files:
        ingest(back, f, dataset="back")
    orig = {(tuple(s.texts), tuple(s.images)) for s in corpus.samples(where="kind = 'document'")}
    assert {(tuple(s.texts), tuple(s.images)) for s in back.samples()} == orig  # same media ids


def test_limit_refusals_and_runs_row(corpus: Corpus, tmp_path: Path):
    rep = export(corpus, tmp_path / "few", "parquet", limit=7)
    assert rep.selected == rep.exported == 7
    with pytest.raises(ConfigError, match="not empty"):
        export(corpus, tmp_path / "few", "parquet", limit=7)
    assert export(corpus, tmp_path / "few", "parquet", limit=3, overwrite=True).exported == 3
    with pytest.raises(UnknownNameError, match="webdataset"):
        export(corpus, tmp_path / "x", "tfrecord")
    with pytest.raises(ConfigError, match="invalid where"):
        export(corpus, tmp_path / "y", "parquet", where="no_such_column = 1")
    runs = corpus.read("runs", where="command = 'export'").to_pylist()
    ok = [r for r in runs if r["status"] == "ok" and json.loads(r["counts"]).get("exported") == 7]
    assert ok


def test_ids_keep_their_order(corpus: Corpus, tmp_path: Path):
    ids = [s.id for s in corpus.samples(limit=6)][::-1]
    export(corpus, tmp_path / "ids", "parquet", ids=ids + ["not/there"])
    assert pq.read_table(tmp_path / "ids" / "00000.parquet").column("id").to_pylist() == ids


def test_cli_export(corpus: Corpus, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    from plait.cli import main

    main(
        [
            "export",
            str(corpus.path),
            str(tmp_path / "cli"),
            "--format",
            "webdataset",
            "--where",
            "kind = 'pair'",
            "--shard-size",
            "25",
            "--no-progress",
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert report["exported"] == corpus.count("samples", "kind = 'pair'")
    assert (tmp_path / "cli" / "00000.tar").is_file()


_NO_SERVE = """
import sys

class NoServe:  # neither the serve extra nor plait's server package can be imported
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"fastapi", "starlette", "uvicorn"} or name == "plait.server":
            raise ImportError(f"No module named {name!r} (serve extra not installed)")

sys.meta_path.insert(0, NoServe())
from plait.cli import main

main(sys.argv[1:])
"""


@pytest.mark.models
def test_cli_export_by_query_needs_no_serve_extra(tmp_path: Path):
    import subprocess
    import sys

    from plait.embed import embed

    c = synth_corpus(tmp_path / "q", 30)
    try:
        embed(c, "minilm")
    except PlaitError as exc:
        pytest.skip(f"minilm cannot load here: {exc}")
    args = [str(c.path), str(tmp_path / "out"), "--format", "parquet", "--query", "a red circle"]
    out = subprocess.run(
        [sys.executable, "-c", _NO_SERVE, "export", *args, "--k", "4", "--no-progress", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["selected"] == 4
    ids = pq.read_table(tmp_path / "out" / "00000.parquet").column("id").to_pylist()
    texts = {s.id: " ".join(t for t in s.texts if t) for s in c.samples()}
    assert "red" in texts[ids[0]]
