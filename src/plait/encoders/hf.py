"""``hf:ID_OR_PATH``: CLIP and SigLIP dual encoders through transformers, offline.

The argument is a local directory (``save_pretrained`` output) or a hub id already in the
local Hugging Face cache; nothing is downloaded (``local_files_only``). The architecture
comes from the config's ``model_type``: ``clip`` or ``siglip`` (text and images), or
``xclip`` (X-CLIP: text and video; a clip is embedded whole from its keyframes).

Options (on the spec, ``hf:./clip?dtype=bf16``, or as keywords to ``load_encoder``):

- ``dtype``: ``fp32`` (default), ``bf16`` or ``fp16`` (fp16 only on CUDA);
- ``quant``: ``int8`` for dynamic int8 quantisation of every Linear layer (CPU only);
- ``device``: ``auto`` (default), ``cpu``, ``cuda``, ``cuda:1``;
- ``batch_size``: images or texts per forward.

Image preprocessing follows the saved image-processor config (resize, centre crop,
rescale, normalise) but runs in numpy/PIL in the caller's thread pool, so decoding overlaps
the forward in ``plait embed``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from plait._deps import require_transformers
from plait.encoders._torch import as_int, resolve_device, torch_dtype, torch_module
from plait.encoders.base import IMAGE, TEXT, VIDEO, BaseEncoder, l2_normalise
from plait.errors import ConfigError, NotFoundError

if TYPE_CHECKING:
    from PIL.Image import Image

    from plait.io.corpus import Corpus

COMPONENT = "the hf encoder"
_MODELS = {"clip": "CLIPModel", "siglip": "SiglipModel", "xclip": "XCLIPModel"}


class HFEncoder(BaseEncoder):
    modalities = frozenset({IMAGE, TEXT})

    def __init__(
        self,
        model: str,
        *,
        corpus: Corpus | None = None,
        dtype: str = "fp32",
        quant: str = "",
        device: str | None = None,
        batch_size: Any = 64,
    ) -> None:
        self.name = f"hf:{model}"
        self.batch_size = as_int(batch_size, "batch_size", COMPONENT)
        torch = self._torch = torch_module(COMPONENT)
        tf = require_transformers("embed", COMPONENT)
        self.device = resolve_device(device, COMPONENT)
        self.dtype = torch_dtype(dtype, COMPONENT)
        if quant not in ("", "none", "int8"):
            raise ConfigError(f"{COMPONENT}: quant must be 'int8' or empty, not {quant!r}")
        if quant == "int8" and (self.device != "cpu" or dtype != "fp32"):
            raise ConfigError(
                f"{COMPONENT}: quant=int8 is dynamic CPU quantisation; use it with "
                "device=cpu and dtype=fp32"
            )
        if dtype == "fp16" and self.device == "cpu":
            raise ConfigError(f"{COMPONENT}: fp16 needs CUDA; use dtype=bf16 on CPU")
        try:
            config = tf.AutoConfig.from_pretrained(model, local_files_only=True)
        except OSError as exc:
            raise NotFoundError(
                f"{COMPONENT}: no local model at {model!r} (a directory, or a hub "
                f"id already in the Hugging Face cache; nothing is downloaded): {exc}"
            ) from exc
        kind = getattr(config, "model_type", "")
        if kind not in _MODELS:
            raise ConfigError(
                f"{COMPONENT}: {model!r} is a {kind!r} model; supported: "
                f"{', '.join(sorted(_MODELS))}"
            )
        self.kind = kind
        if kind == "xclip":  # a video-text model: whole clips (their keyframes), not images
            self.modalities = frozenset({TEXT, VIDEO})
            self.frames = int(getattr(config.vision_config, "num_frames", 8))
        net = getattr(tf, _MODELS[kind]).from_pretrained(model, local_files_only=True)
        net = net.eval()
        if quant == "int8":
            net = torch.ao.quantization.quantize_dynamic(net, {torch.nn.Linear}, dtype=torch.qint8)
        else:
            net = net.to(device=self.device, dtype=self.dtype)
        self.model = net
        self.tokenizer = tf.AutoTokenizer.from_pretrained(model, local_files_only=True)
        self.image_cfg = _image_config(model, config)
        self.dim = int(getattr(config, "projection_dim", 0) or config.text_config.hidden_size)
        # SigLIP was trained on texts padded to a fixed length; CLIP on padding=longest.
        self._text_kwargs: dict[str, Any] = (
            {"padding": "max_length", "max_length": int(config.text_config.max_position_embeddings)}
            if kind == "siglip"
            else {"padding": True, "max_length": int(config.text_config.max_position_embeddings)}
        )

    # -- text ------------------------------------------------------------------------------
    def _text_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        enc = self.tokenizer(texts, truncation=True, return_tensors="pt", **self._text_kwargs)
        enc = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        if self.kind == "siglip":
            enc.pop("attention_mask", None)  # SigLIP attends over the padding it was trained with
        with torch.inference_mode():
            out = self.model.get_text_features(**enc)
        return _pooled(out).float().cpu().numpy()

    # -- images ----------------------------------------------------------------------------
    def prepare_image(self, image: Image) -> np.ndarray:
        return preprocess(image, self.image_cfg)

    def prepare_pixels(self, image: Image) -> np.ndarray:
        return resize_crop(image, self.image_cfg)

    def _pixels_batch(self, batch: np.ndarray) -> np.ndarray:
        """uint8 pixels go to the device as they are and are normalised there."""
        torch = self._torch
        cfg = self.image_cfg
        x = torch.from_numpy(np.ascontiguousarray(batch)).to(self.device, non_blocking=True)
        mean = torch.tensor(cfg["image_mean"], device=self.device).view(1, -1, 1, 1)
        std = torch.tensor(cfg["image_std"], device=self.device).view(1, -1, 1, 1)
        x = (x.float() * float(cfg["rescale_factor"]) - mean) / std
        return self._forward_images(x)

    def _image_batch(self, pixels: np.ndarray) -> np.ndarray:
        x = self._torch.from_numpy(np.ascontiguousarray(pixels)).to(self.device)
        return self._forward_images(x)

    # -- video (X-CLIP) --------------------------------------------------------------------
    def encode_video(self, clips: Sequence[Sequence[Image]]) -> np.ndarray:
        """Unit vectors of clips, each given as its frames (keyframes) in time order;
        they are spread or repeated to the model's ``num_frames``."""
        self._check(VIDEO)
        if not clips:
            return np.zeros((0, self.dim), np.float32)
        stacks = [
            np.stack([preprocess(f, self.image_cfg) for f in spread(c, self.frames)]) for c in clips
        ]
        x = self._torch.from_numpy(np.stack(stacks)).to(self.device, self.dtype)
        with self._torch.inference_mode():
            out = self.model.get_video_features(pixel_values=x)
        return l2_normalise(_pooled(out).float().cpu().numpy())

    def _forward_images(self, x: Any) -> np.ndarray:
        if not _is_quantised(self.model):
            x = x.to(self.dtype)
        with self._torch.inference_mode():
            out = self.model.get_image_features(pixel_values=x)
        return _pooled(out).float().cpu().numpy()


