"""What a video or audio file holds, read from its headers, and why a bad one is refused.

PyAV (FFmpeg) says "Invalid data found when processing input" for a truncated MP4
and for a garbage header alike. An MP4's top-level boxes tell the two apart
cheaply (a box that claims more bytes than the file has means the file was cut
short), so a quarantine row carries a reason a user can act on.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait._deps import require
from plait.errors import InputError

VIDEO_EXTS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".mpg", ".mpeg", ".ts"})
AUDIO_EXTS = frozenset({".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac"})
_MIME = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".ts": "video/mp2t",
    ".wav": "audio/wav",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
}
_MP4_BOXES = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"pdin", b"moof", b"mfra"}
    | {b"styp", b"sidx", b"meta", b"emsg", b"prft"}
)
HASH_CHUNK = 1 << 20


def av_module() -> Any:
    return require("av", "video", "video and audio decoding")


def mime_of(path: str | Path) -> str:
    return _MIME.get(Path(path).suffix.lower(), "application/octet-stream")


def hash_file(path: str | Path) -> str:
    """sha256 of a file read in 1 MiB chunks: memory stays flat whatever its size."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(HASH_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(slots=True)
class Probe:
    """Headers of one media file (times in seconds)."""

    path: str
    size: int
    mime: str
    format: str
    duration: float
    has_video: bool
    has_audio: bool
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frames: int | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    sample_rate: int | None = None
    channels: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # the open FFmpeg container when probed with keep_open (opening costs ~15 ms, as
    # much as decoding a second of small video): the scan takes it over
    container: Any = field(default=None, repr=False, compare=False)

    def take(self) -> Any:
        """The open container, handed over once (None if not kept or already taken)."""
        c, self.container = self.container, None
        return c

    def close(self) -> None:
        if self.container is not None:
            self.take().close()

    def meta(self) -> dict[str, Any]:
        """The probe as sample metadata (what the file says about itself)."""
        out = {
            "duration": round(self.duration, 3),
            "format": self.format,
            "bytes": self.size,
        }
        if self.has_video:
            out.update(
                width=self.width,
                height=self.height,
                fps=round(self.fps, 3) if self.fps else None,
                video_codec=self.video_codec,
            )
        if self.has_audio:
            out.update(
                audio_codec=self.audio_codec,
                sample_rate=self.sample_rate,
                channels=self.channels,
            )
        return out


def mp4_problem(path: str | Path, size: int) -> str | None:
    """``truncated_video`` or ``corrupt_video`` when an ISO-BMFF file's top-level boxes
    do not add up, else None (only called after FFmpeg refused the file)."""
    with open(path, "rb") as f:
        pos = 0
        first = True
        while pos < size:
            f.seek(pos)
            head = f.read(16)
            if len(head) < 8:
                return "truncated_video"
            box_size, box_type = struct.unpack(">I4s", head[:8])
            if first and box_type not in _MP4_BOXES:
                return "corrupt_video"
            first = False
            if box_size == 1:
                if len(head) < 16:
                    return "truncated_video"
                box_size = struct.unpack(">Q", head[8:16])[0]
            elif box_size == 0:
                box_size = size - pos
            if box_size < 8:
                return "corrupt_video"
            if pos + box_size > size:
                return "truncated_video"
            pos += box_size
    return None


def probe(path: str | Path, keep_open: bool = False) -> Probe:
    """Open ``path`` with FFmpeg and read its stream headers; bad files raise
    :class:`InputError` with reason ``empty_file``, ``truncated_video``,
    ``corrupt_video``, ``corrupt_audio`` or ``no_media_streams``. With ``keep_open``
    the container stays open in ``Probe.container`` (the caller closes it)."""
    av = av_module()
    p = str(path)
    try:
        size = os.path.getsize(p)
    except OSError as exc:
        reason = "missing_file" if isinstance(exc, FileNotFoundError) else "unreadable_file"
        raise InputError(reason, str(exc), p) from exc
    if size == 0:
        raise InputError("empty_file", "zero-byte file", p)
    ext = Path(p).suffix.lower()
    try:
        container = av.open(p)
    except (av.FFmpegError, ValueError, OSError) as exc:
        found = mp4_problem(p, size) if ext in (".mp4", ".m4v", ".mov", ".m4a") else None
        why = (
            found
            if found is not None
            else ("corrupt_audio" if ext in AUDIO_EXTS else "corrupt_video")
        )
        raise InputError(why, f"FFmpeg cannot open it: {exc}", p) from exc
    try:
        out = _read_headers(container, p, size)
    except BaseException:
        container.close()
        raise
    if keep_open:
        out.container = container
    else:
        container.close()
    return out


def _read_headers(container: Any, path: str, size: int) -> Probe:
    video = container.streams.video[0] if container.streams.video else None
    audio = container.streams.audio[0] if container.streams.audio else None
    if video is None and audio is None:
        raise InputError("no_media_streams", "the file holds no video or audio stream", path)
    duration = _duration(container, video, audio)
    out = Probe(
        path=path,
        size=size,
        mime=mime_of(path),
        format=container.format.name,
        duration=duration,
        has_video=video is not None,
        has_audio=audio is not None,
    )
    if video is not None:
        cc = video.codec_context
        rate = video.average_rate or video.guessed_rate
        out.width, out.height = cc.width or None, cc.height or None
        out.fps = float(rate) if rate else None
        out.frames = video.frames or None
        out.video_codec = cc.name
        if not out.width or not out.height:
            raise InputError("corrupt_video", "the video stream has no frame size", path)
    if audio is not None:
        out.audio_codec = audio.codec_context.name
        out.sample_rate = audio.rate or None
        out.channels = audio.channels or None
    if out.mime == "application/octet-stream":
        out.mime = "video/mp4" if video is not None else "audio/wav"
    return out


def _duration(container: Any, video: Any, audio: Any) -> float:
    for stream in (video, audio):
        if stream is not None and stream.duration and stream.time_base:
            return float(stream.duration * stream.time_base)
    if container.duration:  # counted from the container's clock, which may not start at 0
        return max(0.0, (container.duration - (container.start_time or 0)) / 1_000_000)
    return 0.0
