"""DataComp basic filtering plus a similarity filter (recipes/datacomp_basic.yaml) on a
small real corpus: 60 Flickr8k images (5 English captions each) and 60 Tux Paint stamps
(~70 translated captions each, or none), with a LiT adapter trained on the Flickr pairs.

Checks what a user of the recipe would: every step ran in order, each dropped sample
is in ``rejected`` with its step's operator and a reason that operator gives, and the
drops fall where the data says they must."""

from __future__ import annotations

import csv
import importlib.util
import math
import shutil
from collections import Counter
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.models]

ROOT = Path(__file__).resolve().parents[2]
RECIPE = ROOT / "recipes" / "datacomp_basic.yaml"

REASONS = {
    "select_langs": set(),  # a mapper: reduces stamps to their English captions, drops nothing
    "caption_length": {"caption_too_short", "caption_too_long"},
    "word_count": {"too_few_words", "too_many_words"},
    "language_id": {"language_not_allowed", "low_language_confidence"},
    "image_size": {"image_too_small", "image_too_large"},
    "aspect_ratio": {"aspect_ratio_too_extreme"},
    "dedup_media": {"duplicate_of"},
    "dedup_text": {"duplicate_of"},
    "near_dup_image": {"near_duplicate_of"},
    "near_dup_text": {"near_duplicate_of"},
    "image_text_similarity_top": {"similarity_below_top_fraction", "similarity_below_threshold"},
}


