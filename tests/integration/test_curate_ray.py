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


@pytest.mark.ray
@pytest.mark.slow
def test_local_and_ray_give_the_same_corpus(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    logs = {name: tmp_path / f"setup-{name}" for name in ("local", "ray")}
    corpora = {name: toy_corpus.text_corpus(tmp_path / name, 600) for name in logs}
    reports = {}
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(TOY)}},
    )
    try:
        for name, corpus in corpora.items():
            recipe = [
                {"op": "toy_ops:MinWords", "min_words": 3},
                {"op": "toy_ops:Lower"},
                {"op": "toy_ops:ExactText"},
                {"op": "toy_ops:FakeModel", "log_dir": str(logs[name]), "threshold": 0.3},
            ]
            reports[name] = curate(corpus, recipe, executor=name, workers=2, shard_size=100)
    finally:
        ray.shutdown()
    local, remote = (_state(corpora[n]) for n in ("local", "ray"))
    assert local == remote
    assert len(local[0]) == reports["ray"].kept > 0
    assert {r for _, r, _ in local[1]} == {"toy-min-words", "toy-exact-text", "toy-model"}
    strip = [{k: v for k, v in s.items() if k != "seconds"} for s in reports["local"].steps]
    assert strip == [{k: v for k, v in s.items() if k != "seconds"} for s in reports["ray"].steps]
    assert all("model_score" in schema.loads(s) for _, _, s in remote[0])
    # the model op loaded once per worker process / actor, never per batch (6 shards)
    for name in logs:
        loads = list(logs[name].iterdir())
        assert 1 <= len(loads) <= 2, (name, loads)
        assert len({p.name.split("-")[1] for p in loads}) == len(loads)
