"""The generator seam: what a prompt is, what every generator offers, and the registry.

A generator turns a :class:`Prompt` (chat messages whose user turn may interleave text
and images, plus, for model-free generators, the question and its numbered sources) into
text. Every generator streams (:meth:`Generator.stream` yields text pieces), answers one
prompt (:meth:`Generator.generate`) and many (:meth:`Generator.generate_batch`: a real
batch for local models, bounded concurrency for servers), and says whether it reads
pixels (``accepts_images``) and how many images one request may carry (``max_images``).

Specs are strings, like encoders': ``extractive``, ``smollm2``, ``hf:DIR``,
``openai:BASE_URL#MODEL``. Options ride after ``?`` (``smollm2?threads=2``) or come as
keyword arguments to :func:`load_generator`; keywords win. Caption operators and the
answer pipeline build generators through this one registry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from plait import params
from plait.errors import ConfigError
from plait.registry import Registry


@dataclass(frozen=True)
class ImagePart:
    """One image inside a message: encoded bytes (JPEG/PNG) and a label (``image 2``)."""

    data: bytes
    mime: str = "image/jpeg"
    label: str = ""


Part = str | ImagePart
Warn = Callable[[str], None]
# What a generator answers when the sources do not hold the answer; the answer parser
# also knows the usual ways models say it.
ABSTAIN = "The sources do not answer this."


@dataclass
class Message:
    """One chat turn; ``content`` is text, or text and images in reading order."""

    role: str
    content: str | list[Part]

    def parts(self) -> list[Part]:
        return [self.content] if isinstance(self.content, str) else list(self.content)

    def text(self, image_text: Callable[[ImagePart], str] = lambda im: "") -> str:
        """The turn as plain text; images become ``image_text(part)`` (nothing by default)."""
        return "".join(p if isinstance(p, str) else image_text(p) for p in self.parts())


@dataclass
class Source:
    """A numbered source as a model-free generator sees it (the pipeline fills these)."""

    n: int
    text: str
    kind: str = "text"  # text or image
    label: str = ""  # what an image is called in the answer (its caption), if anything


@dataclass
class Prompt:
    """What a generator answers. ``messages`` is what a model reads; ``question`` and
    ``sources`` carry the same request in structured form for generators without a model."""

    messages: list[Message]
    question: str = ""
    sources: list[Source] = field(default_factory=list)

    @classmethod
    def of(cls, user: str | list[Part], system: str = "") -> Prompt:
        msgs = [Message("system", system)] if system else []
        return cls(msgs + [Message("user", user)])

    def images(self) -> list[ImagePart]:
        return [p for m in self.messages for p in m.parts() if isinstance(p, ImagePart)]

    def without_images(self, image_text: Callable[[ImagePart], str]) -> Prompt:
        """The same prompt with every image replaced by ``image_text(image)``."""
        msgs = [Message(m.role, m.text(image_text)) for m in self.messages]
        return Prompt(msgs, self.question, list(self.sources))


@dataclass(frozen=True)
class GenOptions:
    """Decoding options. Greedy by default: answers must be reproducible."""

    max_new_tokens: int = 256
    temperature: float = 0.0
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be at least 1, not {self.max_new_tokens}")
        if self.temperature < 0:
            raise ConfigError(f"temperature must be >= 0, not {self.temperature}")


@dataclass
class Generation:
    """One finished answer with its cost: tokens in and out, seconds, why it stopped."""

    text: str
    prompt_tokens: int = 0
    new_tokens: int = 0
    seconds: float = 0.0
    finish: str = "stop"  # stop, length, error
    warnings: list[str] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.seconds if self.seconds > 0 else 0.0


class CountedStream:
    """Text pieces as they are generated; once they are all read, ``new_tokens`` holds the
    number of tokens the model produced (None until then). Local models return one from
    :meth:`Generator.stream` so an answer records its exact cost, not a re-count of the
    decoded text."""

    def __init__(self, pieces: Iterator[str] | None = None) -> None:
        self.pieces: Iterator[str] = pieces if pieces is not None else iter(())
        self.new_tokens: int | None = None

    def __iter__(self) -> CountedStream:
        return self

    def __next__(self) -> str:
        return next(self.pieces)


@runtime_checkable
class Generator(Protocol):
    """What every generator offers; see the module docstring."""

    name: str
    accepts_images: bool
    max_images: int
    context_tokens: int

    def count_tokens(self, text: str) -> int: ...

    def stream(
        self, prompt: Prompt, options: GenOptions = ..., warn: Warn | None = None
    ) -> Iterator[str]: ...

    def generate(self, prompt: Prompt, options: GenOptions = ...) -> Generation: ...

    def generate_batch(
        self, prompts: Sequence[Prompt], options: GenOptions = ...
    ) -> list[Generation]: ...


class BaseGenerator:
    """Defaults shared by the back ends: ``generate`` joins ``stream``; ``generate_batch``
    answers one prompt after another. Subclasses implement :meth:`stream` (and may
    override the others with something faster); the lock keeps one model call at a time
    when a server shares the generator between threads."""

    name: str = ""
    accepts_images: bool = False
    max_images: int = 0
    context_tokens: int = 2048
    # A server answers many requests at once (callers keep ``concurrency`` in flight); a
    # local model answers a batch at once (callers hand it ``generate_batch`` chunks).
    remote: bool = False

    def __init__(self) -> None:
        self.lock = threading.RLock()

    def count_tokens(self, text: str) -> int:
        """A rough count (about 4 characters a token) for generators without a tokenizer."""
        return max(1, (len(text) + 3) // 4) if text else 0

    def stream(
        self, prompt: Prompt, options: GenOptions = GenOptions(), warn: Warn | None = None
    ) -> Iterator[str]:
        """Text pieces as they are generated; ``warn`` hears what degraded the answer."""
        raise NotImplementedError

    def generate(self, prompt: Prompt, options: GenOptions = GenOptions()) -> Generation:
        t0 = time.perf_counter()
        warnings: list[str] = []
        pieces = list(self.stream(prompt, options, warnings.append))
        text = "".join(pieces)
        return Generation(
            text,
            prompt_tokens=sum(self.count_tokens(m.text()) for m in prompt.messages),
            new_tokens=self.count_tokens(text),
            seconds=time.perf_counter() - t0,
            warnings=warnings,
        )

    def generate_batch(
        self, prompts: Sequence[Prompt], options: GenOptions = GenOptions()
    ) -> list[Generation]:
        return [self.generate(p, options) for p in prompts]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Free the model or connection pool."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` cut before the first stop string; whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


# name -> factory(argument, **opts) -> Generator. Prefixed specs register the prefix; the
# part after the colon is the factory's argument.
GENERATORS: Registry[Callable[..., Generator]] = Registry("generator")
GENERATORS.add("extractive", "plait.generators.extractive:ExtractiveGenerator")
GENERATORS.add("smollm2", "plait.generators.smollm2:load_smollm2")
GENERATORS.add("hf", "plait.generators.hf:HFGenerator")
GENERATORS.add("openai", "plait.generators.openai:OpenAIGenerator")

_PREFIXED = {"hf", "openai"}


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """``"hf:./m?dtype=bf16"`` -> ``("hf", "./m", {"dtype": "bf16"})``."""
    return params.parse_spec(spec, _PREFIXED, "generator")


def check_spec(spec: str, **opts: Any) -> tuple[Callable[..., Generator], str, str, dict]:
    """Check a spec without building anything (a recipe checks its steps before any
    work): the factory, kind, argument and options. Unknown names raise
    ``UnknownNameError``, unknown options ``ConfigError``."""
    if not spec or not spec.strip():
        raise ConfigError("a generator spec is needed, e.g. 'extractive' or 'smollm2'")
    kind, arg, spec_opts = parse_spec(spec)
    factory = GENERATORS.get(kind)
    merged = {**spec_opts, **opts}
    params.check_options("generator", kind, factory, merged, skip=())
    return factory, kind, arg, merged


def load_generator(spec: str, **opts: Any) -> Generator:
    """Build the generator a spec names. Unknown names raise ``UnknownNameError``; a
    missing optional dependency raises ``MissingDependencyError`` naming the extra."""
    factory, kind, arg, merged = check_spec(spec, **opts)
    gen = factory(arg, **merged) if kind in _PREFIXED else factory(**merged)
    gen.name = spec.strip()
    return gen


def generator_names() -> list[str]:
    return [n + ":" if n in _PREFIXED else n for n in GENERATORS.names()]


def as_int(value: Any, name: str, component: str, minimum: int = 0) -> int:
    try:
        out = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{component}: option {name} must be an integer, not {value!r}") from None
    if out < minimum:
        raise ConfigError(f"{component}: option {name} must be at least {minimum}, not {out}")
    return out


def as_float(value: Any, name: str, component: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{component}: option {name} must be a number, not {value!r}") from None
