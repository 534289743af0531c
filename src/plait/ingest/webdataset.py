"""WebDataset tar shards, as img2dataset writes them.

A shard holds members ``KEY.jpg`` (or png/webp...), ``KEY.txt`` (the caption)
and ``KEY.json`` (url, caption, key, status, size...). Members of one key are
adjacent, so the shard streams in one pass (``tarfile`` mode ``r|*``, gzip
allowed) holding only the current key in memory; nothing is extracted to disk.

One key becomes one sample: ``pair`` (image and caption), ``image`` or
``text``; its key is ``"<shard name>/<KEY>"`` and its source ``shard#KEY``.
Hostile or broken shards yield ``Failure`` items, never exceptions:

- member names with ``..``, absolute paths or backslashes: ``path_traversal``;
- symlinks, hard links, devices, FIFOs: ``unsupported_member``;
- a member over ``max_member_bytes``: ``too_large`` (skipped unread);
- a shard cut short: ``truncated_archive`` at ``shard#member``; every key read
  completely before the cut is kept, the key being read is quarantined;
- a caption that is not UTF-8 is decoded as Windows-1252 (else Latin-1), and the
  fallback is recorded in ``meta["caption_encoding"]`` (see
  :mod:`plait.ingest.encoding`), so a filter can find or drop those pairs;
- a ``.json`` that does not parse: ``bad_sidecar``; a key seen twice in one
  shard: ``duplicate_key`` (the first one is kept).

Image bytes are passed on unchecked; the ingest loop validates them (corrupt,
truncated, decompression bombs).

Shards plait exported come back as the samples they were written from (same ids,
every caption, tags, stats; a ``sounds`` export's sound bytes stored inline): see
:mod:`plait.ingest.reassemble`.
"""

from __future__ import annotations

import glob
import hashlib
import json
import re
import tarfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from plait.av.probe import AUDIO_EXTS, mime_of
from plait.ingest._safety import member_name_problem
from plait.ingest.base import Failure, ImageInput, Item, MediaFile, RawSample
from plait.ingest.encoding import META_KEY, decode_text
from plait.ingest.reassemble import Part, assemble, exported_part
from plait.io.media import MAX_BYTES
from plait.schema import IMAGE, PAIR, TEXT, Source

IMAGE_EXTS = ("jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff", "svg")
CAPTION_EXTS = ("txt", "caption", "text")
TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz")
_BRACE = re.compile(r"\{([^{}]*)\}")
_RANGE = re.compile(r"(-?\d+)\.\.(-?\d+)")
_KEY_EXT = re.compile(r"^((?:.*/|)[^./][^.]*)\.([^/]*)$")
_WILDCARD = re.compile(r"[*?\[{]")
_NO_LICENCE = ("", "?", "unknown", "none", "null")


def expand_braces(pattern: str) -> Iterator[str]:
    """Expand ``{00000..00009}`` ranges (zero padding kept) and ``{a,b}`` lists, lazily."""
    m = _BRACE.search(pattern)
    if m is None:
        yield pattern
        return
    head, body, tail = pattern[: m.start()], m.group(1), pattern[m.end() :]
    rng = _RANGE.fullmatch(body)
    if rng:
        a, b = rng.group(1), rng.group(2)
        padded = (len(a) > 1 and a.startswith("0")) or (len(b) > 1 and b.startswith("0"))
        width = max(len(a), len(b)) if padded else 0
        lo, hi = int(a), int(b)
        step = 1 if hi >= lo else -1
        values: Iterator[str] = (str(i).zfill(width) for i in range(lo, hi + step, step))
    elif "," in body:
        values = iter(body.split(","))
    else:  # a literal brace: keep it, expand what follows
        for rest in expand_braces(tail):
            yield head + "{" + body + "}" + rest
        return
    for value in values:
        for rest in expand_braces(tail):
            yield head + value + rest


def split_key(name: str) -> tuple[str, str] | None:
    """WebDataset's rule: the key is the path up to the first dot of the base name."""
    m = _KEY_EXT.match(name)
    return (m.group(1), m.group(2).lower()) if m else None


def _strip_tar(name: str) -> str:
    for suffix in TAR_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


