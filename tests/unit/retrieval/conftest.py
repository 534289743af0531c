"""A small real corpus (real Lance tables) and an in-process fake encoder at the encoder seam.

The fake embeds a text as the normalised sum of one fixed random vector per
word, and an image as a vector of its mean colour, so which sample should win a
query is known in advance. Everything else (tables, filters, indexes) is real.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pytest

from plait.io.media import sha256
from plait.schema import Sample, Source, embeddings_schema, samples_table
from plait.vectors import l2_normalise

DIM = 48


def word_vec(word: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(word.lower().encode()).digest()[:8], "little")
    return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)


class FakeEncoder:
    name = "fake"
    dim = DIM
    modalities = frozenset({"text", "image"})

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        return l2_normalise(np.stack([sum(word_vec(w) for w in t.split()) for t in texts]))

    def encode_images(self, images: Sequence) -> np.ndarray:
        out = []
        for im in images:
            r, g, b = np.asarray(im.convert("RGB"), np.float32).reshape(-1, 3).mean(axis=0) / 255
            out.append(r * word_vec("red") + g * word_vec("green") + b * word_vec("blue"))
        return l2_normalise(np.stack(out))


def png(colour: tuple[int, int, int]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, "PNG")
    return buf.getvalue()


COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}


def build_corpus(corpus, encoder: FakeEncoder) -> None:
    """Pairs (an image and a caption), a text-only sample, and a document of three pages."""
    samples = []
    for name, rgb in COLOURS.items():
        for licence in ("MIT", "GPL-2"):
            samples.append(
                Sample(
                    id=f"pair/{name}-{licence}",
                    kind="pair",
                    texts=[None, f"a {name} square {licence.lower()}"],
                    images=[sha256(png(rgb)), None],
                    source=Source(uri="mem", dataset="pairs", licence=licence),
                )
            )
    samples.append(
        Sample(
            id="text/cat",
            kind="text",
            texts=["cat sat on the mat"],
            images=[None],
            source=Source(uri="mem", dataset="texts", licence="MIT"),
        )
    )
    pages = [
        "introduction to neural retrieval",
        "dense vectors for retrieval",
        "bread baking at home",
    ]
    samples.append(
        Sample(
            id="doc/paper",
            kind="document",
            texts=["\n".join(pages)],
            images=[None],
            source=Source(uri="paper.pdf", dataset="docs", licence="CC-BY-4.0"),
        )
    )
    for i, t in enumerate(pages):
        samples.append(
            Sample(
                id=f"doc/paper#{i}",
                kind="page",
                texts=[t],
                images=[None],
                parent="doc/paper",
                position=i,
                source=Source(uri="paper.pdf", dataset="docs", licence="CC-BY-4.0"),
            )
        )
    corpus.append("samples", samples_table(samples))
    write_embeddings(corpus, encoder, [s for s in samples if s.kind != "document"])


def write_embeddings(
    corpus, encoder: FakeEncoder, samples: list[Sample], mode: str | None = None
) -> None:
    from PIL import Image

    rows = []
    for s in samples:
        for slot, (t, m) in enumerate(zip(s.texts, s.images, strict=True)):
            if t is not None:
                v = encoder.encode_text([t])[0]
                rows.append((s.id, slot, "text", hashlib.sha256(t.encode()).hexdigest(), v))
            else:
                rgb = next(c for c in COLOURS.values() if sha256(png(c)) == m)
                v = encoder.encode_images([Image.new("RGB", (8, 8), rgb)])[0]
                rows.append((s.id, slot, "image", m, v))
    tbl = pa.table(
        {
            "sample_id": [r[0] for r in rows],
            "slot": pa.array([r[1] for r in rows], pa.int32()),
            "modality": [r[2] for r in rows],
            "content": [r[3] for r in rows],
            "vector": pa.FixedSizeListArray.from_arrays(
                pa.array(np.stack([r[4] for r in rows]).ravel()), DIM
            ),
        },
        schema=embeddings_schema(DIM),
    )
    import lance

    path = corpus.embeddings_path("fake")
    path.parent.mkdir(parents=True, exist_ok=True)
    lance.write_dataset(tbl, str(path), mode=mode or ("append" if path.exists() else "create"))


def add_text_sample(corpus, encoder: FakeEncoder, sample_id: str, text: str) -> Sample:
    """Append a text-only sample and its vector, as a later ingest + embed would."""
    new = Sample(
        id=sample_id,
        kind="text",
        texts=[text],
        images=[None],
        source=Source(uri="mem", dataset="texts", licence="MIT"),
    )
    corpus.append("samples", samples_table([new]))
    write_embeddings(corpus, encoder, [new])
    return new


@pytest.fixture()
def fake() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture()
def small(corpus, fake):
    """The corpus above, with the BM25 index built (vectors: exact path)."""
    from plait.index import index

    build_corpus(corpus, fake)
    index(corpus)
    return corpus