def spread(frames: Sequence[Any], n: int) -> list[Any]:
    """``n`` frames evenly spread over ``frames`` (repeating some when there are fewer)."""
    if not frames:
        raise ConfigError("a clip needs at least one frame")
    return [frames[min(len(frames) - 1, i * len(frames) // n)] for i in range(n)]


def _pooled(out: Any) -> Any:
    """transformers >= 5 returns a model output whose pooler_output is the projection."""
    return out if hasattr(out, "float") else out.pooler_output


def _is_quantised(model: Any) -> bool:
    return any("quantized" in type(m).__module__ for m in model.modules())


def _image_config(path: str, config: Any) -> dict[str, Any]:
    """The saved preprocessor_config.json, or CLIP/SigLIP defaults for the vision config."""
    cfg: dict[str, Any] = {}
    local = Path(path) / "preprocessor_config.json"
    if local.is_file():
        cfg = json.loads(local.read_text())
    else:
        try:
            from huggingface_hub import hf_hub_download

            cfg = json.loads(
                Path(
                    hf_hub_download(path, "preprocessor_config.json", local_files_only=True)
                ).read_text()
            )
        except Exception:  # no cached preprocessor: fall back to the architecture's defaults
            cfg = {}
    size = int(config.vision_config.image_size)
    return {
        "size": cfg.get("size", {"shortest_edge": size}),
        "crop_size": cfg.get("crop_size", {"height": size, "width": size}),
        "do_center_crop": cfg.get("do_center_crop", "crop_size" in cfg or not cfg),
        "do_resize": cfg.get("do_resize", True),
        "rescale_factor": float(cfg.get("rescale_factor", 1 / 255)),
        "image_mean": cfg.get("image_mean", [0.48145466, 0.4578275, 0.40821073]),
        "image_std": cfg.get("image_std", [0.26862954, 0.26130258, 0.27577711]),
        "resample": int(cfg.get("resample", 3)),
    }


def preprocess(image: Image, cfg: dict[str, Any]) -> np.ndarray:
    """Resize (shortest edge or fixed size), centre-crop, rescale, normalise; CHW float32."""
    arr = resize_crop(image, cfg).astype(np.float32) * cfg["rescale_factor"]
    mean = np.asarray(cfg["image_mean"], np.float32).reshape(-1, 1, 1)
    std = np.asarray(cfg["image_std"], np.float32).reshape(-1, 1, 1)
    return np.ascontiguousarray((arr - mean) / std)


def resize_crop(image: Image, cfg: dict[str, Any]) -> np.ndarray:
    """Resize (shortest edge or fixed size) and centre-crop; CHW uint8."""
    from PIL import Image as PILImage

    img = image.convert("RGB") if image.mode != "RGB" else image
    size = cfg["size"]
    resample = PILImage.Resampling(cfg["resample"])
    if cfg["do_resize"]:
        if "shortest_edge" in size:
            s = int(size["shortest_edge"])
            w, h = img.size
            # transformers truncates the long side (int), it does not round
            new = (s, int(s * h / w)) if w <= h else (int(s * w / h), s)
        else:
            new = (int(size["width"]), int(size["height"]))
        if img.size != new:
            img = img.resize(new, resample)
    if cfg["do_center_crop"]:
        cw, ch = int(cfg["crop_size"]["width"]), int(cfg["crop_size"]["height"])
        w, h = img.size
        left, top = (w - cw) // 2, (h - ch) // 2
        img = img.crop((left, top, left + cw, top + ch))
    return np.ascontiguousarray(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1))
