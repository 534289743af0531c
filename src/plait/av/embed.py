"""The sound side of ``plait embed``: which sounds an ``audio`` encoder embeds, and their
vectors.

A sound sample's media slot is embedded at its slot (content key: the media id);
a clip's sound, the span of its parent video's track, as the whole sample (slot
-1; content key ``<video media id>#t=start,end``). Sounds are decoded in a thread
ahead of the model, at most ``MAX_S`` seconds of each (a whole-file vector of an
hour of sound says little; ``sound_events`` labels it per window instead). A clip
whose video has no sound track gets no row.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from plait.av.timing import fragment, media_path
from plait.errors import InputError
from plait.io.corpus import Corpus
from plait.schema import AUDIO, CLIP, VIDEO, Sample

MODALITY = "audio"
MAX_S = 600.0


@dataclass
class SoundTodo:
    """Content key -> (where it is read from, the (sample, slot) rows it fills)."""

    items: dict[str, tuple[Any, list[tuple[str, int]]]] = field(default_factory=dict)

    def add(self, key: str, source: Any, where: tuple[str, int]) -> None:
        self.items.setdefault(key, (source, []))[1].append(where)

    @property
    def slots(self) -> int:
        return sum(len(w) for _, w in self.items.values())


def plan_sounds(
    corpus: Corpus, existing: dict[tuple[str, int], str], where: str | None
) -> tuple[SoundTodo, int, int, list[tuple[str, int]]]:
    """``(todo, slots, cached, stale)`` for the sounds of samples matching ``where``."""
    videos = {
        r["id"]: (r["images"] or [None])[0]
        for r in corpus.read(
            "samples", columns=["id", "images"], where=f"kind = '{VIDEO}'"
        ).to_pylist()
    }
    todo = SoundTodo()
    slots = cached = 0
    stale: list[tuple[str, int]] = []
    flt = f"kind IN ('{AUDIO}', '{CLIP}')" + (f" AND ({where})" if where else "")
    for batch in corpus.batches("samples", where=flt):
        for row in batch.to_pylist():
            s = Sample.from_row(row)
            got = _content(s, videos)
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


def _content(s: Sample, videos: dict[str, str | None]) -> tuple[str, int, Any] | None:
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


def sound_batches(
    corpus: Corpus, enc: Any, todo: SoundTodo, batch_size: int = 16
) -> Iterator[tuple[list[str], np.ndarray, list[tuple[str, str]]]]:
    """``(keys, vectors, failures)`` per batch; decoding runs one batch ahead."""
    keys = list(todo.items)
    chunks = [keys[i : i + batch_size] for i in range(0, len(keys), batch_size)]
    if not chunks:
        return

    def load(chunk: list[str]) -> tuple[list[str], list[np.ndarray], list[tuple[str, str]]]:
        ok, waves, bad = [], [], []
        for k in chunk:
            try:
                w = _wave(corpus, todo.items[k][0])
            except InputError as exc:
                bad.append((k, exc.reason))
                continue
            except OSError as exc:
                bad.append((k, f"unreadable_file: {type(exc).__name__}"))
                continue
            if w is None or not len(w):
                bad.append((k, "no_sound"))
                continue
            ok.append(k)
            waves.append(w)
        return ok, waves, bad

    with ThreadPoolExecutor(1, thread_name_prefix="plait-sound") as pool:
        pending = pool.submit(load, chunks[0])
        for nxt in [*chunks[1:], None]:
            ok, waves, bad = pending.result()
            if nxt is not None:
                pending = pool.submit(load, nxt)
            vecs = enc.encode_audio(waves) if waves else np.zeros((0, enc.dim), np.float32)
            yield ok, vecs, bad


def _wave(corpus: Corpus, source: tuple) -> np.ndarray | None:
    import os

    from plait.av.audio import load_audio

    if source[0] == "media":
        _, media_id, path = source
        if path and os.path.isfile(path):
            return load_audio(path, end=MAX_S)
        return load_audio(corpus.media_bytes(media_id), end=MAX_S)
    _, path, start, end = source
    return load_audio(path, start=start, end=min(end, start + MAX_S))
