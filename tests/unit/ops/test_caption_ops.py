"""The caption operators' bookkeeping with a scripted generator at the seam: slots added
beside the originals with provenance, failures counted by reason and never an empty
caption, reruns that replace (or keep) what they added. Real models: integration tests."""

from __future__ import annotations

from collections import Counter

import pytest

from plait.errors import ConfigError, GeneratorError
from plait.generators import BaseGenerator, Generation, GenOptions
from plait.ops import build
from plait.ops.base import OpContext
from plait.schema import PAIR, Sample, Source
from plait.slots import provenance


class Scripted(BaseGenerator):
    """Answers from a function of the last user turn; raises GeneratorError for None."""

    def __init__(self, answer) -> None:
        super().__init__()
        self.name = "scripted"
        self.answer = answer
        self.calls: Counter = Counter()

    def generate(self, prompt, options=GenOptions()):
        text = prompt.messages[-1].text()
        self.calls[text] += 1
        out = self.answer(text)
        if out is None:
            raise GeneratorError("timed out after 1 s", reason="timeout")
        return Generation(out)


def pair(sid: str, *caps: str, langs=None) -> Sample:
    return Sample(
        id=sid,
        kind=PAIR,
        texts=[None, *caps],
        images=["m", *([None] * len(caps))],
        langs=[None, *(langs or ["en"] * len(caps))],
        source=Source(uri=sid, dataset="t"),
    )


CTX = OpContext(run_id="run-1", media=lambda ids: {})


def _op(name: str, gen: BaseGenerator, **params):
    op = build(name, generator="scripted", cache="none", **params)
    op._gen = gen
    return op


def test_rewrites_go_beside_the_originals_with_provenance() -> None:
    gen = Scripted(lambda t: "Rewritten caption: Look, " + t.removeprefix("Caption: ") + "!")
    op = _op("rewrite_captions", gen, n=2, max_sources=1)
    s = pair("a", "a dog runs", "a brown dog")
    res = op.process([s], CTX)
    assert s.texts[:3] == [None, "a dog runs", "a brown dog"]  # originals untouched
    # two styles of one source, but the same answer twice is one slot
    assert s.texts[3:] == ["Look, a dog runs!"]
    assert s.stats["rewrites"] == 1 and s.stats["rewrite_failed"] == {"duplicate": 1}
    rec = provenance(s, 3)
    assert rec["op"] == "rewrite_captions" and rec["generator"] == "scripted"
    assert rec["from"] == 1 and rec["run"] == "run-1" and len(rec["prompt"]) == 16
    assert rec["params"]["style"] == "reword" and s.langs[3] == "en"
    assert res.counts["requests"] == 2 and res.counts["added"] == 1
    assert res.counts["unusable:duplicate"] == 1


def test_a_failed_call_is_counted_and_adds_nothing() -> None:
    gen = Scripted(lambda t: None if "cat" in t else "")
    op = _op("rewrite_captions", gen)
    cat, dog = pair("c", "a cat sleeps"), pair("d", "a dog sleeps")
    res = op.process([cat, dog], CTX)
    assert cat.texts == [None, "a cat sleeps"] and dog.texts == [None, "a dog sleeps"]
    assert cat.stats["rewrite_failed"] == {"timeout": 1}
    assert dog.stats["rewrite_failed"] == {"empty": 1}
    assert res.counts["failed:timeout"] == 1 and res.counts["unusable:empty"] == 1


def test_a_rerun_replaces_its_slots_and_keeps_them_when_the_call_fails() -> None:
    s = pair("a", "a dog runs on grass")
    _op("rewrite_captions", Scripted(lambda t: "A dog is running on the grass.")).process([s], CTX)
    assert s.texts == [None, "a dog runs on grass", "A dog is running on the grass."]
    again = OpContext(run_id="run-2", media=lambda ids: {})
    _op("rewrite_captions", Scripted(lambda t: "On the grass, a dog runs.")).process([s], again)
    assert s.texts == [None, "a dog runs on grass", "On the grass, a dog runs."]
    assert provenance(s, 2)["run"] == "run-2"
    res = _op("rewrite_captions", Scripted(lambda t: None)).process([s], again)
    assert s.texts[2] == "On the grass, a dog runs."  # the server failed: keep what we had
    assert res.counts["kept_previous"] == 1 and res.counts["failed:timeout"] == 1


