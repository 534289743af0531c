"""A corpus on an S3-compatible server (moto's, started on 127.0.0.1): every command works
on it and ends with the same tables and answers as the same commands on a local disk."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "encoders"))

from tiny_models import save_tiny_clip  # noqa: E402

from plait import Corpus  # noqa: E402
from plait.io.store import ObjectPath  # noqa: E402

from ..builders import flickr_pairs  # noqa: E402

pytestmark = pytest.mark.slow


def _folder(shared_data: Path, dest: Path, n: int) -> Path:
    dest.mkdir()
    for i, (image, caption) in enumerate(flickr_pairs(shared_data, n)):
        (dest / image.name).write_bytes(image.read_bytes())
        # a few too-short captions and repeated ones, so curation drops something
        text = "two words" if i % 9 == 0 else caption if i % 7 else "a repeated caption here"
        (dest / f"{image.stem}.txt").write_text(text)
    return dest


def _flow(uri: str, src: Path, spec: str, exports: Path) -> dict:
    """ingest, curate, why/restore, embed, index, search, export on one corpus."""
    from plait.curate import curate
    from plait.embed import embed
    from plait.export import export
    from plait.index import VectorIndexConfig, index
    from plait.ingest import ingest
    from plait.lineage import restore, why
    from plait.retrieval import Query, Searcher

    corpus = Corpus.init(uri)
    ingest(corpus, src, licence="research-only")
    recipe = [{"op": "word_count", "min_words": 3}, {"op": "dedup_text"}]
    run = curate(corpus, recipe, workers=1, shard_size=10).run_id  # a worker process
    dropped = sorted(corpus.ids("rejected"))
    story = [e.command for e in why(corpus, dropped[0]).events]
    restored = restore(corpus, run).restored
    curate(corpus, recipe, workers=0, shard_size=10)
    embed(corpus, spec)
    index(corpus, config=VectorIndexConfig(threshold=0))  # an HNSW file beside the table
    s = Searcher(corpus)
    # (an hf:PATH spec cannot be recovered from its table's name: named explicitly)
    found = s.search(Query(text="a dog", k=5, encoder=spec))
    hits = [(h.sample_id, round(h.score, 4)) for h in found]
    like = [h.sample_id for h in s.search(Query(like=hits[0][0], k=3, encoder=spec))]
    rep = export(corpus, exports, "parquet", where="kind = 'pair'")
    return {
        "samples": sorted(corpus.ids()),
        "rejected": sorted(corpus.ids("rejected")),
        "dropped_first": dropped,
        "story": story,
        "restored": restored,
        "hits": hits,
        "like": like,
        "exported": rep.exported,
        "info": {k: v for k, v in corpus.info().to_dict().items() if k != "runs"},
    }


def test_every_command_on_object_storage(s3_server, shared_data: Path, tmp_path: Path) -> None:
    src = _folder(shared_data, tmp_path / "photos", 36)
    spec = f"hf:{save_tiny_clip(tmp_path / 'clip')}"
    uri = s3_server() + "/corpora/flickr"

    # the CLI with -o options instead of the environment's endpoint and keys
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    opts = ["-o", f"endpoint={os.environ['AWS_ENDPOINT_URL']}", "-o", "region=us-east-1"]
    opts += ["-o", "access_key_id=plait-test", "-o", "secret_access_key=plait-test"]
    out = subprocess.run(
        [sys.executable, "-m", "plait", *opts, "init", uri], env=env, capture_output=True
    )
    assert out.returncode == 0, out.stderr.decode()
    assert ObjectPath(uri + "/plait.json").is_file()
    assert not Path(uri).exists() and not Path("s3:").exists()  # nothing written locally

    remote = _flow(uri, src, spec, tmp_path / "export-s3")
    local = _flow(str(tmp_path / "local"), src, spec, tmp_path / "export-local")
    assert remote == local
    assert remote["dropped_first"] and remote["restored"] == len(remote["dropped_first"])
    assert remote["story"][:2] == ["ingest", "curate"] and remote["exported"] > 0
    names = {p.name for p in ObjectPath(uri + "/embeddings").iterdir()}
    assert {n for n in names if ".hnsw" in n} == {
        f"{n}.hnsw{x}"
        for n in {Path(p).stem for p in names if p.endswith(".lance")}
        for x in ("", ".json", ".rows.npz")
    }
    assert not ObjectPath(uri + "/.work").exists()  # curate's shard results went with the run

    # the server on the same corpus
    from plait.server import create_app

    from ..synth import ServerThread

    with ServerThread(create_app({"flickr": uri})) as srv:
        body = {"text": "a dog", "k": 5, "encoder": spec}
        r = httpx.post(srv.url + "api/corpora/flickr/search", json=body)
        assert r.status_code == 200, r.text
        assert [h["sample_id"] for h in r.json()["hits"]] == [h for h, _ in remote["hits"]]
        page = httpx.get(f"{srv.url}api/corpora/flickr/samples/{remote['dropped_first'][0]}")
        assert page.status_code == 200 and page.json()["lineage"][0]["command"] == "ingest"
        media = page.json()["slots"][0]["media_id"]
        thumb = httpx.get(f"{srv.url}api/corpora/flickr/media/{media}", params={"size": 64})
        assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    info = json.loads(
        subprocess.run(
            [sys.executable, "-m", "plait", "info", uri, "--json"], capture_output=True
        ).stdout
    )
    assert info["samples_by_kind"] == remote["info"]["samples_by_kind"]
    assert np.isfinite(remote["hits"][0][1])


def test_a_bucket_that_is_not_there_is_a_clear_error(s3_server) -> None:
    from plait.errors import CorpusError

    with pytest.raises(CorpusError, match="cannot reach s3://plait-no-such-bucket/c"):
        Corpus.init("s3://plait-no-such-bucket/c")
    with pytest.raises(CorpusError, match="not a plait corpus"):
        Corpus.open(s3_server() + "/empty")
