"""Small randomly initialised CLIP and SigLIP models, saved the way a user's local model is.

The tokenizer is a real word-level tokenizer built with the ``tokenizers`` library and
saved as ``tokenizer.json``, so ``AutoTokenizer`` loads it from the directory offline.
"""

from __future__ import annotations

import json
from pathlib import Path

WORDS = [
    "a",
    "an",
    "the",
    "dog",
    "cat",
    "man",
    "woman",
    "child",
    "red",
    "blue",
    "green",
    "runs",
    "sits",
    "on",
    "in",
    "grass",
    "water",
    "ball",
    "photo",
    "of",
]


def _tokenizer(path: Path, eos: str) -> int:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {"<pad>": 0, "<unk>": 1, "<bos>": 2, eos: 3}
    for w in WORDS:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single=f"<bos> $A {eos}", special_tokens=[("<bos>", 2), (eos, 3)]
    )
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", unk_token="<unk>", bos_token="<bos>", eos_token=eos
    )
    fast.save_pretrained(str(path))
    return len(vocab)


# Both towers of both architectures: 2 layers of width 32, so a model saves in
# milliseconds and still runs the real forward code.
_TOWER = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
}
_VISION = {**_TOWER, "image_size": 32, "patch_size": 8}


def save_tiny_clip(path: Path) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPModel

    vocab = _tokenizer(path, "</s>")
    torch.manual_seed(0)
    cfg = CLIPConfig(
        text_config={
            "vocab_size": vocab,
            **_TOWER,
            "max_position_embeddings": 16,
            "eos_token_id": 3,
            "bos_token_id": 2,
            "pad_token_id": 0,
        },
        vision_config=_VISION,
        projection_dim=24,
    )
    CLIPModel(cfg).save_pretrained(str(path))
    (path / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "image_processor_type": "CLIPImageProcessor",
                "do_resize": True,
                "size": {"shortest_edge": 32},
                "do_center_crop": True,
                "crop_size": {"height": 32, "width": 32},
                "rescale_factor": 1 / 255,
                "image_mean": [0.48145466, 0.4578275, 0.40821073],
                "image_std": [0.26862954, 0.26130258, 0.27577711],
                "resample": 3,
            }
        )
    )
    return path


def save_tiny_siglip(path: Path) -> Path:
    import torch
    from transformers import SiglipConfig, SiglipModel

    vocab = _tokenizer(path, "</s>")
    torch.manual_seed(0)
    cfg = SiglipConfig(
        text_config={
            "vocab_size": vocab,
            **_TOWER,
            "max_position_embeddings": 16,
            "pad_token_id": 0,
            "eos_token_id": 3,
        },
        vision_config=_VISION,
    )
    SiglipModel(cfg).save_pretrained(str(path))
    (path / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "image_processor_type": "SiglipImageProcessor",
                "do_resize": True,
                "size": {"height": 32, "width": 32},
                "do_center_crop": False,
                "rescale_factor": 1 / 255,
                "image_mean": [0.5, 0.5, 0.5],
                "image_std": [0.5, 0.5, 0.5],
                "resample": 2,
            }
        )
    )
    return path


def save_tiny_xclip(path: Path, frames: int = 4) -> Path:
    """A random X-CLIP (video-text): the same small towers, ``frames`` frames per clip."""
    import torch
    from transformers import XCLIPConfig, XCLIPModel

    vocab = _tokenizer(path, "</s>")
    torch.manual_seed(0)
    cfg = XCLIPConfig(
        text_config={
            "vocab_size": vocab,
            **_TOWER,
            "max_position_embeddings": 16,
            "eos_token_id": 3,
            "bos_token_id": 2,
            "pad_token_id": 0,
        },
        vision_config={
            **_VISION,
            "num_frames": frames,
            "mit_hidden_size": 24,
            "mit_intermediate_size": 64,
            "mit_num_hidden_layers": 1,
            "mit_num_attention_heads": 4,
        },
        projection_dim=24,
        prompt_layers=1,
        prompt_num_attention_heads=4,
    )
    XCLIPModel(cfg).save_pretrained(str(path))
    (path / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "do_resize": True,
                "size": {"shortest_edge": 32},
                "do_center_crop": True,
                "crop_size": {"height": 32, "width": 32},
                "rescale_factor": 1 / 255,
                "image_mean": [0.45, 0.45, 0.45],
                "image_std": [0.225, 0.225, 0.225],
                "resample": 2,
            }
        )
    )
    return path