def _bench():
    spec = importlib.util.spec_from_file_location(
        "datacomp_bench", ROOT / "bench/datacomp_flickr_tux.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # the corpus builder the benchmark uses
    return mod


def _small_sources(shared: Path, tmp: Path) -> tuple[Path, Path]:
    """The first 60 Flickr train images with their captions, and 60 stamps spread over
    the categories (with their sidecars), copied under tmp."""
    rows = list(csv.reader(open(shared / "flickr8k/train.tsv"), delimiter="\t"))
    images = list(dict.fromkeys(r[0] for r in rows[1:]))[:60]
    tsv = tmp / "flickr60.tsv"
    with open(tsv, "w", newline="") as f:
        csv.writer(f, delimiter="\t").writerows([rows[0], *(r for r in rows[1:] if r[0] in images)])
    root = shared / "tuxpaint/stamps"
    files = sorted(p for p in root.rglob("*") if p.suffix in (".png", ".svg"))
    stamps = tmp / "stamps"
    for p in files[:: len(files) // 60][:60]:
        dest = stamps / p.relative_to(root)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dest)
        if p.with_suffix(".txt").exists():
            shutil.copy(p.with_suffix(".txt"), dest.with_suffix(".txt"))
    return tsv, stamps


@pytest.fixture(scope="module")
def curated(shared_data: Path, tmp_path_factory: pytest.TempPathFactory):
    import torch

    from plait.align import TrainConfig
    from plait.curate import curate

    torch.set_num_threads(1)
    bench = _bench()
    tmp = tmp_path_factory.mktemp("datacomp")
    tsv, stamps = _small_sources(shared_data, tmp)
    tiny = TrainConfig(dim=32, steps=40, batch_size=32, seeds=1)
    corpus = bench.build_corpus(
        tmp / "corpus", tsv, shared_data / "flickr8k/images", stamps, tiny, holdout=0.0
    )
    before = {s.id: s for s in corpus.samples()}
    report = curate(corpus, RECIPE, workers=0, shard_size=1000)
    rejected = corpus.read("rejected", where=f"rejected_by = '{report.run_id}'").to_pylist()
    return corpus, before, report, rejected


def test_every_step_ran_in_order(curated) -> None:
    corpus, before, report, _ = curated
    assert [s["op"] for s in report.steps] == list(REASONS)
    assert report.samples == len(before) == 120
    assert report.steps[0]["in"] == 120
    for prev, step in zip(report.steps, report.steps[1:]):
        assert step["in"] == prev["kept"] > 0  # each step saw what the one before kept
    assert report.kept == report.steps[-1]["kept"] == corpus.count("samples")
    assert report.kept + report.rejected == 120
    for step in report.steps[:5]:  # the filters measured every sample they saw
        assert step["stats_keys"], step["op"]


def test_every_drop_is_recorded_with_its_operator_and_a_sensible_reason(curated) -> None:
    corpus, before, report, rejected = curated
    assert len(rejected) == report.rejected
    kept_ids = corpus.ids("samples")
    for r in rejected:
        code, _, other = r["reason"].partition(":")
        assert code in REASONS[r["op"]], (r["id"], r["op"], r["reason"])
        if code.endswith("duplicate_of"):  # names a sample that the step kept
            assert other in before and other != r["id"]
    by_op = Counter(r["op"] for r in rejected)
    assert {s["op"]: sum(s["dropped"].values()) for s in report.steps if s["dropped"]} == dict(
        by_op
    )
    assert not kept_ids & {r["id"] for r in rejected}


def test_drops_fall_where_the_data_says(curated) -> None:
    _, before, report, rejected = curated
    why = {r["id"]: (r["op"], r["reason"]) for r in rejected}
    flickr = [i for i in before if i.startswith("flickr8k-train/")]
    tux = [i for i in before if i.startswith("tuxpaint/")]
    assert len(flickr) == len(tux) == 60
    rules = ("caption_length", "word_count", "language_id", "image_size", "aspect_ratio")
    # Flickr: five English captions on a 224 px photo pass every DataComp text and size rule
    assert not [i for i in flickr if why.get(i, ("",))[0] in rules]
    # Tux Paint: select_langs leaves each stamp its English caption, which the text rules
    # then judge alone: no caption -> too short; a one- or two-word name -> too few words
    for i in tux:
        s = before[i]
        english = list(  # what select_langs keeps: en and its regional variants, deduplicated
            dict.fromkeys(
                t.strip()
                for t, lang in zip(s.texts, s.langs or [], strict=False)
                if t and lang and lang.split("_")[0] == "en"
            )
        )
        if not s.text:
            assert why[i] == ("caption_length", "caption_too_short")
        elif english and len(" ".join(english).split()) < 3:
            assert why[i][0] in ("caption_length", "word_count"), (i, english, why.get(i))
    dropped_by = Counter(why[i][0] for i in tux if i in why)
    assert dropped_by["word_count"] > 5
    passed_text_rules = [i for i in tux if why.get(i, ("",))[0] not in rules]
    assert passed_text_rules, "some stamps have English captions of three words or more"
    # the similarity step keeps at most the top 30% of what reached it (every one is a pair)
    top = report.steps[-1]
    assert 0 < top["kept"] <= math.ceil(0.3 * top["in"])


def test_translations_are_kept_with_the_run_and_come_back(curated, tmp_path: Path) -> None:
    """select_langs reduced each stamp to its English slots; the run kept what it replaced,
    ``why`` says what went, and restoring the run gives every stamp its translations."""
    from plait.lineage import restore, why

    corpus, before, report, _ = curated
    translated = {i for i, s in before.items() if len(set(s.langs or []) - {None}) > 1}
    assert len(translated) > 20
    assert report.steps[0]["changed"] == len(translated) == report.replaced
    old = {r["id"]: r for r in corpus.read("replaced").to_pylist()}
    assert set(old) == translated
    for i in translated:
        assert old[i]["texts"] == before[i].texts and old[i]["langs"] == before[i].langs
        assert old[i]["op"] == "select_langs"
    stamp = max(translated, key=lambda i: len(before[i].texts))
    assert "changed by select_langs: text slots" in why(corpus, stamp).events[1].what
    # the top-fraction cut wrote its scores on what it kept and what it dropped
    top = report.run_id
    cut = corpus.read(
        "rejected", where=f"rejected_by = '{top}' AND op = 'image_text_similarity_top'"
    )
    assert cut.num_rows and all('"sim_score"' in s for s in cut.column("stats").to_pylist())
    assert all("sim_score" in s.stats for s in corpus.samples())
    # undo the run on a copy: every sample comes back as it was, translations included
    import shutil

    from plait import Corpus

    copy = Corpus.open(shutil.copytree(corpus.path, tmp_path / "copy"))
    restore(copy, report.run_id)
    after = {s.id: s for s in copy.samples()}
    assert {i: (s.texts, s.langs, s.images) for i, s in after.items()} == {
        i: (s.texts, s.langs, s.images) for i, s in before.items()
    }
