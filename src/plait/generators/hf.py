"""``hf:DIR``: any local causal language model (or vision-language model) through transformers.

The directory is a ``save_pretrained`` output (config, weights, tokenizer); nothing is
downloaded. A config with a ``vision_config`` loads as an image-text-to-text model with
its processor and reads the prompt's images; any other loads as a causal LM, and the
prompt's images reach it only as the text the pipeline puts in their place.

Options: ``threads`` (torch threads; default: what torch has), ``dtype`` (``fp32``,
``bf16``), ``batch_size`` (prompts per forward in :meth:`generate_batch`), ``max_images``.
Streaming runs ``model.generate`` in a worker thread and yields decoded pieces as they
come; batches are left-padded so every row's new tokens start at the same column.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from plait._deps import require, require_transformers
from plait.errors import ConfigError, NotFoundError, PlaitError
from plait.generators.base import (
    BaseGenerator,
    CountedStream,
    Generation,
    GenOptions,
    ImagePart,
    Prompt,
    Warn,
    as_int,
    truncate_at_stop,
)

COMPONENT = "the hf generator"
EXTRA = "generate"


def _torch() -> Any:
    return require("torch", EXTRA, COMPONENT)


class HFGenerator(BaseGenerator):
    """A transformers model held in memory; see the module docstring."""

    def __init__(
        self,
        path: str,
        *,
        threads: Any = 0,
        dtype: str = "fp32",
        batch_size: Any = 8,
        max_images: Any = 4,
    ) -> None:
        super().__init__()
        self.name = f"hf:{path}"
        root = Path(path).expanduser()
        if not (root / "config.json").is_file():
            raise NotFoundError(
                f"{COMPONENT}: {root} is not a model directory (no config.json); give a "
                "directory written by save_pretrained"
            )
        torch = _torch()
        tf = require_transformers(EXTRA, COMPONENT)
        n = as_int(threads, "threads", COMPONENT)
        if n:
            torch.set_num_threads(n)
        dtypes = {"fp32": torch.float32, "bf16": torch.bfloat16}
        if dtype not in dtypes:
            raise ConfigError(f"{COMPONENT}: dtype must be fp32 or bf16, not {dtype!r}")
        self.batch_size = as_int(batch_size, "batch_size", COMPONENT, minimum=1)
        config = tf.AutoConfig.from_pretrained(str(root), local_files_only=True)
        self.vision = getattr(config, "vision_config", None) is not None
        kw = {"local_files_only": True, "dtype": dtypes[dtype]}
        try:
            if self.vision:
                self.processor = tf.AutoProcessor.from_pretrained(str(root), local_files_only=True)
                self.tokenizer = self.processor.tokenizer
                self.model = tf.AutoModelForImageTextToText.from_pretrained(str(root), **kw)
            else:
                self.processor = None
                self.tokenizer = tf.AutoTokenizer.from_pretrained(str(root), local_files_only=True)
                self.model = tf.AutoModelForCausalLM.from_pretrained(str(root), **kw)
        except (OSError, ValueError, KeyError) as exc:
            raise PlaitError(f"{COMPONENT}: cannot load {root}: {exc}") from exc
        self.model.eval()
        self.accepts_images = self.vision
        self.max_images = as_int(max_images, "max_images", COMPONENT) if self.vision else 0
        self.context_tokens = int(
            getattr(getattr(config, "text_config", config), "max_position_embeddings", 2048) or 2048
        )
        tok = self.tokenizer
        if tok.pad_token_id is None:
            tok.pad_token = tok.eos_token
        self._torch_mod = torch

    # -- prompts -----------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"]) if text else 0

    def _chat(self, prompt: Prompt) -> tuple[str, list[Any]]:
        """The prompt as the model's chat-formatted text, and its images (VLMs only)."""
        images: list[Any] = []
        if self.vision:
            msgs = []
            for m in prompt.messages:
                content = []
                for p in m.parts():
                    if isinstance(p, ImagePart):
                        if len(images) < self.max_images:
                            images.append(_pil(p))
                            content.append({"type": "image"})
                        else:
                            content.append({"type": "text", "text": f"[{p.label or 'image'}]"})
                    else:
                        content.append({"type": "text", "text": p})
                msgs.append({"role": m.role, "content": content})
            text = self.processor.apply_chat_template(msgs, add_generation_prompt=True)
            return text, images
        msgs = [{"role": m.role, "content": m.text()} for m in prompt.messages]
        if getattr(self.tokenizer, "chat_template", None):
            text = self.tokenizer.apply_chat_template(
                msgs, add_generation_prompt=True, tokenize=False
            )
        else:  # a base model: plain turns
            text = "\n\n".join(f"{m['role']}: {m['content']}" for m in msgs) + "\n\nassistant:"
        return text, images

    def _inputs(self, texts: list[str], images: list[list[Any]]) -> dict[str, Any]:
        if self.vision and any(images):
            return dict(
                self.processor(text=texts, images=images or None, return_tensors="pt", padding=True)
            )
        return dict(
            self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        )

    def _kwargs(self, options: GenOptions) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "max_new_tokens": options.max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
        }
        if options.temperature > 0:
            kw.update(do_sample=True, temperature=options.temperature)
        else:
            kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        if options.stop:
            kw.update(stop_strings=list(options.stop), tokenizer=self.tokenizer)
        return kw

    # -- generation --------------------------------------------------------------------------
    def stream(
        self, prompt: Prompt, options: GenOptions = GenOptions(), warn: Warn | None = None
    ) -> CountedStream:
        out = CountedStream()
        out.pieces = self._stream(prompt, options, out)  # sets out.new_tokens when done
        return out

    def _stream(self, prompt: Prompt, options: GenOptions, out: CountedStream) -> Iterator[str]:
        text, images = self._chat(prompt)
        streamer = _counting_streamer(require_transformers(EXTRA, COMPONENT))(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600
        )
        errors: list[BaseException] = []

        def work() -> None:
            try:
                with self.lock, self._torch_mod.inference_mode():
                    self.tokenizer.padding_side = "left"
                    inputs = self._inputs([text], [images])
                    self.model.generate(**inputs, **self._kwargs(options), streamer=streamer)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                errors.append(exc)
                streamer.end()

        worker = threading.Thread(target=work, name="plait-generate", daemon=True)
        worker.start()
        seen = ""
        for piece in streamer:
            seen += piece
            cut, hit = truncate_at_stop(seen, options.stop)
            if hit:
                rest = cut[len(seen) - len(piece) :]
                if rest:
                    yield rest
                break
            yield piece
        worker.join()
        if errors:
            raise PlaitError(f"{self.name}: generation failed: {errors[0]}") from errors[0]
        out.new_tokens = streamer.generated

    def generate(self, prompt: Prompt, options: GenOptions = GenOptions()) -> Generation:
        return self.generate_batch([prompt], options)[0]

    def generate_batch(
        self, prompts: Sequence[Prompt], options: GenOptions = GenOptions()
    ) -> list[Generation]:
        out: list[Generation] = []
        for lo in range(0, len(prompts), self.batch_size):
            out.extend(self._batch(list(prompts[lo : lo + self.batch_size]), options))
        return out

    def _batch(self, prompts: list[Prompt], options: GenOptions) -> list[Generation]:
        chats = [self._chat(p) for p in prompts]
        t0 = time.perf_counter()
        with self.lock, self._torch_mod.inference_mode():
            self.tokenizer.padding_side = "left"
            inputs = self._inputs([c[0] for c in chats], [c[1] for c in chats])
            ids = self.model.generate(**inputs, **self._kwargs(options))
        seconds = time.perf_counter() - t0
        width = inputs["input_ids"].shape[1]
        mask = inputs["attention_mask"]
        out = []
        pad, eos = self.tokenizer.pad_token_id, self.tokenizer.eos_token_id
        for i in range(len(prompts)):
            new = [t for t in ids[i, width:].tolist()]
            while new and new[-1] in (pad, eos):
                new.pop()
            text = self.tokenizer.decode(new, skip_special_tokens=True)
            text, hit = truncate_at_stop(text, options.stop)
            finish = "stop" if hit or len(new) < options.max_new_tokens else "length"
            out.append(
                Generation(
                    text,
                    prompt_tokens=int(mask[i].sum()),
                    new_tokens=len(new),
                    seconds=seconds,
                    finish=finish,
                )
            )
        return out

    def yes_probability(self, prompts: Sequence[Prompt]) -> list[float]:
        """P(yes) / (P(yes) + P(no)) for the first answer token of each prompt: a graded
        pointwise relevance judgement (one forward per batch, no decoding)."""
        torch = self._torch_mod
        vocab = self.tokenizer
        yes = {vocab.encode(w, add_special_tokens=False)[0] for w in ("yes", "Yes", " yes", " Yes")}
        no = {vocab.encode(w, add_special_tokens=False)[0] for w in ("no", "No", " no", " No")}
        out: list[float] = []
        for lo in range(0, len(prompts), self.batch_size):
            chats = [self._chat(p) for p in prompts[lo : lo + self.batch_size]]
            with self.lock, torch.inference_mode():
                self.tokenizer.padding_side = "left"
                inputs = self._inputs([c[0] for c in chats], [c[1] for c in chats])
                logits = self.model(**inputs).logits[:, -1, :].float()
            probs = torch.softmax(logits, dim=-1)
            py = probs[:, sorted(yes)].sum(dim=-1)
            pn = probs[:, sorted(no)].sum(dim=-1)
            out.extend((py / (py + pn + 1e-9)).tolist())
        return out

    def close(self) -> None:
        self.model = None


def _counting_streamer(tf: Any) -> Any:
    """transformers' TextIteratorStreamer that also counts the tokens generated (the
    prompt, which ``generate`` hands it first, is not counted)."""

    class Counting(tf.TextIteratorStreamer):
        generated = 0

        def put(self, value: Any) -> None:
            if not (self.skip_prompt and self.next_tokens_are_prompt):
                self.generated += int(value.numel())
            super().put(value)

    return Counting


def _pil(part: ImagePart) -> Any:
    from plait.io.media import open_image

    return open_image(part.data)
