"""A frozen torch module run by ONNX Runtime on CPU (imported only when a model is built).

Why: EfficientNet-Lite is mostly depthwise convolutions, which torch's eager CPU kernels
run slowly; ONNX Runtime runs the same graph 2.2x (Lite0) to 3.2x (Lite2) faster on this
project's 2-core machines, with outputs equal to within 1e-5 (``tests/integration/
test_embed_towers.py``). The module is exported in memory when the encoder is built
(half a second for Lite2), so there is no file to cache or go stale.

Sessions are per thread count: the server's batching workers each run forwards on one
thread (``torch.set_num_threads(1)`` in that worker), ``plait embed`` on all of them,
and ONNX Runtime fixes a session's pool when it is created. A session is made for the
calling thread's torch count the first time that count is seen.
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from plait._deps import require

# One export at a time: the TorchScript exporter keeps global state, and the warnings
# filter it runs under is process-wide (two towers built on two threads, as ``lit:``
# does, restored each other's filters mid-export and printed its notes).
_EXPORT = threading.Lock()


class OnnxModule:
    """``module`` (inputs: one float32 array) exported once and run by ONNX Runtime."""

    def __init__(
        self,
        module: Any,
        example: Any,
        outputs: Sequence[str],
        *,
        extra: str,
        component: str,
    ) -> None:
        torch = require("torch", extra, component)
        require("onnx", extra, component)  # the exporter writes through it
        self._ort = require("onnxruntime", extra, component)
        self.outputs = tuple(outputs)
        buf = io.BytesIO()
        with _EXPORT, warnings.catch_warnings():  # the exporter's constant-folding notes
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module.eval(),
                (example,),
                buf,
                dynamo=False,
                input_names=["input"],
                output_names=list(self.outputs),
                dynamic_axes={"input": {0: "batch"}},
                opset_version=17,
            )
        self._model = buf.getvalue()
        self._torch = torch
        self._sessions: dict[int, Any] = {}
        self._lock = threading.Lock()

    def session(self, threads: int) -> Any:
        threads = max(1, threads)
        with self._lock:
            sess = self._sessions.get(threads)
            if sess is None:
                opts = self._ort.SessionOptions()
                opts.intra_op_num_threads = threads
                opts.inter_op_num_threads = 1
                # idle pool threads sleep instead of spinning: beside request threads
                # and decoders on a few cores, a spinning pool steals their time
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                sess = self._ort.InferenceSession(
                    self._model, opts, providers=["CPUExecutionProvider"]
                )
                self._sessions[threads] = sess
        return sess

    def __call__(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Every output of one forward, by name (the calling thread's torch thread count)."""
        sess = self.session(self._torch.get_num_threads())
        got = sess.run(None, {"input": np.ascontiguousarray(x, dtype=np.float32)})
        return dict(zip(self.outputs, got, strict=True))
