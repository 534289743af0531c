"""The encoder seam: a Protocol, a base class that owns batching and normalisation, a registry.

Every back end turns texts and/or images into L2-normalised float32 ``(n, dim)`` rows.
Image encoders split their work in two (``prepare_image`` on one image, numpy only,
and ``encode_prepared`` on a stacked batch) so that ``plait embed`` can decode and
resize in a thread while the model runs the previous batch.

Specs are strings: ``minilm``, ``effnet-lite0``, ``hf:PATH``, ``open_clip:ARCH/PRETRAINED``,
``lit:NAME``. Options ride on the spec after ``?`` (``hf:./clip?dtype=bf16&quant=int8``)
or come as keyword arguments to :func:`load_encoder`; keywords win.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from plait import params
from plait.errors import ConfigError
from plait.registry import Registry
from plait.vectors import l2_normalise

if TYPE_CHECKING:
    from PIL.Image import Image

    from plait.io.corpus import Corpus

TEXT = "text"
IMAGE = "image"
VIDEO = "video"  # a whole clip (hf: X-CLIP); sound is "audio" (plait.encoders.sound_labels)


@runtime_checkable
class Encoder(Protocol):
    """What every encoder offers; see the module docstring for the contract.

    The image pipeline (``plait embed``, ``plait align``, Ray actors) calls the two
    halves separately: ``prepare_pixels`` in decode threads, ``encode_pixels`` on a
    stack of its outputs (``prepare_image``/``encode_prepared``: the float variant).
    :class:`BaseEncoder` implements all of them; a new back end subclasses it.
    """

    name: str
    dim: int
    modalities: frozenset[str]

    def encode_text(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_images(self, images: Sequence[Image]) -> np.ndarray: ...

    def prepare_image(self, image: Image) -> np.ndarray: ...

    def encode_prepared(self, batch: np.ndarray) -> np.ndarray: ...

    def prepare_pixels(self, image: Image) -> np.ndarray: ...

    def encode_pixels(self, batch: np.ndarray) -> np.ndarray: ...


class BaseEncoder:
    """Batching, normalisation and modality checks shared by the back ends.

    Subclasses set ``dim`` and ``modalities`` and implement ``_text_batch`` and/or
    ``prepare_image`` + ``_image_batch``; both return unnormalised float arrays.
    """

    name: str = ""
    dim: int = 0
    modalities: frozenset[str] = frozenset()
    batch_size: int = 64

    # -- public API ------------------------------------------------------------------------
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        self._check(TEXT)
        texts = list(texts)
        return self._batched(texts, self._text_batch)

    def encode_images(self, images: Sequence[Image]) -> np.ndarray:
        self._check(IMAGE)
        prepared = [self.prepare_image(im) for im in images]
        return self._batched(prepared, lambda chunk: self._image_batch(np.stack(chunk)))

    def encode_prepared(self, batch: np.ndarray) -> np.ndarray:
        """Embed a stack of ``prepare_image`` outputs (the embed pipeline's fast path)."""
        return self._embed_stack(batch, self._image_batch)

    def prepare_image(self, image: Image) -> np.ndarray:
        """Decode-side work for one image (resize, crop, scale), numpy only, thread-safe."""
        raise ConfigError(f"encoder {self.name!r} does not embed images")

    def prepare_pixels(self, image: Image) -> np.ndarray:
        """What the embed pipeline's decode threads hand over; :meth:`encode_pixels` takes
        a stack of them. By default the same as :meth:`prepare_image`; an encoder that can
        normalise on its device returns resized uint8 pixels here instead (a quarter of the
        bytes to stack and copy, and no float work on the CPU)."""
        return self.prepare_image(image)

    def encode_pixels(self, batch: np.ndarray) -> np.ndarray:
        """Embed a stack of :meth:`prepare_pixels` outputs."""
        return self._embed_stack(batch, self._pixels_batch)

    def _embed_stack(self, batch: np.ndarray, forward: Any) -> np.ndarray:
        self._check(IMAGE)
        if len(batch) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(forward(batch))

    # -- hooks -----------------------------------------------------------------------------
    def _pixels_batch(self, batch: np.ndarray) -> np.ndarray:
        """Unnormalised vectors of a :meth:`prepare_pixels` stack; overridden together."""
        return self._image_batch(batch)

    def _text_batch(self, texts: list[str]) -> np.ndarray:
        raise ConfigError(f"encoder {self.name!r} does not embed text")

    def _image_batch(self, pixels: np.ndarray) -> np.ndarray:
        raise ConfigError(f"encoder {self.name!r} does not embed images")

    # -- helpers ---------------------------------------------------------------------------
    def _check(self, modality: str) -> None:
        if modality not in self.modalities:
            have = ", ".join(sorted(self.modalities)) or "nothing"
            raise ConfigError(f"encoder {self.name!r} embeds {have}, not {modality}")

    def _batched(self, items: list[Any], fn: Callable[[list[Any]], np.ndarray]) -> np.ndarray:
        if not items:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = [fn(items[i : i + self.batch_size]) for i in range(0, len(items), self.batch_size)]
        return l2_normalise(np.concatenate(out, axis=0))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, dim={self.dim})"


def resize_square(image: Image, size: int) -> np.ndarray:
    """RGB image resized (bicubic, aspect squashed) to ``size`` x ``size``, HWC uint8."""
    from PIL import Image as PILImage

    img = image.convert("RGB") if image.mode != "RGB" else image
    if img.size != (size, size):
        img = img.resize((size, size), PILImage.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


# name -> factory(argument, corpus=..., **opts) -> Encoder. Prefixed specs ("hf:...") register
# the prefix; the part after the colon is the factory's argument.
ENCODERS: Registry[Callable[..., Encoder]] = Registry("encoder")
ENCODERS.add("minilm", "plait.encoders.minilm:MiniLMEncoder")
ENCODERS.add("effnet-lite0", "plait.encoders.effnet:EffNetLite0Encoder")
ENCODERS.add("effnet-lite1", "plait.encoders.effnet:EffNetLite1Encoder")
ENCODERS.add("effnet-lite2", "plait.encoders.effnet:EffNetLite2Encoder")
ENCODERS.add("hf", "plait.encoders.hf:HFEncoder")
ENCODERS.add("open_clip", "plait.encoders.openclip:OpenCLIPEncoder")
ENCODERS.add("lit", "plait.encoders.lit:LitEncoder")
ENCODERS.add("yamnet", "plait.encoders.sound_labels:SoundLabelBridge")

_PREFIXED = {"hf", "open_clip", "lit"}


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """``"hf:./m?dtype=bf16"`` -> ``("hf", "./m", {"dtype": "bf16"})``."""
    return params.parse_spec(spec, _PREFIXED, "encoder")


def load_encoder(spec: str, *, corpus: Corpus | None = None, **opts: Any) -> Encoder:
    """Build the encoder a spec names. Unknown names raise ``UnknownNameError``."""
    kind, arg, spec_opts = parse_spec(spec)
    factory = ENCODERS.get(kind)
    merged = {**spec_opts, **opts}
    params.check_options("encoder", kind, factory, merged, skip=("corpus",))
    enc = (
        factory(arg, corpus=corpus, **merged)
        if kind in _PREFIXED
        else factory(corpus=corpus, **merged)
    )
    enc.name = spec
    return enc


def encoder_names() -> list[str]:
    return [n + ":" if n in _PREFIXED else n for n in ENCODERS.names()]
