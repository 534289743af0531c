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


SMOLLM2 = "smollm2?loader=transformers"


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M-Instruct through plait's smollm2 generator, loaded once per session
    (the first load ever de-quantises the GGUF into the cache: ~15 s on a quiet machine)."""
    from plait.errors import MissingDependencyError
    from plait.generators.calls import shared_generator

    try:  # the same instance the caption operators get for this spec in this process
        return shared_generator(SMOLLM2)
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


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto's standalone server) on 127.0.0.1 for the session,
    with the usual AWS_* variables pointing at it; yields a function that makes a bucket
    and returns its ``s3://`` URI."""
    pytest.importorskip("moto.server", reason="needs moto[server] (the test extra)")
    import socket
    import subprocess
    import sys
    import time
    import uuid

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        "AWS_ACCESS_KEY_ID": "plait-test",
        "AWS_SECRET_ACCESS_KEY": "plait-test",
        "AWS_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ALLOW_HTTP": "true",
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.1)

        def bucket() -> str:
            from pyarrow import fs

            name = f"plait-{uuid.uuid4().hex[:12]}"
            s3 = fs.S3FileSystem(
                access_key="plait-test",
                secret_key="plait-test",
                region="us-east-1",
                endpoint_override=f"http://127.0.0.1:{port}",
                scheme="http",
                allow_bucket_creation=True,
            )
            s3.create_dir(name)
            return f"s3://{name}"

        yield bucket
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
