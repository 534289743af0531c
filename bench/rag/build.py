"""Build the RAG question sets and their corpus from data no one on the project wrote.

- receipts: SROIE receipts 000-039 in the corpus; "What was the total on the receipt from
  COMPANY on DATE?" with the key field's total as the answer and the receipt as the gold
  source (empty totals skipped).
- unanswerable: the same template with the companies of receipts 040-049 that no
  receipt in the corpus is from, and with corpus companies on a date none of their
  receipts has (another receipt's date).
- images: Flickr8k test photos ingested with captions 1-4; "show me CAPTION 0" with the
  photo as the gold image.

The receipts' text is the dataset's own OCR lines (``box/*.csv``); ``--ocr`` uses
plait's RapidOCR mapper on the photos instead (slower: seconds per receipt).

    python bench/rag/build.py --out /tmp/rag            # corpus + bench/rag/*.jsonl
    plait eval /tmp/rag/corpus --benchmark rag --questions bench/rag/receipts.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "data"
IN_CORPUS = [f"{i:03d}" for i in range(40)]
HELD_OUT = [f"{i:03d}" for i in range(40, 50)]


def key(rid: str) -> dict[str, str]:
    return json.loads((SHARED / "sroie" / "key" / f"{rid}.json").read_text())


def box_text(rid: str) -> str:
    rows = (SHARED / "sroie" / "box" / f"{rid}.csv").read_text(errors="replace").splitlines()
    return "\n".join(r.split(",", 8)[8] for r in rows if r.count(",") >= 8)


def question(company: str, date: str) -> str:
    return f"What was the total on the receipt from {company} on {date}?"


def receipts() -> list[dict]:
    out = []
    for rid in IN_CORPUS:
        k = key(rid)
        if k.get("total") and k.get("company") and k.get("date"):
            out.append(
                {
                    "question": question(k["company"], k["date"]),
                    "answers": [k["total"], k["total"].lstrip("$")],
                    "sources": [f"sroie/img/{rid}.jpg"],
                }
            )
    return out


def unanswerable() -> list[dict]:
    seen = {key(r)["company"].upper() for r in IN_CORPUS}
    dates = {key(r)["company"].upper(): set() for r in IN_CORPUS}
    for r in IN_CORPUS:
        dates[key(r)["company"].upper()].add(key(r)["date"])
    out = []
    for rid in HELD_OUT:
        k = key(rid)
        if k.get("company") and k["company"].upper() not in seen:
            out.append({"question": question(k["company"], k["date"]), "answers": []})
    all_dates = [key(r)["date"] for r in IN_CORPUS]
    for i, rid in enumerate(IN_CORPUS[::3]):
        k = key(rid)
        other = next(
            d for d in all_dates[i + 1 :] + all_dates if d not in dates[k["company"].upper()]
        )
        out.append({"question": question(k["company"], other), "answers": []})
    return out


def flickr(n: int) -> list[tuple[str, list[str]]]:
    caps: dict[str, list[str]] = {}
    with open(SHARED / "flickr8k" / "test.tsv", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            caps.setdefault(row["image"], []).append(row["caption"])
    return list(caps.items())[:n]


def images(photos: list[tuple[str, list[str]]]) -> list[dict]:
    return [
        {
            "question": f"show me {c[0].rstrip(' .')}",
            "answers": [],
            "images": [f"flickr8k/images/{n}"],
        }
        for n, c in photos
    ]


def corpus(out: Path, photos: list[tuple[str, list[str]]], ocr: bool) -> Path:
    from plait import Corpus
    from plait.curate import curate
    from plait.embed import embed
    from plait.index.build import index
    from plait.ingest import ingest

    rows = [
        {"image": f"sroie/img/{r}.jpg", **({} if ocr else {"caption": box_text(r)})}
        for r in IN_CORPUS
    ]
    for name, caps in photos:
        rows += [{"image": f"flickr8k/images/{name}", "caption": c} for c in caps[1:]]
    table = out / "rows.jsonl"
    table.write_text("\n".join(json.dumps(r) for r in rows))
    c = Corpus.init(out / "corpus")
    ingest(c, table, dataset="rag", licence="research-only", image_root=SHARED)
    if ocr:
        recipe = out / "ocr.yaml"
        recipe.write_text("- op: ocr_text\n  kinds: [image]\n")
        curate(c, recipe, workers=1)
    embed(c, "minilm")
    index(c)
    return out / "corpus"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="where the corpus is built")
    ap.add_argument("--photos", type=int, default=40)
    ap.add_argument("--ocr", action="store_true", help="RapidOCR text instead of box/*.csv")
    ap.add_argument("--no-corpus", action="store_true", help="write the questions only")
    a = ap.parse_args()
    photos = flickr(a.photos)
    sets = {"receipts": receipts(), "unanswerable": unanswerable(), "images": images(photos)}
    for name, qs in sets.items():
        (HERE / f"{name}.jsonl").write_text("\n".join(json.dumps(q) for q in qs) + "\n")
        print(f"{name}: {len(qs)} questions")
    if not a.no_corpus:
        a.out.mkdir(parents=True, exist_ok=True)
        print("corpus:", corpus(a.out, photos, a.ocr))


if __name__ == "__main__":
    main()
