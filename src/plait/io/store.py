"""Where a corpus lives: a local folder, or a prefix of an S3-compatible object store.

``s3://bucket/prefix`` names a corpus on object storage. Lance reads and writes its
tables there itself; everything else a corpus keeps beside them (its marker, HNSW
index files, trained adapters and filters, a curate run's shard results) goes
through :class:`ObjectPath`, a small ``pathlib``-like path over pyarrow's S3 file
system, so the code that handles those files works on either kind of path.

Credentials, region and endpoint come from the usual environment variables
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``,
``AWS_REGION``, ``AWS_ENDPOINT_URL``), which Lance, pyarrow and every child process
(workers, Ray tasks, server workers) read; ``plait -o KEY=VALUE`` sets them
(:func:`configure`). A plain ``http://`` endpoint (a local MinIO or moto server)
is allowed when one is set that way.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from plait.cache import cache_dir
from plait.errors import ConfigError

SCHEMES = ("s3://",)
OPTIONS = {  # plait -o KEY=VALUE -> the variable Lance, pyarrow and boto-style tools read
    "endpoint": "AWS_ENDPOINT_URL",
    "region": "AWS_REGION",
    "access_key_id": "AWS_ACCESS_KEY_ID",
    "secret_access_key": "AWS_SECRET_ACCESS_KEY",
    "session_token": "AWS_SESSION_TOKEN",
    "allow_http": "AWS_ALLOW_HTTP",
}


def is_remote(path: str | os.PathLike[str] | ObjectPath) -> bool:
    return isinstance(path, ObjectPath) or str(path).startswith(SCHEMES)


def configure(options: dict[str, str]) -> None:
    """Apply ``plait -o`` storage options (names in :data:`OPTIONS`) to this process and
    its children."""
    for key, value in options.items():
        var = OPTIONS.get(key.replace("-", "_").lower())
        if var is None:
            raise ConfigError(
                f"unknown storage option {key!r}; known: {', '.join(sorted(OPTIONS))}"
            )
        os.environ[var] = value
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if endpoint.startswith("http://"):
        os.environ.setdefault("AWS_ALLOW_HTTP", "true")  # Lance refuses plain http otherwise


def location(path: str | os.PathLike[str] | ObjectPath) -> Path | ObjectPath:
    """A local :class:`~pathlib.Path` or an :class:`ObjectPath`."""
    if isinstance(path, (Path, ObjectPath)):
        return path
    return ObjectPath(str(path)) if is_remote(path) else Path(path)


_FS: dict[str, Any] = {}


def _filesystem() -> Any:
    """pyarrow's S3 file system, built from the environment (rebuilt when it changes)."""
    from pyarrow import fs as pafs

    if os.environ.get("AWS_ENDPOINT_URL", "").startswith("http://"):
        os.environ.setdefault("AWS_ALLOW_HTTP", "true")
    key = "|".join(os.environ.get(v, "") for v in OPTIONS.values())
    if key not in _FS:
        _FS.clear()
        _FS[key] = pafs.FileSystem.from_uri("s3://plait-probe")[0]
    return _FS[key]


