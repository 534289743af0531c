"""Checks on names and paths that come from untrusted inputs.

Archive member names, image paths inside documents and URLs are written by
whoever made the input. Readers never extract to disk, but a name like
``../../etc/passwd`` still says the input is hostile (or broken), and a local
path in a downloaded JSONL file must not pull arbitrary files of this machine
into a corpus. These helpers say why a name is refused, so the caller can turn
it into a ``Failure`` with reason ``path_traversal``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f]")
URL_SCHEMES = ("http://", "https://")


def member_name_problem(name: str) -> str | None:
    """Why an archive member name is unsafe, or None when it is fine.

    Refused: absolute paths, ``..`` components, Windows drive prefixes and
    backslash separators (which some extractors treat as directories), and NUL
    or other control characters.
    """
    if not name:
        return "empty member name"
    if _CONTROL.search(name):
        return "member name contains control characters"
    if "\\" in name:
        return "member name contains a backslash"
    if name.startswith("/") or _DRIVE.match(name):
        return "member name is an absolute path"
    if ".." in name and ".." in PurePosixPath(name).parts:
        return "member name contains a '..' component"
    return None


def local_path_problem(value: str, *, allow_absolute: bool = False) -> str | None:
    """Why a local path taken from an input's contents is unsafe, or None."""
    p = Path(value)
    if p.is_absolute() and not allow_absolute:
        return (
            f"absolute path {value!r} refused (accept with -o allow_absolute_paths=true, "
            "allow_absolute_paths=True in Python)"
        )
    if ".." in p.parts:
        return f"path {value!r} leaves the source folder"
    return None


def is_url(value: str) -> bool:
    return value.lower().startswith(URL_SCHEMES)
