"""Connecting to Ray: the one place the executor, Ray ingest and Ray embedding get their
cluster from (a running one ``RAY_ADDRESS`` names, else a new local one)."""

from __future__ import annotations

import os
from typing import Any

from plait._deps import require


def connect(workers: int) -> tuple[Any, bool]:
    """``ray``, connected to the cluster ``RAY_ADDRESS`` names or to a new local one of
    ``workers`` CPUs; the flag says whether this call connected (the caller then
    disconnects, which stops a cluster it started)."""
    ray = require("ray", "ray", "the ray executor", package="ray[data]")
    if ray.is_initialized():
        return ray, False
    if os.environ.get("RAY_ADDRESS"):
        # a running cluster's workers have their own environment: hand them the object
        # store's settings (a corpus on s3://, see plait.io.store)
        env = {k: v for k, v in os.environ.items() if k.startswith("AWS_")}
        ray.init(log_to_driver=False, runtime_env={"env_vars": env} if env else None)
    else:
        ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
    return ray, True
