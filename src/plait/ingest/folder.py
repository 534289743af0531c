"""Image folders with sidecar captions.

``cat.jpg`` + ``cat.txt`` (caption) + ``cat.json`` (metadata) become one sample;
an image without a sidecar becomes an ``image`` sample. Sidecars may be
multilingual in the Tux Paint / gettext style: an untagged first line (the
English original) followed by ``LANG.utf8=...`` lines; every language is kept,
each caption slot tagged with its language.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

from plait.errors import InputError
from plait.ingest.base import Failure, ImageInput, Item, RawSample
from plait.ingest.encoding import META_KEY, decode_text
from plait.ingest.files import NOFOLLOW, read_regular
from plait.schema import IMAGE, PAIR, Source

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".svg"})
_LANG_LINE = re.compile(
    r"^([A-Za-z]{2,3}(?:_[A-Za-z]{2,4})?(?:@[A-Za-z]+)?)\.(?:utf-?8|UTF-?8)=(.*)$"
)


def parse_sidecar(text: str) -> tuple[list[str], list[str | None]]:
    """Captions and their language tags from a sidecar text.

    Lines of the form ``LANG.utf8=caption`` are translations tagged LANG. Other
    non-empty lines are captions; when translations are present the untagged
    lines are the English originals (gettext's msgid convention), else their
    language is unknown.
    """
    captions: list[str] = []
    langs: list[str | None] = []
    untagged: list[int] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _LANG_LINE.match(line)
        if m:
            caption = m.group(2).strip()
            if caption:
                captions.append(caption)
                langs.append(m.group(1))
        else:
            untagged.append(len(captions))
            captions.append(line)
            langs.append(None)
    if len(untagged) < len(captions):  # translations present: untagged lines are English
        for i in untagged:
            langs[i] = "en"
    return captions, langs


def walk(root: Path, exts: frozenset[str]) -> Iterator[tuple[str, str, frozenset[str], bool]]:
    """(folder, file name, names in the folder, is a symlink) of every file under ``root``
    whose extension is in ``exts``, in sorted order.

    One ``scandir`` per folder: sidecars are looked up in its listing and the
    symlink test comes from the directory entry, so no file is stat-ed twice.
    """
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        names = frozenset(e.name for e in entries)
        subdirs = []
        for e in entries:
            if e.is_dir(follow_symlinks=False):
                subdirs.append(e.path)
            elif os.path.splitext(e.name)[1].lower() in exts:
                yield folder, e.name, names, e.is_symlink()
        stack.extend(reversed(subdirs))


# A sidecar is a caption or a small JSON file: anything bigger is not one.
MAX_SIDECAR_BYTES = 4 * 1024 * 1024


class Sidecar(NamedTuple):
    path: str | None
    text: str | None
    failure: Failure | None
    encoding: str | None = None  # set when the text was not UTF-8 (the fallback used)


def open_sidecar(side_path: str, root: str | Path | None) -> bytes | Failure:
    """The bytes of a sidecar, checked as the file it describes is: a symlink may not
    lead out of ``root``; only a regular file of sane size is read (see
    :func:`plait.ingest.files.read_regular`). Where the platform has ``O_NOFOLLOW`` a
    symlink shows as the no-follow open failing, and only then is it looked at; elsewhere
    every sidecar is asked first."""
    try:
        if root is not None:
            if NOFOLLOW:
                try:
                    return read_regular(side_path, MAX_SIDECAR_BYTES, NOFOLLOW)
                except OSError:
                    if not os.path.islink(side_path):
                        raise
            elif not os.path.islink(side_path):
                return read_regular(side_path, MAX_SIDECAR_BYTES)
            # a symlink: followed only to a file inside the folder
            if not Path(os.path.realpath(side_path)).is_relative_to(Path(root).resolve()):
                return Failure(
                    side_path, "path_traversal", "sidecar symlink points outside the folder"
                )
        return read_regular(side_path, MAX_SIDECAR_BYTES)
    except InputError as exc:
        return Failure(side_path, exc.reason, f"sidecar: {exc}")
    except OSError as exc:
        return Failure(side_path, "unreadable_file", str(exc))


def read_sidecar(
    folder: str,
    stem: str,
    names: frozenset[str],
    exts: tuple[str, ...],
    root: str | Path | None = None,
) -> Sidecar:
    """The first sidecar ``stem + ext`` present: its path, text, the failure that stops
    it (see :func:`open_sidecar`), and the legacy encoding its text was decoded with."""
    for ext in exts:
        side = stem + ext
        if side in names:
            side_path = os.path.join(folder, side)
            data = open_sidecar(side_path, root)
            if isinstance(data, Failure):
                return Sidecar(side_path, None, data)
            text, encoding = decode_text(data)
            return Sidecar(side_path, text, None, encoding)
    return Sidecar(None, None, None)


def read_meta_sidecar(
    folder: str,
    stem: str,
    names: frozenset[str],
    ext: str = ".json",
    root: str | Path | None = None,
) -> tuple[dict, Failure | None]:
    """The ``stem.json`` sidecar as a dict (``{"sidecar": value}`` when not an object)."""
    side = stem + ext
    if side not in names:
        return {}, None
    side_path = os.path.join(folder, side)
    data = open_sidecar(side_path, root)
    if isinstance(data, Failure):
        return {}, data
    try:
        loaded = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return {}, Failure(side_path, "bad_sidecar", f"sidecar JSON unreadable: {exc}")
    return (loaded if isinstance(loaded, dict) else {"sidecar": loaded}), None


@dataclass
class FolderReader:
    """Streams an image folder (recursively, in sorted order) with its sidecars."""

    root: str | Path
    dataset: str = ""
    licence: str = "unknown"
    caption_exts: tuple[str, ...] = (".txt", ".caption")
    meta_ext: str = ".json"
    _root: Path = field(init=False, repr=False)
    _only: list[tuple[str, str, frozenset[str], bool]] | None = field(
        default=None, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self._root = Path(self.root).resolve()
        self.dataset = self.dataset or self._root.name

    def _files(self) -> Iterator[tuple[str, str, frozenset[str], bool]]:
        return walk(self._root, IMAGE_EXTS)

    def estimate(self) -> int | None:
        return sum(1 for _ in self._files()) if self._only is None else len(self._only)

    def parts(self, size: int = 500) -> list[FolderReader]:
        """Readers of ``size`` images each, together yielding what this one yields (same
        keys), so the images can be read in parallel (``ingest --executor ray``). Each part
        carries only its images' sidecar names, not the whole folder listing."""
        sidecar_exts = (*self.caption_exts, self.meta_ext)
        out: list[FolderReader] = []
        chunk: list[tuple[str, str, frozenset[str], bool]] = []
        for folder, name, names, link in self._files():
            stem = os.path.splitext(name)[0]
            mine = frozenset(stem + e for e in sidecar_exts if stem + e in names)
            chunk.append((folder, name, mine, link))
            if len(chunk) >= size:
                out.append(self._part(chunk))
                chunk = []
        if chunk:
            out.append(self._part(chunk))
        return out

    def _part(self, files: list[tuple[str, str, frozenset[str], bool]]) -> FolderReader:
        part = replace(self)
        part._only = files
        return part

    def __iter__(self) -> Iterator[Item]:
        files = self._files() if self._only is None else iter(self._only)
        for folder, name, names, link in files:
            yield self._read(folder, name, names, link)

    def _read(self, folder: str, name: str, names: frozenset[str], link: bool) -> Item:
        path = os.path.join(folder, name)
        root = str(self._root)
        if path.startswith(root + os.sep):  # walk() joins onto the root: a slice will do
            rel = path[len(root) + 1 :].replace(os.sep, "/")  # (relpath costs ~60 us a file)
        else:
            rel = os.path.relpath(path, root).replace(os.sep, "/")
        if link and not Path(path).resolve().is_relative_to(self._root):
            return Failure(path, "path_traversal", "symlink points outside the source folder")
        stem = os.path.splitext(name)[0]
        # the sidecar names present, not the folder's listing less this file: that copy
        # per image cost O(folder size) each, quadratic over a large folder
        sides = (stem + e for e in (*self.caption_exts, self.meta_ext))
        others = frozenset(side for side in sides if side in names and side != name)
        side = read_sidecar(folder, stem, others, self.caption_exts, self._root)
        if side.failure is not None:
            return side.failure
        captions, langs = parse_sidecar(side.text) if side.text is not None else ([], [])
        meta, failure = read_meta_sidecar(folder, stem, others, self.meta_ext, self._root)
        if failure is not None:
            return failure
        if side.encoding:  # what the input said: its caption was not UTF-8
            meta = {**meta, META_KEY: side.encoding}
        return RawSample(
            key=rel,
            kind=PAIR if captions else IMAGE,
            slots=[ImageInput(path=path), *captions],
            langs=[None, *langs],
            source=Source(uri=path, dataset=self.dataset, licence=self.licence),
            meta={"file": rel, **meta},
        )
