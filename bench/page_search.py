"""Page search on real pages: R@1 of BM25, vector (minilm) and hybrid, on held-out sentences.

Pages: the 40 DocBank arXiv pages (``docbank/*.txt``, tokens joined in reading
order) and every page of the pdfplumber test PDFs with text (``pypdfium2`` text
extraction). From each page with enough text, one sentence of 8-40 words is
drawn (seeded) as the query and *removed* from the page text that is indexed, so
a hit needs the rest of the page, not the exact sentence.

Each page becomes a ``page`` sample whose text slots are ~120-word passages
(MiniLM reads at most 256 tokens, so one vector per whole page would drop most
of a long page); vector search scores a page by its best passage, BM25 by the
whole page. Searches use ``kind='page'``, so hits are pages, not documents.

Usage: ``python bench/page_search.py`` (about a minute on two cores).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from plait.index import index
from plait.io.corpus import Corpus
from plait.retrieval import Query, search_batch
from plait.schema import Sample, Source, embeddings_schema, samples_table

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def docbank_pages(root: Path) -> list[tuple[str, str, str]]:
    out = []
    for txt in sorted(root.glob("*.txt")):
        tokens = [
            ln.split("\t")[0] for ln in txt.read_text(errors="replace").splitlines() if ln.strip()
        ]
        out.append((f"docbank/{txt.stem}", f"docbank/{txt.stem}#0", " ".join(tokens)))
    return out


def pdf_pages(root: Path) -> list[tuple[str, str, str]]:
    import pypdfium2 as pdfium

    out = []
    for pdf in sorted(root.glob("*.pdf")):
        try:
            doc = pdfium.PdfDocument(str(pdf))
        except Exception:  # malformed, encrypted or empty: the ingest quarantines these
            continue
        for i in range(len(doc)):
            text = doc[i].get_textpage().get_text_range()
            out.append((f"pdfs/{pdf.stem}", f"pdfs/{pdf.stem}#{i}", " ".join(text.split())))
    return out


def held_out(pages: list[tuple[str, str, str]], seed: int) -> list[tuple[str, str, str, str]]:
    """(doc id, page id, page text without the query sentence, query sentence)."""
    rng = random.Random(seed)
    out = []
    for doc, pid, text in pages:
        sents = [s for s in SENT.split(text) if 8 <= len(s.split()) <= 40]
        if len(sents) < 2 or len(text.split()) < 60:
            continue
        q = rng.choice(sents)
        out.append((doc, pid, text.replace(q, " ", 1), q))
    return out


def passages(text: str, words: int = 120) -> list[str]:
    toks = text.split()
    return [" ".join(toks[i : i + words]) for i in range(0, len(toks), words)] or [""]


def make_corpus(path: Path, items: list[tuple[str, str, str, str]], encoder) -> None:
    corpus = Corpus.init(path)
    samples = []
    for doc, pid, text, _ in items:
        ps = passages(text)
        samples.append(
            Sample(
                id=pid,
                kind="page",
                texts=ps,
                images=[None] * len(ps),
                parent=doc,
                position=int(pid.rsplit("#", 1)[1]),
                source=Source(uri=doc, dataset=doc.split("/")[0]),
            )
        )
    corpus.append("samples", samples_table(samples))
    rows = [(s.id, i, t) for s in samples for i, t in enumerate(s.texts)]
    vecs = encoder.encode_text([t for _, _, t in rows])
    tbl = pa.table(
        {
            "sample_id": [r[0] for r in rows],
            "slot": pa.array([r[1] for r in rows], pa.int32()),
            "modality": ["text"] * len(rows),
            "content": [hashlib.sha256(r[2].encode()).hexdigest() for r in rows],
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(np.asarray(vecs, np.float32).ravel()), vecs.shape[1]
            ),
        },
        schema=embeddings_schema(vecs.shape[1]),
    )
    import lance

    corpus.embeddings_path("minilm").parent.mkdir(parents=True, exist_ok=True)
    lance.write_dataset(tbl, str(corpus.embeddings_path("minilm")))
    index(corpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    from plait.encoders import load_encoder

    encoder = load_encoder("minilm")
    sets = {
        "docbank": held_out(docbank_pages(args.data / "docbank"), args.seed),
        "pdfs": held_out(pdf_pages(args.data / "pdfs"), args.seed),
    }
    sets["all"] = sets["docbank"] + sets["pdfs"]
    print(
        f"{'set':<8} {'pages':>5}  {'BM25 R@1':>8} {'vector R@1':>10} {'hybrid R@1':>10}   "
        f"{'BM25 R@5':>8} {'vector R@5':>10} {'hybrid R@5':>10}  seconds"
    )
    for name, items in sets.items():
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            make_corpus(Path(tmp) / "c", items, encoder)
            corpus = Corpus.open(Path(tmp) / "c")
            r1, r5 = [], []
            for mode in ("fulltext", "vector", "hybrid"):
                qs = [
                    Query(
                        text=q,
                        kind="page",
                        k=5,
                        fulltext=mode == "fulltext",
                        hybrid=mode == "hybrid",
                    )
                    for _, _, _, q in items
                ]
                results = search_batch(corpus, qs, encoder=encoder)
                ranks = [[h.sample_id for h in hits] for hits in results]
                r1.append(np.mean([r[:1] == [it[1]] for r, it in zip(ranks, items, strict=True)]))
                r5.append(np.mean([it[1] in r[:5] for r, it in zip(ranks, items, strict=True)]))
        print(
            f"{name:<8} {len(items):>5}  {r1[0]:>8.3f} {r1[1]:>10.3f} {r1[2]:>10.3f}   "
            f"{r5[0]:>8.3f} {r5[1]:>10.3f} {r5[2]:>10.3f}  {time.perf_counter() - t0:7.1f}"
        )


if __name__ == "__main__":
    main()