class ObjectPath:
    """An object-store path with the parts of :class:`pathlib.Path` plait uses.

    Objects have no folders: a "folder" exists while some object lies under it,
    ``mkdir`` does nothing, and a write replaces the whole object at once (a reader
    sees the old or the new bytes, never half).
    """

    __slots__ = ("_uri",)

    def __init__(self, uri: str) -> None:
        scheme, _, rest = str(uri).partition("://")
        rest = "/".join(p for p in rest.split("/") if p and p != ".")
        if not rest:
            raise ConfigError(f"{uri!r} names no bucket")
        self._uri = f"{scheme}://{rest}"

    # -- names -----------------------------------------------------------------------------
    def __str__(self) -> str:
        return self._uri

    def __repr__(self) -> str:
        return f"ObjectPath({self._uri!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectPath) and other._uri == self._uri

    def __hash__(self) -> int:
        return hash(self._uri)

    def __truediv__(self, part: str | os.PathLike[str]) -> ObjectPath:
        return ObjectPath(f"{self._uri}/{os.fspath(part)}")

    @property
    def _key(self) -> str:
        return self._uri.partition("://")[2]

    @property
    def name(self) -> str:
        return self._key.rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        return Path(self.name).suffix

    @property
    def stem(self) -> str:
        return Path(self.name).stem

    @property
    def parent(self) -> ObjectPath:
        head = self._uri.rsplit("/", 1)[0]
        return self if head.endswith(":/") or "/" not in self._key else ObjectPath(head)

    def with_name(self, name: str) -> ObjectPath:
        return self.parent / name

    def with_suffix(self, suffix: str) -> ObjectPath:
        return self.with_name(self.stem + suffix)

    def as_posix(self) -> str:
        return self._uri

    def resolve(self) -> ObjectPath:
        return self

    def relative_to(self, other: ObjectPath) -> Path:
        prefix = other._uri.rstrip("/") + "/"
        if not self._uri.startswith(prefix):
            raise ValueError(f"{self} is not under {other}")
        return Path(self._uri[len(prefix) :])

    # -- the store -------------------------------------------------------------------------
    def _info(self) -> Any:
        return _filesystem().get_file_info(self._key)

    def exists(self) -> bool:
        return self.is_file() or self.is_dir()

    def is_file(self) -> bool:
        from pyarrow import fs as pafs

        return self._info().type == pafs.FileType.File

    def is_dir(self) -> bool:
        from pyarrow import fs as pafs

        info = self._info()
        if info.type == pafs.FileType.Directory:
            return True
        sel = pafs.FileSelector(self._key, allow_not_found=True, recursive=False)
        return info.type == pafs.FileType.NotFound and bool(_filesystem().get_file_info(sel))

    def stat(self) -> os.stat_result:
        info = self._info()
        from pyarrow import fs as pafs

        if info.type != pafs.FileType.File:
            raise FileNotFoundError(str(self))
        mtime = info.mtime_ns or 0
        return os.stat_result((0o100644, 0, 0, 1, 0, 0, info.size or 0, 0, 0, 0, 0, 0, 0, mtime))

    def iterdir(self) -> Iterator[ObjectPath]:
        from pyarrow import fs as pafs

        sel = pafs.FileSelector(self._key, allow_not_found=True, recursive=False)
        for info in sorted(_filesystem().get_file_info(sel), key=lambda i: i.path):
            yield ObjectPath(f"{self._uri.partition('://')[0]}://{info.path}")

    def glob(self, pattern: str) -> Iterator[ObjectPath]:
        """``NAME``-style patterns per level (``*/plan.json``), as :meth:`Path.glob`."""
        head, _, rest = pattern.partition("/")
        for child in self.iterdir():
            if fnmatch.fnmatchcase(child.name, head):
                if not rest:
                    yield child
                else:
                    yield from child.glob(rest)

    def mkdir(self, parents: bool = False, exist_ok: bool = False) -> None:
        """Nothing to do: a folder is the prefix of the objects under it."""

    def read_bytes(self) -> bytes:
        try:
            with _filesystem().open_input_stream(self._key) as f:
                return f.read()
        except OSError as exc:
            if not self.is_file():
                raise FileNotFoundError(str(self)) from exc
            raise

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data: bytes) -> int:
        with _filesystem().open_output_stream(self._key) as f:
            f.write(data)
        return len(data)

    def write_text(self, text: str, encoding: str = "utf-8") -> int:
        return self.write_bytes(text.encode(encoding))

    def replace(self, target: ObjectPath) -> ObjectPath:
        _filesystem().move(self._key, target._key)
        return target

    def unlink(self, missing_ok: bool = False) -> None:
        if not self.is_file():
            if missing_ok:
                return
            raise FileNotFoundError(str(self))
        _filesystem().delete_file(self._key)

    def rmdir(self) -> None:
        if any(True for _ in self.iterdir()):
            raise OSError(f"{self} is not empty")
        with contextlib.suppress(OSError):  # a folder marker object, where the store keeps one
            _filesystem().delete_dir(self._key)


def rmtree(path: Path | ObjectPath, ignore_errors: bool = False) -> None:
    """Remove a folder and everything under it."""
    if isinstance(path, ObjectPath):
        try:
            _filesystem().delete_dir(path._key)
        except OSError:
            if not ignore_errors:
                raise
        return
    shutil.rmtree(path, ignore_errors=ignore_errors)


def write_file(path: Path | ObjectPath, write: Callable[[str], object]) -> None:
    """Write ``path`` with a library that wants a file name (faiss, numpy, safetensors):
    ``write(name)`` fills a temporary file, which then replaces ``path`` at once (a
    rename locally, one upload on object storage)."""
    if isinstance(path, ObjectPath):
        with tempfile.TemporaryDirectory(prefix="plait-upload-") as tmp:
            name = os.path.join(tmp, path.name)
            write(name)
            with open(name, "rb") as f, _filesystem().open_output_stream(path._key) as out:
                shutil.copyfileobj(f, out, 8 << 20)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f"{path.name}.tmp{os.getpid()}")
    write(str(part))
    os.replace(part, path)


@contextmanager
def local_file(path: Path | ObjectPath) -> Iterator[str]:
    """A local file name holding ``path``'s bytes, for libraries that read files. An
    object is downloaded once per version (size and time) into :func:`cache_dir`, so
    processes that open the same object share one copy (and its page cache)."""
    if not isinstance(path, ObjectPath):
        yield str(path)
        return
    st = path.stat()
    digest = hashlib.sha256(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:24]
    dest = cache_dir("objects", f"{digest}-{path.name}")
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f"{dest.name}.tmp{os.getpid()}")
        with _filesystem().open_input_stream(path._key) as f, open(tmp, "wb") as out:
            shutil.copyfileobj(f, out, 8 << 20)
        os.replace(tmp, dest)
    yield str(dest)
