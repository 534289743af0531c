"""One recipe under the local and the Ray executor: same samples, same stats, same drops."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TOY = Path(__file__).resolve().parents[1] / "unit" / "executors"
sys.path.insert(0, str(TOY))

import toy_corpus  # noqa: E402

from plait import schema  # noqa: E402
from plait.curate import curate  # noqa: E402


def _state(corpus):
    samples = corpus.read("samples").to_pylist()
    return (
        sorted((r["id"], tuple(r["texts"]), r["stats"]) for r in samples),
        sorted((r["id"], r["op"], r["reason"]) for r in corpus.read("rejected").to_pylist()),
    )


def _documents(path: Path):  # noqa: ANN202
    """20 documents of 3 pages, pages stored apart from their document; odd documents
    have a one-word title."""
    from plait import Corpus
    from plait.schema import DOCUMENT, PAGE, Sample, Source, samples_table

    docs, pages = [], []
    for k in range(20):
        title = "short" if k % 2 else f"a long enough title {k}"
        docs.append(Sample(f"d/{k:02d}", DOCUMENT, [title], [None], Source("m", "d")))
        for p in range(3):
            text = f"page {p} of document {k} reads well"
            pages.append(
                Sample(
                    f"d/{k:02d}#p{p}",
                    PAGE,
                    [text],
                    [None],
                    Source("m", "d"),
                    parent=f"d/{k:02d}",
                    position=p,
                )
            )
    corpus = Corpus.init(path)
    corpus.append("samples", samples_table(pages[::-1] + docs))
    return corpus


@pytest.mark.ray
@pytest.mark.slow
def test_local_and_ray_give_the_same_corpus(tmp_path: Path, ray_cluster: str) -> None:
    logs = {name: tmp_path / f"setup-{name}" for name in ("local", "ray")}
    corpora = {name: toy_corpus.text_corpus(tmp_path / name, 600) for name in logs}
    docs = {name: _documents(tmp_path / f"docs-{name}") for name in logs}
    reports = {}
    for name, corpus in corpora.items():
        recipe = [
            {"op": "toy_ops:MinWords", "min_words": 3},
            {"op": "toy_ops:Lower"},
            {"op": "toy_ops:ExactText"},
            {"op": "toy_ops:FakeModel", "log_dir": str(logs[name]), "threshold": 0.3},
        ]
        reports[name] = curate(corpus, recipe, executor=name, workers=2, shard_size=100)
    for name, corpus in docs.items():  # pages go with their document on both executors
        recipe = [{"op": "word_count", "min_words": 3}, {"op": "dedup_text"}]
        curate(corpus, recipe, executor=name, workers=2, shard_size=5)
    local, remote = (_state(corpora[n]) for n in ("local", "ray"))
    assert local == remote
    assert len(local[0]) == reports["ray"].kept > 0
    assert {r for _, r, _ in local[1]} == {"toy-min-words", "toy-exact-text", "toy-model"}
    strip = [{k: v for k, v in s.items() if k != "seconds"} for s in reports["local"].steps]
    assert strip == [{k: v for k, v in s.items() if k != "seconds"} for s in reports["ray"].steps]
    assert all("model_score" in schema.loads(s) for _, _, s in remote[0])
    local, remote = (_state(docs[n]) for n in ("local", "ray"))
    assert local == remote
    cascaded = [(i, r) for i, _, r in remote[1] if r.startswith("parent_dropped:")]
    assert len(cascaded) == 3 * 10 and all(
        i.startswith(r.split(":", 1)[1] + "#") for i, r in cascaded
    )
    # the model op loaded once per worker process / actor, never per batch (6 shards)
    for name in logs:
        loads = list(logs[name].iterdir())
        assert 1 <= len(loads) <= 2, (name, loads)
        assert len({p.name.split("-")[1] for p in loads}) == len(loads)
