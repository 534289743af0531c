"""Build the RAG question sets and their corpus from data no one on the project wrote.

- receipts: SROIE receipts 000-039 in the corpus; "What was the total on the receipt from
  COMPANY on DATE?" with the key field's total as the answer and the receipt as the gold
  source (empty totals skipped).
- receipts_heldout: the same questions for receipts 010-039 only: the extractive rules
  were written looking at receipts 000-009, so this split is the one they never saw.
- unanswerable: the same template with the companies of receipts 040-049 that no
  receipt in the corpus is from, and with corpus companies on a date none of their
  receipts has (another receipt's date).
- documents: one cloze question per page (the CNN/Daily Mail way of making reading
  questions from text without writing any): a sentence of a DocBank arXiv page or a
  pdfplumber test PDF page with one word blanked out; the word is the answer, the page
  the gold source. Sentences, pages and words are drawn with a fixed seed.
- image_pairs: two of those photos per question, "first ..., then ...", both gold in
  that order (the multi-image case of MRAMG-Bench's ordering score).
- documents_heldout: the same recipe with another seed (other sentences, other pages),
  for questions no retrieval choice was made on.
- images: Flickr8k test photos ingested with captions 1-4; "show me CAPTION 0" with the
  photo as the gold image.

The receipts' text is the dataset's own OCR lines (``box/*.csv``); ``--ocr`` uses
plait's RapidOCR mapper on the photos instead (slower: seconds per receipt). DocBank
pages come in as their page image with the page's tokens as its text; the PDFs through
plait's PDF reader (documents and pages).

    python bench/rag/build.py --out /tmp/rag            # corpus + bench/rag/*.jsonl
    plait eval /tmp/rag/corpus --benchmark rag --questions bench/rag/receipts.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).parent
SHARED = HERE.parents[2] / "shared" / "data"
IN_CORPUS = [f"{i:03d}" for i in range(40)]
HELD_OUT = [f"{i:03d}" for i in range(40, 50)]
RULES_SEEN = {f"{i:03d}" for i in range(10)}  # receipts the extractive rules were written on
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
BLANK = "_____"


def key(rid: str) -> dict[str, str]:
    return json.loads((SHARED / "sroie" / "key" / f"{rid}.json").read_text())


def box_text(rid: str) -> str:
    rows = (SHARED / "sroie" / "box" / f"{rid}.csv").read_text(errors="replace").splitlines()
    return "\n".join(r.split(",", 8)[8] for r in rows if r.count(",") >= 8)


def question(company: str, date: str) -> str:
    return f"What was the total on the receipt from {company} on {date}?"


def receipts(skip: frozenset[str] = frozenset()) -> list[dict]:
    out = []
    for rid in IN_CORPUS:
        if rid in skip:
            continue
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


def docbank_pages() -> list[tuple[str, str]]:
    """(gold source, page text): the page's tokens in file order."""
    out = []
    for txt in sorted((SHARED / "docbank").glob("*.txt")):
        rows = txt.read_text(errors="replace").splitlines()
        tokens = [r.split("\t")[0] for r in rows if r.strip()]
        out.append((f"docbank/{txt.stem}_ori.jpg", " ".join(tokens)))
    return out


def pdf_pages() -> list[tuple[str, str]]:
    """(gold source, page text) of every readable pdfplumber test PDF page, as PDFium
    extracts it (what plait's PDF reader stores)."""
    import pypdfium2 as pdfium

    out = []
    for pdf in sorted((SHARED / "pdfs").glob("*.pdf")):
        try:
            doc = pdfium.PdfDocument(str(pdf))
        except Exception:  # noqa: BLE001 - encrypted, empty or malformed: not ingested either
            continue
        for i in range(len(doc)):
            text = doc[i].get_textpage().get_text_range().replace("\ufffe", "-")
            out.append((f"pdfs/{pdf.name}#p{i + 1}", " ".join(text.split())))
        doc.close()
    return out


