"""What readers yield, and the protocol they follow.

A reader streams :class:`RawSample` items (slots hold text or an
:class:`ImageInput` not yet stored) and :class:`Failure` items for inputs it
could not parse at all. It never stores anything and never stops on one bad
input: the ingest loop validates media, writes tables and quarantines.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from plait.schema import Source


@dataclass(slots=True)
class ImageInput:
    """An image slot before it becomes media: bytes in hand, a local path, or a URL."""

    data: bytes | None = None
    path: str | None = None
    url: str | None = None
    location: str = ""  # where it came from, for quarantine rows
    # already read and validated elsewhere (a Ray worker): ``(bytes, MediaInfo)`` or the
    # InputError, so the ingest loop does not decode it again
    loaded: Any = None
    size: int | None = None  # bytes at ``path`` before it is read (batches are cut by it)

    def __post_init__(self) -> None:
        if not self.location:
            self.location = self.path or self.url or ""


@dataclass(slots=True)
class MediaFile:
    """A time-based media slot (video, sound): a local file its reader already probed
    and hashed in chunks. It is stored by reference (``uri``) unless ``inline``, so
    gigabytes of video never pass through Python; ``inline`` suits short sounds."""

    path: str
    sha256: str
    size: int
    mime: str
    width: int | None = None
    height: int | None = None
    inline: bool = False
    location: str = ""
    data: bytes | None = None  # bytes in hand (a sound read from a plait export): inline

    def __post_init__(self) -> None:
        if not self.location:
            self.location = self.path


Slot = "str | ImageInput | MediaFile"


@dataclass(slots=True)
class RawSample:
    """A sample as read from the source; ``key`` is unique and stable within the dataset."""

    key: str
    kind: str
    slots: list[Any]  # str (text), ImageInput or MediaFile, in document order
    source: Source
    langs: list[str | None] | None = None  # per slot; None for image slots
    meta: dict[str, Any] = field(default_factory=dict)
    parent_key: str | None = None  # pages: the key of their document
    position: int | None = None
    # A sample plait exported carries its identity back: its full id (else
    # ``DATASET/KEY``), its parent's id, and the stats operators measured.
    id: str | None = None
    parent_id: str | None = None
    stats: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Failure:
    """A raw input that could not be read at all; it becomes a quarantine row."""

    location: str
    reason: str
    error: str


Item = RawSample | Failure


@runtime_checkable
class Reader(Protocol):
    """A source of raw samples. ``dataset`` and ``licence`` tag every sample it yields."""

    dataset: str
    licence: str

    def __iter__(self) -> Iterator[Item]: ...

    def estimate(self) -> int | None:
        """Roughly how many items it will yield (for progress and ETA), if cheap to know."""
        ...
