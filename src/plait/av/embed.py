"""The time-based side of ``plait embed``: what an ``audio`` or ``video`` encoder embeds,
and the vectors.

- ``audio`` (``yamnet``): a sound sample's media slot, at its slot (content key: the
  media id); a clip's sound, the span of its parent video's track, as the whole
  sample (slot -1; content key ``<video media id>#t=start,end``). At most ``MAX_S``
  seconds of each are decoded (a whole-file vector of an hour of sound says little;
  ``sound_events`` labels it per window instead). A clip whose video has no sound
  track gets no row.
- ``video`` (``hf:`` X-CLIP): a clip from its keyframes, as the whole sample (slot -1;
  content key ``frames:`` + the keyframes' media ids).

Inputs are decoded in a thread one batch ahead of the model.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plait.av.timing import fragment, media_path
from plait.errors import InputError
from plait.io.corpus import Corpus
from plait.schema import AUDIO, CLIP, VIDEO, Sample

TIMED_MODALITIES = ("audio", "video")
MAX_S = 600.0


@dataclass
class TimedTodo:
    """For one modality: content key -> (what to read, the (sample, slot) rows it fills)."""

    modality: str
    items: dict[str, tuple[Any, list[tuple[str, int]]]] = field(default_factory=dict)

    def add(self, key: str, source: Any, where: tuple[str, int]) -> None:
        self.items.setdefault(key, (source, []))[1].append(where)

    @property
    def slots(self) -> int:
        return sum(len(w) for _, w in self.items.values())


def plan_timed(
    corpus: Corpus, modality: str, existing: dict[tuple[str, int], str], where: str | None
) -> tuple[TimedTodo, int, int, list[tuple[str, int]]]:
    """``(todo, slots, cached, stale)`` for ``modality`` over samples matching ``where``."""
    videos: dict[str, str | None] = {}
    if modality == "audio":
        rows = corpus.read("samples", columns=["id", "images"], where=f"kind = '{VIDEO}'")
        videos = {r["id"]: (r["images"] or [None])[0] for r in rows.to_pylist()}
    kinds = f"('{AUDIO}', '{CLIP}')" if modality == "audio" else f"('{CLIP}')"
    flt = f"kind IN {kinds}" + (f" AND ({where})" if where else "")
    todo = TimedTodo(modality)
    slots = cached = 0
    stale: list[tuple[str, int]] = []
    for batch in corpus.batches("samples", where=flt):
        for row in batch.to_pylist():
            s = Sample.from_row(row)
            got = _sound(s, videos) if modality == "audio" else _frames(s)
            if got is None:
                continue
            key, slot, source = got
            slots += 1
            old = existing.get((s.id, slot))
            if old == key:
                cached += 1
                continue
            if old is not None:
                stale.append((s.id, slot))
            todo.add(key, source, (s.id, slot))
    return todo, slots, cached, stale


def _sound(s: Sample, videos: dict[str, str | None]) -> tuple[str, int, Any] | None:
    if s.kind == AUDIO and s.media_ids:
        slot = next(i for i, m in enumerate(s.images) if m)
        mid = s.images[slot]
        assert mid is not None  # the slot was chosen for holding a media id
        return mid, slot, ("media", mid, media_path(s))
    if s.kind == CLIP and s.parent in videos and videos[s.parent]:
        start, end = float(s.meta.get("start", 0)), float(s.meta.get("end", 0))
        key = fragment(str(videos[s.parent]), start, end)
        return key, -1, ("file", media_path(s), start, end)
    return None


def _frames(s: Sample) -> tuple[str, int, Any] | None:
    ids = s.image_ids
    if s.kind != CLIP or not ids:
        return None
    key = "frames:" + hashlib.sha256(",".join(ids).encode()).hexdigest()
    return key, -1, ("frames", ids)


def timed_batches(
    corpus: Corpus, enc: Any, todo: TimedTodo, batch_size: int = 16
) -> Iterator[tuple[list[str], np.ndarray, list[tuple[str, str]]]]:
    """``(keys, vectors, failures)`` per batch; decoding runs one batch ahead."""
    keys = list(todo.items)
    chunks = [keys[i : i + batch_size] for i in range(0, len(keys), batch_size)]
    if not chunks:
        return
    forward = enc.encode_audio if todo.modality == "audio" else enc.encode_video

    def load(chunk: list[str]) -> tuple[list[str], list[Any], list[tuple[str, str]]]:
        ok, inputs, bad = [], [], []
        for k in chunk:
            try:
                x = _read(corpus, todo.items[k][0])
            except InputError as exc:
                bad.append((k, exc.reason))
                continue
            except OSError as exc:
                bad.append((k, f"unreadable_file: {type(exc).__name__}"))
                continue
            if x is None or not len(x):
                bad.append((k, "no_sound" if todo.modality == "audio" else "no_frames"))
                continue
            ok.append(k)
            inputs.append(x)
        return ok, inputs, bad

    with ThreadPoolExecutor(1, thread_name_prefix="plait-timed") as pool:
        pending = pool.submit(load, chunks[0])
        for nxt in [*chunks[1:], None]:
            ok, inputs, bad = pending.result()
            if nxt is not None:
                pending = pool.submit(load, nxt)
            vecs = forward(inputs) if inputs else np.zeros((0, enc.dim), np.float32)
            yield ok, vecs, bad


def _read(corpus: Corpus, source: tuple) -> Any:
    from plait.av.audio import load_audio

    if source[0] == "frames":
        from plait.io.media import open_image

        got = corpus.media_many(source[1])
        return [open_image(got[m]) for m in source[1] if m in got]
    if source[0] == "media":
        _, media_id, path = source
        if path and os.path.isfile(path):
            return load_audio(path, end=MAX_S)
        return load_audio(corpus.media_bytes(media_id), end=MAX_S)
    _, path, start, end = source
    return load_audio(path, start=start, end=min(end, start + MAX_S))
