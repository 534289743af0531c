"""``hf:DIR`` with a vision-language model: a tiny randomly initialised LLaVA (the real
architecture: CLIP vision tower, projector, Llama decoder) saved like any checkpoint, with
its processor and chat template. No weights of any VLM exist offline here, so the answers
are noise; what is checked is that the loader builds it as an image-text model and that
images given through the Generator interface reach its vision tower."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from plait.generators import GenOptions, ImagePart, Prompt, load_generator  # noqa: E402

TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: "
    "{% if m['content'] is string %}{{ m['content'] }}{% else %}"
    "{% for c in m['content'] %}{% if c['type'] == 'image' %}<image>"
    "{% else %}{{ c['text'] }}{% endif %}{% endfor %}{% endif %}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)
WORDS = "the receipt total is a dog runs in snow source image question answer yes no show me"


def tiny_llava(root: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    raw = Tokenizer(models.WordLevel(unk_token="<unk>"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    special = ["<unk>", "<pad>", "<s>", "</s>", "<image>"]
    raw.train_from_iterator([WORDS], trainers.WordLevelTrainer(special_tokens=special))
    tok = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
    )
    image_size, patch = 32, 8
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=image_size,
            patch_size=patch,
        ),
        text_config=LlamaConfig(
            vocab_size=len(tok),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=512,
            pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id,
        ),
        image_token_index=tok.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        image_seq_length=(image_size // patch) ** 2,
    )
    torch.manual_seed(0)
    model = LlavaForConditionalGeneration(config)
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": image_size},
            crop_size={"height": image_size, "width": image_size},
        ),
        tokenizer=tok,
        patch_size=patch,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,  # CLIP's class token, dropped by "default"
        chat_template=TEMPLATE,
    )
    out = root / "tiny-llava"
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (48, 40), colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def vlm(tmp_path_factory: pytest.TempPathFactory):
    gen = load_generator(f"hf:{tiny_llava(tmp_path_factory.mktemp('vlm'))}?max_images=2")
    calls: list[int] = []
    gen.model.model.vision_tower.register_forward_hook(
        lambda mod, args, out: calls.append(int(args[0].shape[0]))
    )
    return gen, calls


def ask_with(images: list[bytes]) -> Prompt:
    parts: list = ["show me the dog"]
    parts += [ImagePart(b, "image/png", f"image {i + 1}") for i, b in enumerate(images)]
    return Prompt.of(parts, system="answer yes or no")


def test_a_vlm_directory_loads_as_an_image_text_model(vlm):
    gen, _ = vlm
    from transformers import LlavaForConditionalGeneration

    assert isinstance(gen.model, LlavaForConditionalGeneration)
    assert gen.accepts_images and gen.max_images == 2 and gen.processor is not None


def test_images_reach_the_vision_tower_through_generate_and_stream(vlm):
    gen, calls = vlm
    calls.clear()
    out = gen.generate(ask_with([png((200, 30, 30))]), GenOptions(max_new_tokens=3))
    assert calls == [1]  # one image encoded once, before decoding starts
    assert out.prompt_tokens > 16 and 0 <= out.new_tokens <= 3  # 16 image tokens expanded
    calls.clear()
    stream = gen.stream(ask_with([png((10, 10, 220))]), GenOptions(max_new_tokens=3))
    assert stream.new_tokens is None  # known once the stream is read
    pieces = list(stream)
    assert calls == [1] and isinstance("".join(pieces), str)
    # the stream counts the tokens the model made (an end token too, which generate drops)
    again = gen.generate(ask_with([png((10, 10, 220))]), GenOptions(max_new_tokens=3))
    assert 1 <= stream.new_tokens <= 3 and stream.new_tokens - again.new_tokens in (0, 1)


def test_images_beyond_the_cap_become_their_labels(vlm):
    gen, calls = vlm
    text, images = gen._chat(ask_with([png((i * 60, 0, 0)) for i in range(3)]))
    assert len(images) == 2 and text.count("<image>") == 2 and "[image 3]" in text
    calls.clear()
    gen.generate(ask_with([png((i * 60, 0, 0)) for i in range(3)]), GenOptions(max_new_tokens=2))
    assert calls == [2]


def test_a_vlm_judges_with_pixels_and_graded_yes_probabilities(vlm):
    gen, calls = vlm
    calls.clear()
    p = gen.yes_probability([ask_with([png((0, 200, 0))]), ask_with([png((0, 0, 0))])])
    assert len(p) == 2 and all(0.0 <= x <= 1.0 for x in p) and calls == [2]
