"""``plait embed``: run an encoder over a corpus's slots into ``embeddings/<encoder>.lance``.

One row per embedded slot (``sample_id``, ``slot``, ``modality``, ``content``, ``vector``);
``content`` is the media id of an image or the sha256 of a text, and is the cache key:

- a slot whose (sample, slot, content) row exists is skipped (a rerun costs one scan);
- a slot whose content was embedded before, in any sample, gets a copy of that vector
  without running the model (the same image in two samples is embedded once);
- a slot whose content changed gets its old row replaced.

Rows are committed every ``flush_rows`` so an interrupted run resumes where it stopped.
Image decoding and resizing run in a thread pool ahead of the model (see
``plait.encoders.prefetch``). ``executor="ray"`` runs the model in a Ray actor pool, a
shard of images per task, and commits each finished shard (a rerun after a kill embeds
only the shards that were not committed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from plait import schema
from plait.encoders import Encoder, load_encoder
from plait.encoders.prefetch import prefetch_batches
from plait.errors import ConfigError
from plait.io.corpus import Corpus, embeddings_table, sql_str
from plait.io.keyed import KeyedWriter
from plait.io.media import open_image, text_key
from plait.io.runs import Run
from plait.io.where import where_sql
from plait.langs import slot_langs
from plait.progress import Progress, silent

EXECUTORS = ("local", "ray")


@dataclass
class Todo:
    """Slots still to embed, grouped by content key so each content runs once."""

    texts: dict[str, tuple[str, list[tuple[str, int]]]] = field(default_factory=dict)
    images: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    timed: list[Any] = field(default_factory=list)  # plait.av.embed.TimedTodo (sound, video)

    def add_text(self, key: str, text: str, where: tuple[str, int]) -> None:
        self.texts.setdefault(key, (text, []))[1].append(where)

    def add_image(self, key: str, where: tuple[str, int]) -> None:
        self.images.setdefault(key, []).append(where)

    @property
    def slots(self) -> int:
        return (
            sum(len(w) for _, w in self.texts.values())
            + sum(len(w) for w in self.images.values())
            + sum(t.slots for t in self.timed)
        )


class _Writer:
    """Buffers rows and commits them to the embeddings table in large batches."""

    def __init__(self, corpus: Corpus, spec: str, dim: int, flush_rows: int) -> None:
        self.corpus, self.name, self.dim = corpus, embeddings_table(spec), dim
        self.schema = schema.embeddings_schema(dim)
        # keyed by (sample_id, slot): an embed running beside this one cannot double a row
        self.table = KeyedWriter.open(corpus, self.name, schema_=self.schema)
        self.flush_rows = flush_rows
        self.rows: dict[str, list[Any]] = {
            "sample_id": [],
            "slot": [],
            "modality": [],
            "content": [],
        }
        self.vecs: list[np.ndarray] = []
        self.written = 0

    def add(
        self, modality: str, content: str, where: list[tuple[str, int]], vec: np.ndarray
    ) -> None:
        for sid, slot in where:
            self.rows["sample_id"].append(sid)
            self.rows["slot"].append(slot)
            self.rows["modality"].append(modality)
            self.rows["content"].append(content)
            self.vecs.append(vec)
        if len(self.vecs) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if not self.vecs:
            return
        flat = pa.array(np.stack(self.vecs).astype(np.float32).ravel())
        cols = {k: pa.array(v) for k, v in self.rows.items()}
        cols["slot"] = pa.array(self.rows["slot"], pa.int32())
        cols["vector"] = pa.FixedSizeListArray.from_arrays(flat, self.dim)
        self.table.write(pa.table(cols, schema=self.schema))
        self.written += len(self.vecs)
        for v in self.rows.values():
            v.clear()
        self.vecs.clear()


def plan(
    corpus: Corpus,
    spec: str,
    modalities: frozenset[str],
    where: str | None,
    langs: frozenset[str | None] | None = None,
) -> tuple[Todo, dict[str, int], list[str]]:
    """What to embed: (todo, counts, stale row filters to delete first).

    ``langs`` keeps only text slots in one of these languages by :mod:`plait.langs`'s
    rule (tag, else the sample's detected language; ``None`` in it keeps slots of unknown
    language): a sample with captions in 70 languages need not cost 70 texts.
    ``counts["unknown_lang"]`` says how many text slots were left out for having no
    language at all.
    """
    existing: dict[tuple[str, int], str] = {}
    ds = corpus.dataset(embeddings_table(spec))
    if ds is not None:
        t = ds.to_table(columns=["sample_id", "slot", "content"])
        for sid, slot, content in zip(
            *(t.column(c).to_pylist() for c in t.column_names), strict=True
        ):
            existing[(sid, slot)] = content
    todo = Todo()
    counts = {"slots": 0, "cached": 0, "unknown_lang": 0}
    stale: list[tuple[str, int]] = []
    cols = ("id", "kind", "texts", "images", "langs", "stats")
    for batch in corpus.batches("samples", columns=list(cols), where=where):
        for sid, kind, texts, images, tags, stats in zip(
            *(batch.column(c).to_pylist() for c in cols), strict=True
        ):
            tags = slot_langs(texts or [], tags, stats) if langs is not None else []
            if langs is not None and None not in langs and "text" in modalities:
                counts["unknown_lang"] += sum(
                    1
                    for t, x in zip(texts or [], tags, strict=True)
                    if t and t.strip() and x is None
                )
            pictures = schema.image_slots(kind)  # a video's or a sound's file is no image
            for slot, (text, media) in enumerate(zip(texts or [], images or [], strict=True)):
                if media is not None and pictures and "image" in modalities:
                    key, is_image = media, True
                elif (
                    text is not None
                    and text.strip()
                    and "text" in modalities
                    and (langs is None or tags[slot] in langs)
                ):
                    key, is_image = text_key(text), False
                else:
                    continue
                counts["slots"] += 1
                old = existing.get((sid, slot))
                if old == key:
                    counts["cached"] += 1
                    continue
                if old is not None:
                    stale.append((sid, slot))
                if is_image:
                    todo.add_image(key, (sid, slot))
                else:
                    todo.add_text(key, text, (sid, slot))
    for modality in sorted(modalities & {"audio", "video"}):  # see plait.av.embed
        from plait.av.embed import plan_timed

        timed, n, cached, stale_timed = plan_timed(corpus, modality, existing, where)
        todo.timed.append(timed)
        counts["slots"] += n
        counts["cached"] += cached
        stale += stale_timed
    filters = [f"sample_id = {sql_str(s)} AND slot = {n}" for s, n in stale]
    return todo, counts, filters


def _known_vectors(corpus: Corpus, spec: str, keys: list[str]) -> dict[str, np.ndarray]:
    from plait.retrieval.encoding import vectors_by_content

    ds = corpus.dataset(embeddings_table(spec))
    if not keys or ds is None:
        return {}
    return vectors_by_content(ds, keys)


def embed(
    corpus: Corpus,
    spec: str,
    *,
    modality: str | None = None,
    where: str | None = None,
    batch_size: int = 32,
    executor: str = "local",
    workers: int = 2,
    flush_rows: int = 4096,
    progress: Progress | None = None,
    encoder: Encoder | None = None,
    langs: Sequence[str | None] | None = None,
    **encoder_opts: Any,
) -> dict[str, Any]:
    """Embed every slot the encoder can embed; returns counts (also recorded in ``runs``).

    ``modality`` restricts to ``image`` or ``text``; ``where`` is SQL over sample columns;
    ``langs`` restricts text slots to these language tags (``None`` = untagged).
    ``encoder`` passes an already built encoder (its ``name`` must equal ``spec``).
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
    if modality not in (None, "image", "text", "audio", "video"):
        raise ConfigError(f"modality must be 'image', 'text', 'audio' or 'video', not {modality!r}")
    where = where_sql(where)  # parsed (plait.io.where): refused before any work
    params = {
        "encoder": spec,
        "modality": modality,
        "where": where,
        "batch_size": batch_size,
        "executor": executor,
        "langs": list(langs) if langs is not None else None,
        **{k: str(v) for k, v in encoder_opts.items()},
    }
    with Run(corpus, "embed", params) as run:
        enc = encoder or load_encoder(spec, corpus=corpus, **encoder_opts)
        mods = enc.modalities if modality is None else enc.modalities & {modality}
        if not mods:
            raise ConfigError(f"encoder {spec!r} does not embed {modality}")
        todo, planned, stale = plan(
            corpus, spec, frozenset(mods), where, frozenset(langs) if langs is not None else None
        )
        counts: dict[str, Any] = dict(planned)
        for f in stale:
            corpus.delete(embeddings_table(spec), f)
        counts["replaced"] = len(stale)
        total = todo.slots
        writer = _Writer(corpus, spec, enc.dim, flush_rows)
        done = 0
        tick = progress or silent
        tick(0, total)

        timed = {k: t for t in todo.timed for k in t.items}  # content key -> its todo
        reuse = _known_vectors(corpus, spec, [*todo.texts, *todo.images, *timed])
        from_cache = getattr(enc, "cached_vectors", None)  # lit: features align computed
        if from_cache is not None:
            texts_left = {k: t for k, (t, _) in todo.texts.items() if k not in reuse}
            images_left = [k for k in todo.images if k not in reuse]
            reuse.update(from_cache(corpus, texts_left, images_left))
        counts["reused"] = 0
        for key, vec in reuse.items():
            if key in todo.texts:
                where_ = todo.texts.pop(key)[1]
                writer.add("text", key, where_, vec)
            elif key in timed:
                where_ = timed[key].items.pop(key)[1]
                writer.add(timed[key].modality, key, where_, vec)
            else:
                where_ = todo.images.pop(key)
                writer.add("image", key, where_, vec)
            counts["reused"] += len(where_)
            done += len(where_)
        tick(done, total)

        t0 = time.perf_counter()
        texts = list(todo.texts.items())
        step = max(1, batch_size) * 8
        for i in range(0, len(texts), step):
            chunk = texts[i : i + step]
            vecs = enc.encode_text([t for _, (t, _) in chunk])
            for (key, (_, where_)), v in zip(chunk, vecs, strict=True):
                writer.add("text", key, where_, v)
                done += len(where_)
            tick(done, total)
        counts["texts_embedded"] = len(texts)
        counts["text_seconds"] = round(time.perf_counter() - t0, 3)

        t0 = time.perf_counter()
        failed: dict[str, int] = {}
        n_img = 0
        batches = _image_batches(
            corpus, enc, list(todo.images), batch_size, workers, executor, encoder_opts
        )
        for keys, vecs, failures in batches:
            for key, v in zip(keys, vecs, strict=True):
                writer.add("image", key, todo.images[key], v)
                done += len(todo.images[key])
            for key, reason in failures:
                failed[reason] = failed.get(reason, 0) + len(todo.images[key])
                done += len(todo.images[key])
            n_img += len(keys)
            if (
                executor == "ray"
            ):  # one commit per shard: a killed driver loses only shards in flight
                writer.flush()
            tick(done, total)
        secs = time.perf_counter() - t0
        for t in todo.timed:  # sounds and whole clips (plait.av.embed)
            from plait.av.embed import timed_batches

            t1 = time.perf_counter()
            for keys, vecs, failures in timed_batches(corpus, enc, t):
                for key, v in zip(keys, vecs, strict=True):
                    writer.add(t.modality, key, t.items[key][1], v)
                    done += len(t.items[key][1])
                for key, reason in failures:
                    failed[reason] = failed.get(reason, 0) + len(t.items[key][1])
                    done += len(t.items[key][1])
                tick(done, total)
            counts[f"{t.modality}_embedded"] = len(t.items)
            counts[f"{t.modality}_seconds"] = round(time.perf_counter() - t1, 3)
        writer.flush()
        counts.update(
            {
                "images_embedded": n_img,
                "image_seconds": round(secs, 3),
                "images_per_s": round(n_img / secs, 2) if secs and n_img else 0.0,
                "failed": failed,
                "rows_written": writer.written,
                "dim": enc.dim,
            }
        )
        corpus.compact(embeddings_table(spec))
        run.counts.update(counts)
        return {**counts, "run_id": run.run_id}


