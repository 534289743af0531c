"""What the video and audio readers share: walking a folder (or one file) for media
of their kind, refusing symlinks that leave it, probing each file, and reading its
sidecars.

Sidecars beside ``a.mp4`` (or ``a.ogg``): ``a.txt`` captions (one per line, or the
Tux Paint / gettext multilingual layout, see :func:`plait.ingest.folder.parse_sidecar`),
``a.srt`` or ``a.vtt`` subtitles (timed text), ``a.json`` metadata. Every bad
input is a :class:`Failure` with its location and a reason; nothing raises.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.av.probe import Probe, av_module, hash_file, probe
from plait.av.subtitles import SUBTITLE_EXTS, Cue, parse_subtitles
from plait.errors import InputError
from plait.ingest.base import Failure, Item, MediaFile, RawSample
from plait.ingest.encoding import META_KEY
from plait.ingest.folder import parse_sidecar, read_meta_sidecar, read_sidecar, walk
from plait.schema import Source


@dataclass
class Sidecars:
    captions: list[str] = field(default_factory=list)
    langs: list[str | None] = field(default_factory=list)
    cues: list[Cue] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class TimedReader:
    """Base of :class:`~plait.ingest.video.VideoReader` and
    :class:`~plait.ingest.audio.AudioReader`; subclasses set ``exts`` and ``_read``."""

    path: str | Path
    dataset: str = ""
    licence: str = "unknown"
    captions: bool = True  # read sidecars; False ingests the media alone (e.g. for an eval)
    include: str = ""  # comma-separated globs over paths relative to the source folder
    exclude: str = ""  # e.g. "*_desc*,symbols/*"
    known: Callable[[str], bool] | None = None  # set by the ingest loop: keys already stored
    _root: Path = field(init=False, repr=False)
    exts: frozenset[str] = field(init=False, repr=False, default=frozenset())
    kind: str = field(init=False, repr=False, default="")
    keep_open: bool = field(init=False, repr=False, default=False)  # _read gets Probe.container

    def __post_init__(self) -> None:
        av_module()  # a missing extra fails here, naming it, not on the first file
        p = Path(self.path).resolve()
        self._root = p if p.is_dir() else p.parent
        self.dataset = self.dataset or (p.name if p.is_dir() else p.stem)

    def _files(self) -> Iterator[tuple[str, str, frozenset[str], bool]]:
        p = Path(self.path)
        if p.is_dir():
            yield from walk(self._root, self.exts)
        elif p.exists():
            names = frozenset(os.listdir(self._root))
            yield str(self._root), p.name, names, p.is_symlink()

    def estimate(self) -> int | None:
        return sum(
            1
            for folder, name, _, _ in self._files()
            if self._wanted(
                os.path.relpath(os.path.join(folder, name), self._root).replace(os.sep, "/")
            )
        )

    def __iter__(self) -> Iterator[Item]:
        for folder, name, names, link in self._files():
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, self._root).replace(os.sep, "/")
            if not self._wanted(rel):
                continue
            if self.known is not None and self.known(rel):
                # stored by an earlier run: not decoded again; the stub counts as skipped
                yield RawSample(rel, self.kind, [], self.source(path))
                continue
            if link and not Path(path).resolve().is_relative_to(self._root):
                yield Failure(path, "path_traversal", "symlink points outside the source folder")
                continue
            try:
                info = probe(path, keep_open=self.keep_open)
            except InputError as exc:
                yield Failure(path, exc.reason, str(exc))
                continue
            try:
                side = Sidecars()
                if self.captions:
                    got = self._sidecars(folder, os.path.splitext(name)[0], names - {name})
                    if isinstance(got, Failure):
                        yield got
                        continue
                    side = got
                yield from self._read(path, rel, info, side)
            finally:
                info.close()

    def _wanted(self, rel: str) -> bool:
        inc = [g.strip() for g in self.include.split(",") if g.strip()]
        exc = [g.strip() for g in self.exclude.split(",") if g.strip()]
        if inc and not any(fnmatch.fnmatchcase(rel, g) for g in inc):
            return False
        return not any(fnmatch.fnmatchcase(rel, g) for g in exc)

    def _read(self, path: str, rel: str, info: Probe, side: Sidecars) -> Iterator[Item]:
        raise NotImplementedError

    def _sidecars(self, folder: str, stem: str, names: frozenset[str]) -> Sidecars | Failure:
        out = Sidecars()
        caps = read_sidecar(folder, stem, names, (".txt", ".caption"), self._root)
        if caps.failure is not None:
            return caps.failure
        if caps.text is not None:
            out.captions, out.langs = parse_sidecar(caps.text)
            if caps.encoding:
                out.meta[META_KEY] = caps.encoding
        subs = read_sidecar(folder, stem, names, SUBTITLE_EXTS, self._root)
        if subs.failure is not None:
            return subs.failure
        if subs.text is not None:
            out.cues, skipped = parse_subtitles(subs.text)
            if skipped:
                out.meta["subtitle_blocks_skipped"] = skipped
            out.meta["subtitles"] = os.path.basename(subs.path or "")
            if subs.encoding:
                out.meta["subtitle_encoding"] = subs.encoding
        meta, failure = read_meta_sidecar(folder, stem, names, root=self._root)
        if failure is not None:
            return failure
        out.meta.update(meta)
        return out

    def media_file(self, path: str, info: Probe, inline: bool = False) -> MediaFile:
        """The file as a media slot, hashed in chunks (flat memory at any size)."""
        return MediaFile(
            path=path,
            sha256=hash_file(path),
            size=info.size,
            mime=info.mime,
            width=info.width,
            height=info.height,
            inline=inline,
        )

    def source(self, uri: str) -> Source:
        return Source(uri=uri, dataset=self.dataset, licence=self.licence)
