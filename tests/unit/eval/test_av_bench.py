"""Word error rate, its text normalisation, and the Tux Paint / FSDD benchmark loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from plait.eval import av


def test_normalise_spells_numbers_and_drops_punctuation() -> None:
    assert av.normalise("Seven.") == ["seven"]
    assert av.normalise("7") == ["seven"]
    assert av.normalise("A red-tailed hawk!") == ["a", "red", "tailed", "hawk"]
    assert av.normalise("It's 21, isn't it?") == ["it's", "twenty", "one", "isn't", "it"]
    assert av.normalise("105") == ["one", "hundred", "five"]


def test_edit_distance_counts_substitutions_insertions_deletions() -> None:
    assert av.edit_distance(["a", "b", "c"], ["a", "b", "c"]) == 0
    assert av.edit_distance(["a", "b", "c"], ["a", "x", "c", "d"]) == 2
    assert av.edit_distance(["a", "b"], []) == 2
    assert av.edit_distance([], ["a"]) == 1


def _stamp(root: Path, rel: str, caption: str, *, sound: bool, desc: bool, image: bool) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.with_suffix(".txt").write_text(f"{caption}\nfr.utf8=Le {caption.lower()}\n")
    if image:
        p.with_suffix(".png").write_bytes(b"png")
    if sound:
        p.with_suffix(".ogg").write_bytes(b"ogg")
    if desc:
        (p.parent / f"{p.name}_desc.ogg").write_bytes(b"ogg")
        (p.parent / f"{p.name}_desc_fr.ogg").write_bytes(b"ogg")


def test_tux_paint_layouts(tmp_path: Path) -> None:
    _stamps = [
        ("animals/cat", "A cat.", True, True, True),
        ("animals/dog", "A dog.", True, False, True),
        ("town/gift", "A gift.", True, False, False),  # a sound whose picture is missing
        ("symbols/math/seven", "Seven.", True, True, True),  # spoken digits are speech
    ]
    for rel, cap, sound, desc, image in _stamps:
        _stamp(tmp_path, rel, cap, sound=sound, desc=desc, image=image)
    sounds = av.tuxpaint_sounds(tmp_path)
    assert sorted(sounds.candidates) == ["animals/cat.ogg", "animals/dog.ogg", "town/gift.ogg"]
    assert {q.text for q in sounds.tasks[0].queries} == {"A cat.", "A dog.", "A gift."}
    speech = av.tuxpaint_speech(tmp_path)
    assert {k: c.text for k, c in speech.candidates.items()} == {
        "animals/cat_desc.ogg": "A cat.",
        "symbols/math/seven_desc.ogg": "Seven.",
    }
    french = av.tuxpaint_speech(tmp_path, "fr")
    assert french.candidates["animals/cat_desc_fr.ogg"].text == "Le a cat."
    spoken = av.tuxpaint_spoken(tmp_path)
    assert spoken.tasks[0].qrels["animals/cat_desc.ogg"] == {"animals/cat.png": 1}
    assert len(spoken.candidates) == 3  # every picture, described aloud or not
    with pytest.raises(Exception, match="no spoken descriptions"):
        av.tuxpaint_speech(tmp_path, "de")


def test_fsdd_references_are_the_digit_words(tmp_path: Path) -> None:
    for name in ("0_george_0.wav", "7_jackson_3.wav", "readme.txt"):
        (tmp_path / name).write_bytes(b"")
    b = av.fsdd(tmp_path)
    assert {k: c.text for k, c in b.candidates.items()} == {
        "0_george_0.wav": "zero",
        "7_jackson_3.wav": "seven",
    }


def test_speech_score_counts_words_and_the_language_heard(tmp_path: Path) -> None:
    from plait import schema

    _stamp(tmp_path, "animals/cat", "A cat.", sound=False, desc=True, image=True)
    _stamp(tmp_path, "animals/dog", "A dog.", sound=False, desc=True, image=True)
    _stamp(tmp_path, "animals/owl", "An owl.", sound=False, desc=True, image=True)
    bench = av.tuxpaint_speech(tmp_path, "fr")  # references "Le a cat.", "Le a dog.", ...

    def row(key: str, heard: str, lang: str) -> dict:
        s = schema.Sample(
            id=f"s/{key}",
            kind=schema.AUDIO,
            texts=[None, heard],
            images=["m", None],
            source=schema.Source(uri=key, dataset="s"),
            stats={"added_slots": {"speech": [1]}, "speech_segments": 1, "speech_language": lang},
        )
        return s.to_row()

    rows = [
        row("animals/cat_desc_fr.ogg", "Le a cat", "fr"),  # 0 edits of 3
        row("animals/dog_desc_fr.ogg", "Le chien", "es"),  # 2 edits of 3, heard as Spanish
    ]  # the owl was not ingested
    got = av.score_speech(bench, rows, "s").to_dict()
    assert got["items"] == 2 and got["words"] == 6 and got["missing"] == 1
    assert got["wer"] == round(2 / 6, 4)
    assert got["language"] == "fr" and got["language_detected"] == 0.5