ImageBatches = Iterator[tuple[list[str], np.ndarray, list[tuple[str, str]]]]


def _image_batches(
    corpus: Corpus,
    enc: Encoder,
    keys: list[str],
    batch_size: int,
    workers: int,
    executor: str,
    opts: dict[str, Any],
) -> ImageBatches:
    if not keys:
        return
    if executor == "ray":
        from plait.encoders.ray_pool import ray_image_batches

        yield from ray_image_batches(corpus, enc.name, opts, keys, batch_size, workers)
        return
    chunks = [keys[i : i + batch_size] for i in range(0, len(keys), batch_size)]

    def load(chunk: Sequence[str]) -> list[bytes | None]:
        got = corpus.media_many(chunk)
        return [got.get(k) for k in chunk]

    # prepare_pixels/encode_pixels: uint8 handed over where the encoder normalises on its
    # device (BaseEncoder's default is prepare_image/encode_prepared).
    def prepare(data: bytes) -> np.ndarray:
        return enc.prepare_pixels(open_image(data))

    for b in prefetch_batches(chunks, load, prepare, workers=workers, depth=2):
        vecs = (
            enc.encode_pixels(b.pixels)
            if b.pixels is not None
            else np.zeros((0, enc.dim), np.float32)
        )
        yield b.items, vecs, b.failures
