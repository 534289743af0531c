"""SmolLM2-135M-Instruct, a real local model, through the smollm2 and hf: generators."""

from __future__ import annotations

import pytest

from plait.generators import GenOptions, Prompt, load_generator

pytestmark = pytest.mark.models

CONTEXT = "Context:\nTOTAL 12.90\nCASH 20.00\nQuestion: What was the total?"
PROMPTS = [Prompt.of(CONTEXT), Prompt.of("Name one colour of the sky.")]
SHORT = GenOptions(max_new_tokens=6)


@pytest.fixture(scope="module")
def alone(smollm2):
    """Each of PROMPTS answered on its own: what a batch and another loader must match."""
    return [smollm2.generate(p, SHORT).text for p in PROMPTS]


def test_answers_from_its_context_and_streams_the_same_text(smollm2):
    p = Prompt.of(CONTEXT, system="Answer from the context only.")
    opts = GenOptions(max_new_tokens=16)
    whole = smollm2.generate(p, opts)
    assert "12.90" in whole.text
    assert whole.new_tokens > 0 and whole.prompt_tokens > 10
    stream = smollm2.stream(p, opts)
    pieces = list(stream)
    assert len(pieces) > 1 and "".join(pieces).strip() == whole.text.strip()
    # the stream counts what the model made: generate's tokens, and the end token if any
    assert stream.new_tokens - whole.new_tokens in (0, 1)
    assert smollm2.accepts_images is False and smollm2.count_tokens("TOTAL 12.90") > 1


def test_a_batch_answers_each_prompt_as_alone(smollm2, alone):
    assert [b.text for b in smollm2.generate_batch(PROMPTS, SHORT)] == alone


def test_the_cached_model_directory_loads_as_hf_dir(alone):
    from plait.generators.smollm2 import dequantised_dir

    root = dequantised_dir()
    assert (root / "model.safetensors").is_file()
    g = load_generator(f"hf:{root}?batch_size=2")
    assert g.generate(PROMPTS[0], SHORT).text == alone[0]
