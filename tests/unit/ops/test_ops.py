"""Operators on tiny real batches: stats keys, reasons, dedup resolution."""

from __future__ import annotations

import numpy as np
import pytest

from plait.errors import ConfigError, UnknownNameError
from plait.ops import OPS, build, describe
from plait.schema import Source

from .conftest import pair, png


def test_build_names_op_and_field() -> None:
    with pytest.raises(ConfigError, match="'word_count'.*'min_word'"):
        build("word_count", min_word=3)
    with pytest.raises(ConfigError, match="'learned_filter'.*'name'"):
        build("learned_filter")
    with pytest.raises(ConfigError, match="'image_size'.*'min_side'"):
        build("image_size", min_side="big")
    with pytest.raises(UnknownNameError, match="near_dup_image"):
        build("near_dup_imag")


def test_describe_comes_from_signature() -> None:
    d = describe("near_dup_image")
    assert d["kind"] == "deduplicator"
    assert [f["name"] for f in d["fields"]] == ["method", "radius", "crops", "mode"]
    assert d["example"]["op"] == "near_dup_image"


def test_import_stays_light() -> None:
    import subprocess
    import sys

    code = "import plait.ops, sys; print([m for m in ('torch','ray','lance','datasketch','onnxruntime') if m in sys.modules])"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
        == "[]"
    )


def test_text_filters_reasons(ctx) -> None:
    batch = [
        pair("a", None, "A dog runs across the grass ."),
        pair("b", None, "hi"),
        pair("c", None, "x {y} z w"),
    ]
    r = build("word_count", min_words=3).process(batch, ctx)
    assert [s.id for s in r.kept] == ["a", "c"] and r.rejected[0].reason == "too_few_words"
    assert batch[1].stats["text_words"] == 1
    r = build("c4_quality").process(batch, ctx)
    assert [(x.sample.id, x.reason) for x in r.rejected] == [("c", "curly_braces")]
    r = build("repetition").process([pair("d", None, "buy now buy now buy now buy now")], ctx)
    assert r.rejected[0].reason == "top_2gram_char_frac"


def test_annotate_scores_but_keeps(ctx) -> None:
    batch = [pair("b", None, "hi")]
    r = build("caption_length", min_chars=6, mode="annotate").process(batch, ctx)
    assert len(r.kept) == 1 and batch[0].stats["text_chars"] == 2


def test_image_filters(ctx, store) -> None:
    small, wide = store.add(png(64, 48)), store.add(png(400, 100, fmt="JPEG"))
    batch = [pair("s", small, "x"), pair("w", wide, "y")]
    r = build("image_size", min_side=60).process(batch, ctx)
    assert [(x.sample.id, x.reason) for x in r.rejected] == [("s", "image_too_small")]
    r = build("aspect_ratio", max_ratio=3).process(batch, ctx)
    assert [(x.sample.id, x.reason) for x in r.rejected] == [("w", "aspect_ratio_too_extreme")]
    r = build("image_format", allowed=["image/png"]).process(batch, ctx)
    assert [(x.sample.id, x.reason) for x in r.rejected] == [("w", "format_not_allowed")]


def test_a_corrupt_image_is_named_not_mistaken_for_a_format(ctx, store) -> None:
    broken = store.add(png(64, 48)[:40])  # a PNG cut inside its header
    batch = [pair("ok", store.add(png(64, 48)), "x"), pair("bad", broken, "y")]
    r = build("image_format", allowed=["image/png"]).process(batch, ctx)
    assert [(x.sample.id, x.reason) for x in r.rejected] == [("bad", "corrupt_image")]
    assert r.rejected[0].sample.stats["unreadable_images"] == 1
    assert "unreadable_images" not in r.kept[0].stats


def test_provenance_filters(ctx) -> None:
    batch = [
        pair(
            "a",
            None,
            "t",
            source=Source(
                uri="a", dataset="d", licence="CC-BY-4.0", url="https://img.example.com/x.jpg"
            ),
        ),
        pair(
            "b",
            None,
            "t",
            source=Source(uri="b", dataset="d", licence="unknown"),
            meta={"robots": "index, noai"},
        ),
        pair(
            "c",
            None,
            "t",
            source=Source(uri="c", dataset="d", licence="cc-by-4.0"),
            meta={"noimageai": True},
        ),
    ]
    r = build("licence", allow=["CC-BY-4.0"]).process(batch, ctx)
    assert [(x.sample.id, x.reason) for x in r.rejected] == [("b", "licence_not_allowed")]
    r = build("opt_out", domains=["example.com"]).process(batch, ctx)
    assert {x.sample.id: x.reason for x in r.rejected} == {
        "a": "opted_out_domain",
        "b": "opted_out_flag",
        "c": "opted_out_flag",
    }