def test_only_original_slots_in_the_wanted_languages_are_rewritten() -> None:
    gen = Scripted(lambda t: "Rewrite of " + t.removeprefix("Caption: "))
    s = pair("a", "a dog", "ein Hund", langs=["en", "de"])
    _op("rewrite_captions", gen, langs=["en"]).process([s], CTX)
    assert s.texts[3:] == ["Rewrite of a dog"]
    _op("rewrite_captions", gen, langs=["en"]).process([s], CTX)  # never a rewrite's rewrite
    assert s.texts[3:] == ["Rewrite of a dog"]
    assert sum(gen.calls.values()) == 2


def test_greedy_rewrites_need_a_style_each() -> None:
    with pytest.raises(ConfigError, match="same rewrite twice"):
        build("rewrite_captions", n=5)
    build("rewrite_captions", n=5, temperature=0.8)
    with pytest.raises(Exception, match="unknown rewrite style"):
        build("rewrite_captions", styles=["poetic"])


def test_context_caption_reads_alt_text_ocr_and_labels() -> None:
    seen: list[str] = []

    def answer(t: str) -> str:
        seen.append(t)
        return "A red shop front with a sign."

    s = pair("a", "IMG_0042 best shop ever")
    s.stats["image_labels"] = [["shop front", 0.3], ["street", 0.2]]
    from plait.slots import set_added_slots

    set_added_slots(s, "ocr_text", [("OPEN LATE", None, None)])
    res = _op("caption_from_context", Scripted(answer)).process([s], CTX)
    assert "Alt-text: IMG_0042 best shop ever" in seen[0]
    assert "Text in the image: OPEN LATE" in seen[0]
    assert "Objects seen: shop front, street" in seen[0]
    assert s.texts[-1] == "A red shop front with a sign." and s.stats["context_caption"] == 1
    assert provenance(s, len(s.texts) - 1)["params"]["inputs"] == ["alt", "ocr", "labels"]
    assert res.counts["added"] == 1

    empty = Sample("e", PAIR, texts=[None], images=["m"], source=Source(uri="e", dataset="t"))
    res = _op("caption_from_context", Scripted(answer)).process([empty], CTX)
    assert empty.stats["context_caption_failed"] == "no_context"
    assert res.counts["skipped:no_context"] == 1


def test_judge_scores_and_filters() -> None:
    grades = {"a dog": "2", "A black dog runs on a beach.": "Score: 5", "x y": "great"}
    op = _op(
        "caption_judge",
        Scripted(lambda t: grades[t.removeprefix("Caption: ")]),
        min_score=3,
    )
    low, high, odd = pair("l", "a dog"), pair("h", "A black dog runs on a beach."), pair("o", "x y")
    res = op.process([low, high, odd], CTX)
    assert [r.sample.id for r in res.rejected] == ["l"]
    assert res.rejected[0].reason == "judge_below_threshold"
    assert high.stats["judge_score"] == 5 and high.stats["judge_scores"] == {"1": 5}
    assert odd.stats["judge_score"] is None  # no grade: kept, counted
    assert res.counts["unusable:no_score"] == 1


def test_the_shipped_recaption_recipe_loads_and_rewrites_untagged_captions() -> None:
    """recipes/recaption.yaml is valid as shipped (known ops, parameters that bind), and its
    rewrite step takes captions without a language tag (Flickr8k's), as the README runs it."""
    from pathlib import Path

    from plait.recipe import load_recipe

    path = Path(__file__).resolve().parents[3] / "recipes" / "recaption.yaml"
    rec = load_recipe(path)
    assert [s.op for s in rec.steps] == [
        "semantic_dedup",
        "rewrite_captions",
        "caption_from_context",
        "best_caption",
        "caption_judge",
    ]
    rewrite = next(s for s in rec.steps if s.op == "rewrite_captions")
    op = build("rewrite_captions", **rewrite.params)
    assert op._sources(pair("a", "A dog runs .", "A dog .", langs=[None, None])) == [1]