@dataclass
class WebDatasetReader:
    """Streams WebDataset shards: a tar file, a directory of them, a glob or brace pattern."""

    shards: str | Path | Sequence[str]
    dataset: str = ""
    licence: str = "unknown"
    max_member_bytes: int = MAX_BYTES
    _patterns: list[str] = field(init=False, repr=False)
    _only: tuple[str, Path, str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.shards, (str, Path)):
            self._patterns = [str(self.shards)]
        else:
            self._patterns = [str(s) for s in self.shards]
        if not self.dataset:
            base = self._base(self._patterns[0])
            self.dataset = base.name or base.resolve().name

    @staticmethod
    def _base(pattern: str) -> Path:
        """The fixed directory part of a pattern: shard names are taken relative to it."""
        p = Path(pattern)
        if p.is_dir():
            return p
        parts = p.parts
        for i, part in enumerate(parts):
            if _WILDCARD.search(part):
                return Path(*parts[:i]) if i else Path(".")
        return p.parent

    def parts(self) -> list[WebDatasetReader]:
        """One reader per shard, each yielding exactly what this one yields for that shard
        (same keys), so shards can be read in parallel (``ingest --executor ray``)."""
        out = []
        for shard in self._paths():
            part = replace(self)
            part._only = shard
            out.append(part)
        return out

    def _paths(self) -> Iterator[tuple[str, Path, str]]:
        """(pattern, shard path, shard name) for every shard, in pattern order."""
        if self._only is not None:
            yield self._only
            return
        for pattern in self._patterns:
            base = self._base(pattern)
            for expanded in expand_braces(pattern):
                p = Path(expanded)
                if p.is_dir():
                    found = sorted(f for f in p.rglob("*") if f.name.endswith(TAR_SUFFIXES))
                elif _WILDCARD.search(expanded):
                    found = [Path(f) for f in sorted(glob.glob(expanded, recursive=True))]
                else:
                    found = [p]
                for f in found:
                    try:
                        name = f.relative_to(base).as_posix()
                    except ValueError:
                        name = f.name
                    yield pattern, f, _strip_tar(name)

    def estimate(self) -> int | None:
        """Sum of img2dataset's ``NNNNN_stats.json`` success counts, when every shard has one."""
        total = 0
        for _, path, _ in self._paths():
            stats = path.with_name(_strip_tar(path.name) + "_stats.json")
            try:
                total += int(json.loads(stats.read_text("utf-8"))["successes"])
            except (OSError, ValueError, KeyError, TypeError):
                return None
        return total

    def __iter__(self) -> Iterator[Item]:
        for _, path, name in self._paths():
            yield from assemble(self._read_shard(path, name))

    # -- one shard ---------------------------------------------------------------------------
    def _read_shard(self, path: Path, name: str) -> Iterator[Item | Part]:
        loc = str(path)
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed below, around a generator
        except FileNotFoundError:
            yield Failure(loc, "missing_file", f"no such shard: {path}")
            return
        except OSError as exc:
            yield Failure(loc, "unreadable_file", f"{type(exc).__name__}: {exc}")
            return
        with f:
            members = _Members(f)
            try:
                members.open()
            except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
                empty = path.stat().st_size == 0
                reason = "empty_file" if empty else _archive_reason(exc, "not_an_archive")
                yield Failure(loc, reason, f"{type(exc).__name__}: {exc}")
                return
            try:
                yield from self._members(members, loc, name)
            finally:
                members.close()

    def _members(self, tar: _Members, loc: str, name: str) -> Iterator[Item | Part]:
        group: dict[str, bytes] = {}
        group_key: str | None = None
        broken = False  # a member of the key in hand was refused: do not emit a partial key
        seen: set[str] = set()
        last = ""
        members = iter(tar)
        while True:
            try:
                member, read = next(members)
            except StopIteration:
                break
            except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
                # the cut fell between members: the key in hand was read completely
                if group_key is not None and not broken:
                    yield self._emit(loc, name, group_key, group, seen)
                where = f"{loc}#{last}" if last else loc
                msg = f"archive breaks after member {last!r}: {type(exc).__name__}: {exc}"
                yield Failure(where, _archive_reason(exc, "corrupt_archive"), msg)
                return
            where = f"{loc}#{member.name}"
            last = member.name
            if member.isdir():
                continue
            problem = member_name_problem(member.name)
            if problem:
                yield Failure(where, "path_traversal", problem)
                continue
            if not member.isfile():
                yield Failure(
                    where, "unsupported_member", f"{_member_type(member)} members are not read"
                )
                continue
            split = split_key(member.name)
            if split is None:
                yield Failure(where, "unknown_member", "member name has no KEY.EXT form")
                continue
            key, ext = split
            if key != group_key:
                if group_key is not None and not broken:
                    yield self._emit(loc, name, group_key, group, seen)
                group, group_key, broken = {}, key, False
            if member.size > self.max_member_bytes:
                msg = f"{member.size} bytes exceeds the cap of {self.max_member_bytes}"
                yield Failure(where, "too_large", msg)
                broken = True
                continue
            try:
                data = read()
            except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
                # the cut fell inside this member: its key is incomplete
                msg = f"member data cut short: {type(exc).__name__}: {exc}"
                yield Failure(where, _archive_reason(exc, "corrupt_archive"), msg)
                return
            group[ext] = data
        if group_key is not None and not broken:
            yield self._emit(loc, name, group_key, group, seen)
        end = _end_problem(tar.tar, loc, last) if tar.tar is not None else None
        if end is not None:
            yield end

    def _emit(
        self, loc: str, name: str, key: str, members: dict[str, bytes], seen: set[str]
    ) -> Item | Part:
        where = f"{loc}#{key}"
        if key in seen:
            return Failure(where, "duplicate_key", f"key {key!r} appears twice in the shard")
        seen.add(key)
        caption: str | None = None
        encoding: str | None = None
        cap_ext = next((e for e in CAPTION_EXTS if e in members), None)
        if cap_ext is not None:
            caption, encoding = decode_text(members[cap_ext])
            caption = caption.strip()
        meta: dict[str, Any] = {}
        if "json" in members:
            try:
                loaded = json.loads(members["json"].decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                return Failure(f"{where}.json", "bad_sidecar", f"metadata JSON unreadable: {exc}")
            meta = loaded if isinstance(loaded, dict) else {"json": loaded}
        if cap_ext is not None and encoding:
            meta[META_KEY] = encoding
        if not caption and isinstance(meta.get("caption"), str) and meta["caption"].strip():
            caption = meta["caption"].strip()
        images = [
            ImageInput(data=members[e], location=f"{where}.{e}") for e in IMAGE_EXTS if e in members
        ]
        media: list[ImageInput | MediaFile] = [*images]
        if isinstance(meta.get("plait_id"), str):  # a plait export: sounds come back too
            media += [
                _sound(members[e], e, f"{where}.{e}") for e in members if f".{e}" in AUDIO_EXTS
            ]
        exported = exported_part(meta, media, where)
        if exported is not None:
            return exported
        extra = sorted(set(members) - set(IMAGE_EXTS) - set(CAPTION_EXTS) - {"json"})
        if extra:
            meta["extra_members"] = extra
        slots: list[Any] = [*images, *([caption] if caption else [])]
        if not slots:
            return Failure(
                where, "empty_sample", f"no image or caption among members {sorted(members)}"
            )
        url = meta.get("url") if isinstance(meta.get("url"), str) else None
        licence = next(
            (
                str(meta[k])
                for k in ("licence", "license", "LICENSE")
                if meta.get(k) is not None and str(meta[k]).strip().lower() not in _NO_LICENCE
            ),
            self.licence,
        )
        kind = PAIR if images and caption else (IMAGE if images else TEXT)
        return RawSample(
            key=f"{name}/{key}",
            kind=kind,
            slots=slots,
            source=Source(uri=where, dataset=self.dataset, licence=licence, url=url),
            meta=meta,
        )


def _sound(data: bytes, ext: str, location: str) -> MediaFile:
    """A sound member of a plait export, stored inline as its bytes (same media id)."""
    digest = hashlib.sha256(data).hexdigest()
    return MediaFile(
        "", digest, len(data), mime_of(f"x.{ext}"), inline=True, location=location, data=data
    )


_USTAR = (b"ustar\x0000", b"ustar  \x00")
_PLAIN_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE)


