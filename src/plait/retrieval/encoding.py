"""Which embeddings table answers a query, and the query's vector in that table's space.

Embeddings tables are named by ``slug(spec)``. The encoder spec is read from the
table's schema metadata (key ``encoder``) when the writer stored it, else
recovered from the slug (``lit_NAME`` -> ``lit:NAME``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from plait.errors import ConfigError, NotFoundError, PlaitError, UnknownNameError
from plait.index.memory import IndexCache
from plait.io.corpus import Corpus, slug, sql_in, sql_str
from plait.retrieval.types import Query
from plait.vectors import l2_normalise

if TYPE_CHECKING:
    from lance import LanceDataset

# Families in order of preference for a default; both modalities first (cross-modal).
_PREFERENCE = ("lit:", "hf:", "open_clip:", "minilm", "effnet-lite")
_KNOWN_MODALITIES = {
    "minilm": {"text"},
    **{f"effnet-lite{v}": {"image"} for v in (0, 1, 2)},
    "yamnet": {"text", "audio"},
}


class QueryEncoder(Protocol):
    """The part of :class:`plait.encoders.Encoder` that search uses (tests pass fakes)."""

    name: str
    dim: int
    modalities: frozenset[str]

    def encode_text(self, texts: Any) -> np.ndarray: ...

    def encode_images(self, images: Any) -> np.ndarray: ...


def table_spec(corpus: Corpus, name: str) -> str:
    """The encoder spec behind the embeddings table ``name``."""
    import lance

    meta = lance.dataset(str(corpus.embeddings_path(name))).schema.metadata or {}
    if b"encoder" in meta:
        return meta[b"encoder"].decode()
    for prefix in ("lit", "hf", "open_clip"):
        if name.startswith(prefix + "_"):
            return f"{prefix}:{name[len(prefix) + 1 :]}"
    return name


def _modalities(spec: str) -> set[str]:
    return _KNOWN_MODALITIES.get(spec, {"text", "image"})


def _rank(spec: str) -> int:
    for i, prefix in enumerate(_PREFERENCE):
        if spec.startswith(prefix):
            return i
    return len(_PREFERENCE)


def choose_table(
    corpus: Corpus, query: Query, spec_of: Callable[[Corpus, str], str] | None = None
) -> tuple[str, str]:
    """``(table name, encoder spec)`` for the query's vectors.

    An explicit ``query.encoder`` must have a table (else UnknownNameError listing
    those that exist). The default is the most preferred encoder that embeds
    every modality the query brings (text and/or image).
    """
    spec_of = spec_of or table_spec
    tables = corpus.embedding_tables()
    if query.encoder:
        name = slug(query.encoder)
        if name not in tables:
            raise UnknownNameError(
                "encoder (embeddings table)", query.encoder, [spec_of(corpus, t) for t in tables]
            )
        return name, query.encoder
    if not tables:
        raise PlaitError(
            f"{corpus.path} has no embeddings: run `plait embed {corpus.path} --encoder minilm` "
            f"(and `plait index {corpus.path}`), or search with --fulltext for BM25 only"
        )
    needs = set()
    if query.text:
        needs.add("text")
    if query.image is not None:
        needs.add("image")
    if query.modality:  # the slots it must match (text finding sounds needs text and audio)
        needs.add(query.modality)
    specs = sorted(((spec_of(corpus, t), t) for t in tables), key=lambda st: (_rank(st[0]), st[0]))
    for spec, name in specs:
        if needs <= _modalities(spec):
            return name, spec
    raise PlaitError(
        f"no embeddings table in {corpus.path} embeds {' and '.join(sorted(needs))} queries "
        f"(tables: {', '.join(s for s, _ in specs)}); run `plait embed {corpus.path} --encoder SPEC` "
        "with an encoder that does, e.g. lit:NAME after `plait align`"
    )


def load_query_encoder(spec: str, corpus: Corpus) -> QueryEncoder:
    """The encoder a query needs (:func:`plait.encoders.load_encoder`, built on first use)."""
    from plait.encoders import load_encoder

    return load_encoder(spec, corpus=corpus)


def vectors_by_content(
    ds: LanceDataset, keys: Sequence[str], modality: str | None = None
) -> dict[str, np.ndarray]:
    """Stored vectors by content key (media id = sha256 of the bytes, or text sha256): the
    embedding cache. Content embedded before, by the same encoder, need not run it again."""
    wanted = list(dict.fromkeys(keys))
    out: dict[str, np.ndarray] = {}
    for i in range(0, len(wanted), 2048):
        flt = sql_in("content", wanted[i : i + 2048])
        if modality:
            flt += f" AND modality = {sql_str(modality)}"
        t = ds.to_table(columns=["content", "vector"], filter=flt)
        if t.num_rows:
            dim = t.schema.field("vector").type.list_size
            flat = t.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            vecs = np.asarray(flat, np.float32).reshape(-1, dim)
            for k, v in zip(t.column("content").to_pylist(), vecs, strict=True):
                out.setdefault(k, v)
    return out


def sample_vector(
    ds: LanceDataset, sample_id: str, modality: str | None, cache: IndexCache | None = None
) -> np.ndarray:
    """A sample's own vector: the normalised mean of its embedded slots."""
    vecs = (cache or IndexCache()).stored_vectors(ds, sample_id, modality)  # from memory if held
    if vecs is None:
        flt = f"sample_id = {sql_str(sample_id)}"
        if modality:
            flt += f" AND modality = {sql_str(modality)}"
        tbl = ds.to_table(columns=["vector"], filter=flt)
        dim = tbl.schema.field("vector").type.list_size
        flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        vecs = np.asarray(flat, np.float32).reshape(-1, dim)
    if not len(vecs):
        raise NotFoundError(
            f"sample {sample_id!r} has no {modality or ''} vectors in this embeddings table".replace(
                "  ", " "
            )
        )
    return l2_normalise(vecs.mean(axis=0))


