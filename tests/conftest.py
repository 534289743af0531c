"""Shared fixtures: where the real data lives, and fresh corpora."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED_DATA = Path(
    os.environ.get("PLAIT_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout; tests that need it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (set PLAIT_SHARED_DATA)")
    return SHARED_DATA


@pytest.fixture()
def corpus(tmp_path: Path):
    from plait import Corpus

    return Corpus.init(tmp_path / "corpus")


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct through plait's smollm2 generator, loaded once per session
    (the first load ever de-quantises the GGUF into the cache: ~15 s on a quiet machine)."""
    from plait.errors import MissingDependencyError
    from plait.generators import load_generator

    try:
        return load_generator("smollm2?loader=transformers")
    except MissingDependencyError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def ray_cluster():
    """One local Ray cluster for the whole session (starting one costs 10-20 s).

    Its workers import this checkout's plait and the toy operators of
    ``tests/unit/executors``; ``RAY_ADDRESS`` points child processes (a driver a
    test kills) at it. Tests must not call ``ray.shutdown()``.
    """
    ray = pytest.importorskip("ray")
    import plait

    paths = [
        str(Path(plait.__file__).resolve().parents[1]),
        str(Path(__file__).resolve().parent / "unit" / "executors"),
        os.environ.get("PYTHONPATH", ""),
    ]
    # the cluster's processes inherit this environment, and so do the workers of every
    # job, including drivers started by tests in other processes
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "RAY_ADDRESS")}
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    ctx = ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    os.environ["RAY_ADDRESS"] = ctx.address_info["address"]
    try:
        yield ctx.address_info["address"]
    finally:
        ray.shutdown()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