def cloze(gold: str, text: str, rng: random.Random) -> dict | None:
    """A sentence of 8-30 words, mostly words (not formulas or table cells), with one
    word of five or more letters, or one number, blanked; None when the page has none."""
    sents = []
    for s in SENTENCE.split(text):
        words = s.split()
        alpha = sum(w.strip(".,;:()").isalpha() for w in words)
        if 8 <= len(words) <= 30 and alpha >= 0.7 * len(words):
            sents.append(words)
    if not sents:
        return None
    words = rng.choice(sents)
    slots = []
    for i, w in enumerate(words[1:-1], 1):
        bare = w.strip(".,;:()\"'")
        if bare == w and (re.fullmatch(r"[A-Za-z]{5,}", w) or re.fullmatch(r"\d+(\.\d+)?", w)):
            if sum(x == w for x in words) == 1:
                slots.append(i)
    if not slots:
        return None
    i = rng.choice(slots)
    shown = " ".join(words[:i] + [BLANK] + words[i + 1 :])
    return {
        "question": f'Which word fills the blank in "{shown}"?',
        "answers": [words[i]],
        "sources": [gold],
    }


def documents(per_set: int, seed: int = 0) -> list[dict]:
    """Cloze questions from up to ``per_set`` DocBank pages and ``per_set`` PDF pages (at
    most one page per PDF, so one long report does not fill the set)."""
    rng = random.Random(seed)
    out = []
    for pages, one_per_doc in ((docbank_pages(), False), (pdf_pages(), True)):
        rng.shuffle(pages)
        seen: set[str] = set()
        got = 0
        for gold, text in pages:
            doc = gold.split("#")[0]
            if got >= per_set or (one_per_doc and doc in seen) or len(text.split()) < 60:
                continue
            q = cloze(gold, text, rng)
            if q:
                out.append(q)
                seen.add(doc)
                got += 1
    return out


def heldout(fresh: list[dict], seen: list[dict]) -> list[dict]:
    """``fresh`` less any question ``seen`` has: another seed's cloze questions, kept back
    from the choices made looking at the first set (quoted passages go to BM25)."""
    asked = {q["question"] for q in seen}
    return [q for q in fresh if q["question"] not in asked]


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


def image_pairs(photos: list[tuple[str, list[str]]]) -> list[dict]:
    """Two photos in one question, in a stated order (first one, then the other): the
    multi-image case MRAMG-Bench's ordering score is for. Photo i is paired with photo
    n-1-i, each described by its held-back caption."""
    half = len(photos) // 2
    out = []
    for (a, ca), (b, cb) in zip(photos[:half], photos[::-1][:half], strict=True):
        out.append(
            {
                "question": f"show me two photos: first {ca[0].rstrip(' .')}, "
                f"then {cb[0].rstrip(' .')}",
                "answers": [],
                "images": [f"flickr8k/images/{a}", f"flickr8k/images/{b}"],
            }
        )
    return out


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
    rows += [{"image": gold, "caption": text} for gold, text in docbank_pages()]
    table = out / "rows.jsonl"
    table.write_text("\n".join(json.dumps(r) for r in rows))
    c = Corpus.init(out / "corpus")
    ingest(c, table, dataset="rag", licence="research-only", image_root=SHARED)
    # rendered pages at 768 px: legible in the web UI, a third of the default's pixels
    ingest(c, SHARED / "pdfs", dataset="pdfs", licence="MIT", max_side=768)
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
    ap.add_argument("--pages", type=int, default=20, help="cloze questions per page set")
    ap.add_argument("--ocr", action="store_true", help="RapidOCR text instead of box/*.csv")
    ap.add_argument("--no-corpus", action="store_true", help="write the questions only")
    a = ap.parse_args()
    photos = flickr(a.photos)
    sets = {
        "receipts": receipts(),
        "receipts_heldout": receipts(skip=frozenset(RULES_SEEN)),
        "unanswerable": unanswerable(),
        "documents": documents(a.pages),
        "documents_heldout": heldout(documents(a.pages, seed=1), documents(a.pages)),
        "images": images(photos),
        "image_pairs": image_pairs(photos),
    }
    for name, qs in sets.items():
        (HERE / f"{name}.jsonl").write_text("\n".join(json.dumps(q) for q in qs) + "\n")
        print(f"{name}: {len(qs)} questions")
    if not a.no_corpus:
        a.out.mkdir(parents=True, exist_ok=True)
        print("corpus:", corpus(a.out, photos, a.ocr))


if __name__ == "__main__":
    main()
