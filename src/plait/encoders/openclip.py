"""``open_clip:ARCH/PRETRAINED``: OpenCLIP models, an optional extra (``plait[openclip]``).

open_clip is imported only when this encoder is built; without it the error names
``pip install 'plait[openclip]'``. ``PRETRAINED`` is an open_clip tag whose weights are
already in the local cache, or a path to a checkpoint file; nothing is downloaded here
unless open_clip itself is allowed to (set HF_HUB_OFFLINE=1 to forbid it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from plait._deps import require
from plait.encoders._torch import as_int, resolve_device, torch_module
from plait.encoders.base import IMAGE, TEXT, BaseEncoder
from plait.errors import ConfigError

if TYPE_CHECKING:
    from PIL.Image import Image

    from plait.io.corpus import Corpus

COMPONENT = "the open_clip encoder"


class OpenCLIPEncoder(BaseEncoder):
    modalities = frozenset({IMAGE, TEXT})

    def __init__(
        self,
        model: str,
        *,
        corpus: Corpus | None = None,
        device: str | None = None,
        batch_size: Any = 64,
    ) -> None:
        self.name = f"open_clip:{model}"
        open_clip = require("open_clip", "openclip", COMPONENT, package="open-clip-torch")
        arch, _, pretrained = model.partition("/")
        if not arch:
            raise ConfigError(f"{COMPONENT}: spec is open_clip:ARCH/PRETRAINED, got {model!r}")
        self._torch = torch_module(COMPONENT)
        self.batch_size = as_int(batch_size, "batch_size", COMPONENT)
        self.device = resolve_device(device, COMPONENT)
        net, _, self._preprocess = open_clip.create_model_and_transforms(
            arch, pretrained=pretrained or None, device=self.device
        )
        self.model = net.eval()
        self.tokenizer = open_clip.get_tokenizer(arch)
        with self._torch.inference_mode():
            self.dim = int(self.model.encode_text(self.tokenizer(["a"]).to(self.device)).shape[-1])

    def _text_batch(self, texts: list[str]) -> np.ndarray:
        with self._torch.inference_mode():
            out = self.model.encode_text(self.tokenizer(texts).to(self.device))
        return out.float().cpu().numpy()

    def prepare_image(self, image: Image) -> np.ndarray:
        return self._preprocess(image).numpy()

    def _image_batch(self, pixels: np.ndarray) -> np.ndarray:
        x = self._torch.from_numpy(np.ascontiguousarray(pixels)).to(self.device)
        with self._torch.inference_mode():
            out = self.model.encode_image(x)
        return out.float().cpu().numpy()