def to_image(image: Any) -> Any:
    """Bytes (or a PIL image) as an RGB PIL image."""
    if isinstance(image, (bytes, bytearray)):
        from plait.io.media import open_image

        return open_image(bytes(image))
    return image.convert("RGB") if getattr(image, "mode", "RGB") != "RGB" else image


def query_vector(
    query: Query,
    encoder: QueryEncoder | None,
    ds: LanceDataset,
    text_vec: np.ndarray | None = None,
    cache: IndexCache | None = None,
    image_vec: np.ndarray | None = None,
) -> np.ndarray:
    """The query's vector: text, image, like, or a composed reference plus text.

    ``text_vec`` lets a batch pass a text vector encoded with others; ``cache`` is the
    searcher's (a like query reads the sample's vectors from memory when they are held);
    ``image_vec`` is the query image's stored vector (see :func:`vectors_by_content`).
    """
    ref: np.ndarray | None = None
    if query.like is not None:
        ref = sample_vector(ds, query.like, query.modality, cache)
    elif image_vec is not None:
        ref = image_vec
    elif query.image is not None:
        ref = _need(encoder, "image").encode_images([to_image(query.image)])[0]
    txt: np.ndarray | None = None
    if query.text:
        if text_vec is None:
            text_vec = _need(encoder, "text").encode_text([query.text])[0]
        txt = text_vec
    if ref is not None and txt is not None:
        w = query.text_weight
        return l2_normalise((1.0 - w) * l2_normalise(ref) + w * l2_normalise(txt))
    vec = ref if ref is not None else txt
    assert vec is not None  # Query.validate guarantees one of them
    return l2_normalise(vec)


def _need(encoder: QueryEncoder | None, modality: str) -> QueryEncoder:
    if encoder is None:
        raise ConfigError(f"a {modality} query needs an encoder")
    if modality not in encoder.modalities:
        raise ConfigError(
            f"encoder {encoder.name!r} does not embed {modality}s (it embeds {', '.join(sorted(encoder.modalities))})"
        )
    return encoder
