"""Benchmark loaders on small fixtures of each layout, and binding to a real corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from plait.errors import ConfigError, InputError
from plait.eval.benchmarks import (
    load_benchmark,
    load_caption_tsv,
    load_karpathy,
    load_mbeir,
    load_pages,
)
from plait.eval.bind import bind, corpus_pairs
from plait.schema import Sample, Source, samples_table

COLOURS = {"red.jpg": (220, 20, 20), "green.jpg": (20, 200, 20), "blue.jpg": (20, 20, 220)}


def _images(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, colour in COLOURS.items():
        Image.new("RGB", (16, 16), colour).save(folder / name)


def _tsv(folder: Path) -> Path:
    _images(folder / "images")
    rows = ["image\tcaption_index\tcaption"]
    for name in COLOURS:
        colour = name.split(".")[0]
        rows += [f"{name}\t{i}\ta {colour} square, take {i} ." for i in range(2)]
    p = folder / "test.tsv"
    p.write_text("\n".join(rows) + "\n")
    return p


def test_caption_tsv_gives_both_directions(tmp_path: Path) -> None:
    b = load_caption_tsv(_tsv(tmp_path))
    t2i, i2t = b.task("t2i"), b.task("i2t")
    assert (len(t2i.queries), len(i2t.queries), len(b.candidates)) == (6, 3, 9)
    assert t2i.qrels["red.jpg#1"] == {"red.jpg": 1}
    assert i2t.qrels["blue.jpg"] == {"blue.jpg#0": 1, "blue.jpg#1": 1}
    assert (t2i.target, i2t.target, i2t.slots) == ("image", "text", True)
    assert Path(i2t.queries[0].image).is_file()
    assert load_benchmark(tmp_path).name == b.name  # a folder with test.tsv works too


def test_karpathy_json_split_and_coco_filepath(tmp_path: Path) -> None:
    _images(tmp_path / "val2014")
    data = {"dataset": "coco", "images": [
        {"filepath": "val2014", "filename": "red.jpg", "split": "test", "sentences": [{"raw": "A red one."}, {"raw": "Red."}]},
        {"filepath": "val2014", "filename": "blue.jpg", "split": "train", "sentences": [{"raw": "Blue."}]},
    ]}  # fmt: skip
    p = tmp_path / "dataset_coco.json"
    p.write_text(json.dumps(data))
    b = load_karpathy(p, image_root=tmp_path)
    assert b.name == "coco-test"
    assert b.task("i2t").qrels == {
        "val2014/red.jpg": {"val2014/red.jpg#0": 1, "val2014/red.jpg#1": 1}
    }
    assert Path(b.candidates["val2014/red.jpg"].image).is_file()
    assert load_benchmark(p, image_root=tmp_path).task("t2i").queries[1].text == "Red."
    with pytest.raises(ConfigError, match="no images in split 'val'"):
        load_karpathy(p, split="val")


def test_mbeir_queries_pool_and_instructions(tmp_path: Path) -> None:
    pool = tmp_path / "pool.jsonl"
    pool.write_text("\n".join(json.dumps(r) for r in [
        {"did": "9:1", "txt": None, "img_path": "img/a.jpg", "modality": "image"},
        {"did": "9:2", "txt": "a dog on grass", "img_path": None, "modality": "text"},
        {"did": "9:3", "txt": None, "img_path": "img/b.jpg", "modality": "image"},
    ]))  # fmt: skip
    queries = tmp_path / "queries.jsonl"
    queries.write_text("\n".join(json.dumps(r) for r in [
        {"qid": "9:10", "query_txt": "a cat", "query_img_path": None, "query_modality": "text", "pos_cand_list": ["9:1"]},
        {"qid": "9:11", "query_txt": None, "query_img_path": "img/q.jpg", "query_modality": "image", "pos_cand_list": ["9:2"]},
        {"qid": "9:12", "query_txt": "a bird", "query_img_path": None, "query_modality": "text", "pos_cand_list": ["9:3", "9:1"]},
    ]))  # fmt: skip
    instr = tmp_path / "query_instructions.tsv"
    instr.write_text(
        "dataset_id\tquery_modality\tcand_modality\tprompt_1\n9\ttext\timage\tFind a photo that matches.\n"
    )
    b = load_mbeir(queries, pool, instructions=instr)
    assert sorted(t.name for t in b.tasks) == ["image->text", "text->image"]
    t2i = b.task("text->image")
    assert t2i.qrels["9:12"] == {"9:3": 1, "9:1": 1}
    assert t2i.queries[0].instruction == "Find a photo that matches."
    assert b.task("image->text").queries[0].image == str(tmp_path / "img/q.jpg")
    assert load_benchmark(queries, pool=pool).kind == "mbeir"
    with pytest.raises(ConfigError, match="--pool"):
        load_benchmark(queries)
    queries.write_text(json.dumps({"qid": "1", "query_txt": "x", "pos_cand_list": ["nope"]}) + "\n")
    with pytest.raises(InputError, match="queries.jsonl:1: positive 'nope'"):
        load_mbeir(queries, pool)


def test_pages_questions_json_and_jsonl(tmp_path: Path) -> None:
    rows = [
        {"question": "What is the revenue?", "doc_name": "report.pdf", "page_id": [2, 3]},
        {"qid": "x", "question": "Who signed?", "doc_name": "report.pdf", "page_id": 0},
    ]
    (tmp_path / "q.json").write_text(json.dumps(rows))
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    b = load_benchmark(tmp_path / "q.json")
    t = b.task("q2page")
    assert (b.kind, t.kind, t.queries[0].scope) == ("pages", "page", "report.pdf")
    assert t.qrels == {"q0": {"report.pdf#2": 1, "report.pdf#3": 1}, "x": {"report.pdf#0": 1}}
    with pytest.raises(InputError, match=r"q.jsonl:3: invalid JSON"):
        load_pages(tmp_path / "q.jsonl")


def test_bind_maps_an_ingested_caption_set_to_sample_slots(tmp_path: Path, corpus) -> None:
    from plait.ingest import ingest

    tsv = _tsv(tmp_path / "flickr")
    b = load_caption_tsv(tsv)
    with pytest.raises(ConfigError, match=r"3 of 3 images .*`plait ingest"):
        bind(b, corpus)
    ds = ingest(corpus, str(tsv)).dataset
    bound = bind(b, corpus)
    assert bound.notes["dataset"] == ds
    assert bound.task("t2i").qrels["green.jpg#1"] == {f"{ds}/green.jpg": 1}
    # image slot first, then the captions in file order
    assert bound.task("i2t").qrels["green.jpg"] == {f"{ds}/green.jpg#1": 1, f"{ds}/green.jpg#2": 1}
    q = bound.task("i2t").queries[0]
    assert q.media and q.image is None  # image queries read their bytes from the corpus
    pairs = corpus_pairs(corpus)
    assert pairs.task("t2i").qrels[f"{ds}/red.jpg#0"] == {f"{ds}/red.jpg": 1}
    assert set(pairs.task("i2t").qrels[f"{ds}/red.jpg"]) == {f"{ds}/red.jpg#1", f"{ds}/red.jpg#2"}
    with pytest.raises(ConfigError, match="several datasets"):
        ingest(corpus, str(tsv), dataset="again")
        bind(b, corpus)
    assert bind(b, corpus, dataset="again").task("t2i").qrels["red.jpg#0"] == {"again/red.jpg": 1}


def test_bind_pages_by_document_and_position(tmp_path: Path, corpus) -> None:
    src = Source(uri="x", dataset="docs")
    samples = [Sample("docs/report.pdf", "document", ["whole"], [None], src)]
    samples += [
        Sample(
            f"docs/report.pdf#p{i}",
            "page",
            [f"page {i}"],
            [None],
            src,
            parent="docs/report.pdf",
            position=i,
        )
        for i in range(4)
    ]
    corpus.append("samples", samples_table(samples))
    (tmp_path / "q.json").write_text(
        json.dumps([{"question": "q?", "doc_name": "report", "page_id": [1]}])
    )
    bound = bind(load_pages(tmp_path / "q.json"), corpus)
    t = bound.task("q2page")
    assert t.qrels == {"q0": {"docs/report.pdf#p1": 1}}
    assert t.queries[0].scope == "docs/report.pdf"
