"""``plait index`` and ``plait search`` on real DocBank pages with the real minilm encoder."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from plait.schema import Sample, Source, embeddings_schema, samples_table

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def minilm():
    import torch

    torch.set_num_threads(1)
    try:
        from plait.encoders import load_encoder

        return load_encoder("minilm")
    except Exception as exc:  # the encoders package or its weights are not installed
        pytest.skip(f"the minilm encoder cannot be loaded: {exc}")


def pages(shared_data: Path, n: int = 8) -> list[tuple[str, str, str]]:
    """(page id, page text without the query sentence, query sentence) for n DocBank pages."""
    out = []
    for txt in sorted((shared_data / "docbank").glob("*.txt")):
        text = " ".join(
            ln.split("\t")[0] for ln in txt.read_text(errors="replace").splitlines() if ln.strip()
        )
        sents = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", text) if 10 <= len(s.split()) <= 40]
        if len(sents) >= 3:
            q = sents[len(sents) // 2]
            out.append((f"docbank/{txt.stem}#0", text.replace(q, " "), q))
        if len(out) == n:
            break
    return out


def test_index_then_search_finds_the_page_of_a_held_out_sentence(
    corpus, shared_data, minilm
) -> None:
    from plait.cli import app

    items = pages(shared_data)
    samples = []
    for pid, text, _ in items:
        words = text.split()
        chunks = [" ".join(words[i : i + 120]) for i in range(0, len(words), 120)]
        samples.append(
            Sample(
                id=pid,
                kind="page",
                texts=chunks,
                images=[None] * len(chunks),
                parent=pid.split("#")[0],
                position=0,
                source=Source(uri=pid, dataset="docbank", licence="Apache-2.0"),
            )
        )
    corpus.append("samples", samples_table(samples))
    rows = [(s.id, i, t) for s in samples for i, t in enumerate(s.texts)]
    vecs = minilm.encode_text([t for *_, t in rows])
    import lance

    corpus.embeddings_path("minilm").parent.mkdir(parents=True)
    lance.write_dataset(
        pa.table(
            {
                "sample_id": [r[0] for r in rows],
                "slot": pa.array([r[1] for r in rows], pa.int32()),
                "modality": ["text"] * len(rows),
                "content": [hashlib.sha256(r[2].encode()).hexdigest() for r in rows],
                "vector": pa.FixedSizeListArray.from_arrays(
                    pa.array(np.asarray(vecs, np.float32).ravel()), 384
                ),
            },
            schema=embeddings_schema(384),
        ),
        str(corpus.embeddings_path("minilm")),
    )
    runner = CliRunner()
    res = runner.invoke(app, ["index", str(corpus.path), "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert (
        report["vectors"]["minilm"]["action"] == "exact" and report["fulltext"]["action"] == "built"
    )

    found = {"--fulltext": 0, "--hybrid": 0, "vector": 0}
    for pid, _, q in items:
        for mode in found:
            args = ["search", str(corpus.path), q, "--kind", "page", "-k", "3", "--json"]
            res = runner.invoke(app, args + ([mode] if mode != "vector" else []))
            assert res.exit_code == 0, res.output
            hits = json.loads(res.stdout)
            found[mode] += hits[0]["sample_id"] == pid
            assert hits[0]["parts"] and hits[0]["sample"]["source"]["licence"] == "Apache-2.0"
    assert found["--fulltext"] >= len(items) - 1 and found["--hybrid"] >= len(items) - 1
    assert found["vector"] >= len(items) // 2

    # Pages roll up to their document unless pages are asked for.
    res = runner.invoke(
        app, ["search", str(corpus.path), items[0][2], "--hybrid", "-k", "2", "--json"]
    )
    top = json.loads(res.stdout)[0]
    assert (
        top["sample_id"] == items[0][0].split("#")[0]
        and top["kind"] == "document"
        and top["pages"][0] == items[0][0]
    )

    res = runner.invoke(app, ["search", str(corpus.path), "x", "--encoder", "lit:nope"])
    assert res.exit_code != 0