def test_language_id(ctx) -> None:
    batch = [
        pair("en", None, "A black dog is running through the green grass."),
        pair("fr", None, "Un chien noir court dans l'herbe verte du jardin."),
    ]
    r = build("language_id", languages=["en"], min_confidence=0.5).process(batch, ctx)
    assert [s.id for s in r.kept] == ["en"] and batch[1].stats["lang"] == "fr"
    assert r.rejected[0].reason == "language_not_allowed"


def test_clean_captions(ctx) -> None:
    s = pair("a", None, "  A &amp;amp; <b>dog</b>\n runs ")
    build("clean_captions").process([s], ctx)
    assert s.texts[-1] == "A & dog runs"


def test_select_langs_keeps_the_english_slots_of_a_multilingual_sample(ctx) -> None:
    from plait.schema import Sample

    stamp = Sample(
        id="stamp",
        kind="pair",
        texts=[
            None,
            "a red apple",
            "une pomme rouge",
            "ein roter Apfel",
            "a red apple (US)",
            "a red apple",
        ],
        images=["m1", None, None, None, None, None],
        langs=[None, "en", "fr", "de", "en_US", "en_GB"],
        source=Source(uri="x", dataset="tux"),
    )
    untagged = pair("flickr", "m2", "a dog runs")
    build("select_langs", languages=["en"]).process([stamp, untagged], ctx)
    assert stamp.texts == [None, "a red apple", "a red apple (US)"]
    assert stamp.images == ["m1", None, None] and stamp.langs == [None, "en", "en_US"]
    assert stamp.stats["text_slots_dropped"] == 3  # fr, de, and en_GB repeating the caption
    assert untagged.texts[-1] == "a dog runs" and untagged.stats["text_slots_dropped"] == 0
    with pytest.raises(ConfigError, match="at least one"):
        build("select_langs", languages=[])


def _resolve(op, batch, ctx) -> dict[str, str]:
    fps = op.fingerprint(batch, ctx)
    return op.resolve(list(zip([s.id for s in batch], fps)))


def test_exact_dedup(ctx, store) -> None:
    m = store.add(png())
    batch = [pair("b", m, "A dog!"), pair("a", m, "a  DOG"), pair("c", None, "a cat")]
    assert _resolve(build("dedup_media"), batch, ctx) == {"b": "duplicate_of:a"}
    assert _resolve(build("dedup_text"), batch, ctx) == {"b": "duplicate_of:a"}


def test_near_dup_text(ctx) -> None:
    base = (
        "a brown dog with a red collar runs along the sandy beach near the blue sea on a sunny day"
    )
    batch = [
        pair("2", None, base + " today"),
        pair("1", None, base),
        pair("3", None, "two children play football in a park"),
    ]
    assert _resolve(build("near_dup_text", threshold=0.7), batch, ctx) == {
        "2": "near_duplicate_of:1"
    }


def test_near_dup_image(ctx, store) -> None:
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    photo = Image.fromarray((rng.random((24, 32, 3)) * 255).astype("uint8")).resize(
        (320, 240), Image.Resampling.BICUBIC
    )
    buf = io.BytesIO()
    photo.save(buf, "PNG")
    small = io.BytesIO()
    photo.resize((200, 150)).save(small, "JPEG", quality=75)
    other = io.BytesIO()
    Image.fromarray((rng.random((24, 32, 3)) * 255).astype("uint8")).resize((320, 240)).save(
        other, "PNG"
    )
    batch = [
        pair("b", store.add(small.getvalue()), "x"),
        pair("a", store.add(buf.getvalue()), "y"),
        pair("c", store.add(other.getvalue()), "z"),
    ]
    assert _resolve(build("near_dup_image"), batch, ctx) == {"b": "near_duplicate_of:a"}


def test_similarity_top_fraction_resolve() -> None:
    op = build("image_text_similarity_top", encoder="x", fraction=0.5, min_score=0.15)
    items = [("a", 0.3), ("b", 0.1), ("c", 0.2), ("d", 0.2), ("e", None)]
    assert op.resolve(items) == {
        "d": "similarity_below_top_fraction",
        "b": "similarity_below_threshold",
    }


def test_fit_logistic_separates() -> None:
    from plait.ops.filters.learned import fit_logistic

    rng = np.random.default_rng(0)
    x = np.vstack([rng.normal(1, 1, (50, 8)), rng.normal(-1, 1, (200, 8))])
    y = np.r_[np.ones(50), np.zeros(200)]
    w, b = fit_logistic(x, y)
    assert (((x @ w + b) > 0) == (y > 0)).mean() > 0.9


def test_every_op_is_registered_by_its_class_name() -> None:
    for name in OPS.names():
        assert OPS.get(name).name == name