def _plain_header(block: bytes) -> tarfile.TarInfo | None:
    """A ustar header of a plain file or directory, parsed; None for anything else.

    ``tarfile`` parses every field of every header in Python; a shard is
    almost all plain file headers, so those take this short path and every
    other header (pax, GNU long names, links, bad checksums) goes to
    ``tarfile`` itself.
    """
    if len(block) < tarfile.BLOCKSIZE or block[257:265] not in _USTAR:
        return None
    kind = block[156:157]
    if kind not in _PLAIN_TYPES:
        return None
    try:
        size = int(block[124:136].strip(b"\0 ") or b"0", 8)
        chksum = int(block[148:156].strip(b"\0 "), 8)
    except ValueError:
        return None
    if chksum != sum(block[:148]) + 256 + sum(block[156:512]):
        return None
    raw = block[:100].split(b"\0", 1)[0]
    if block[257:263] == b"ustar\x00":
        prefix = block[345:500].split(b"\0", 1)[0]
        if prefix:
            raw = prefix + b"/" + raw
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    info = tarfile.TarInfo(name.rstrip("/") if kind == tarfile.DIRTYPE else name)
    info.type, info.size = kind, size
    return info


class _Members:
    """(TarInfo, read) pairs of one shard; each read is called before the next pair.

    An uncompressed shard is scanned directly: plain headers are parsed by
    :func:`_plain_header` and member data comes in one read each. At the first
    header that is not plain (the end marker included), ``tarfile`` takes over
    from that offset, so every oddity is handled and reported by ``tarfile``.
    Compressed shards go through ``tarfile``'s stream mode from the start.
    """

    def __init__(self, f: Any) -> None:
        self.f = f
        self.tar: tarfile.TarFile | None = None
        self._scan_first = False

    def open(self) -> None:
        head = self.f.read(tarfile.BLOCKSIZE)
        self.f.seek(0)
        self._scan_first = _plain_header(head) is not None
        if not self._scan_first:  # compressed, not a tar, or an unusual first header
            self.tar = tarfile.open(fileobj=self.f, mode="r|*")

    def close(self) -> None:
        if self.tar is not None:
            self.tar.close()

    def __iter__(self) -> Iterator[tuple[tarfile.TarInfo, Any]]:
        if self._scan_first:
            yield from self._scan()
        tar = self.tar
        if tar is None:
            return
        for member in tar:
            # tarfile keeps every header it saw; stay flat on big shards (``members`` is
            # real but missing from typeshed)
            tar.members = []  # type: ignore[attr-defined]
            yield member, partial(_extract, tar, member)

    def _scan(self) -> Iterator[tuple[tarfile.TarInfo, Any]]:
        f, offset = self.f, 0
        while True:
            f.seek(offset)
            info = _plain_header(f.read(tarfile.BLOCKSIZE))
            if info is None:  # the end marker, a cut, or a header for tarfile to read
                f.seek(offset)
                self.tar = tarfile.open(fileobj=f, mode="r:")
                return
            start = offset + tarfile.BLOCKSIZE
            offset = start + -(-info.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE
            yield info, partial(_read_at, f, start, info.size)


def _read_at(f: Any, start: int, size: int) -> bytes:
    f.seek(start)
    data = f.read(size)
    if len(data) != size:
        raise tarfile.ReadError("unexpected end of data")
    return data


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fobj = tar.extractfile(member)
    return fobj.read() if fobj is not None else b""


def _end_problem(tar: tarfile.TarFile, loc: str, last: str) -> Failure | None:
    """A cut or garbage where a header should be, which ``tarfile`` takes for the end.

    In stream mode ``tarfile`` stops quietly on a truncated or invalid header
    after the first member. For an uncompressed shard the block where it
    stopped must be the zero end-of-archive marker; anything else is reported.
    (A compressed shard that is cut raises while decompressing instead.)
    """
    if getattr(tar.fileobj, "comptype", "tar") != "tar":
        return None
    try:
        with open(loc, "rb") as f:
            f.seek(tar.offset)
            block = f.read(tarfile.BLOCKSIZE)
    except OSError:
        return None
    where = f"{loc}#{last}" if last else loc
    if len(block) < tarfile.BLOCKSIZE:
        msg = f"archive ends after member {last!r} without an end-of-archive marker"
        return Failure(where, "truncated_archive", msg)
    if block.strip(b"\0"):
        return Failure(where, "corrupt_archive", f"invalid header after member {last!r}")
    return None


def _archive_reason(exc: BaseException, default: str) -> str:
    msg = str(exc).lower()
    if (
        isinstance(exc, EOFError)
        or "unexpected end" in msg
        or "truncated" in msg
        or "ended before" in msg
    ):
        return "truncated_archive"
    return default


def _member_type(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.isdev():
        return "device"
    if member.isfifo():
        return "FIFO"
    return "special"
