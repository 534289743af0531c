"""Decoded sound as mono float32 at one sample rate, streamed in chunks.

Long recordings are never held whole: :func:`iter_audio` yields fixed-length
chunks, so an operator measuring a ten-hour file keeps one chunk in memory.
The source is a path (time-based media stored by reference, a clip's parent
video) or bytes (a sound stored in the media table).
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from typing import Any

import numpy as np

from plait.av.probe import av_module
from plait.errors import InputError

RATE = 16_000  # what YAMNet, Whisper and Silero VAD take


def _open(source: str | bytes) -> Any:
    av = av_module()
    try:
        return av.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source)
    except (av.FFmpegError, OSError) as exc:
        raise InputError("corrupt_audio", f"FFmpeg cannot open it: {exc}") from exc


def iter_audio(
    source: str | bytes,
    *,
    start: float = 0.0,
    end: float | None = None,
    rate: int = RATE,
    chunk_s: float = 30.0,
) -> Iterator[np.ndarray]:
    """Mono float32 chunks of ``chunk_s`` seconds (the last may be shorter) covering
    ``[start, end)``; nothing when the file has no audio stream."""
    if isinstance(source, str) and source.lower().endswith(".wav"):
        try:
            yield from _wav_chunks(source, start, end, rate, chunk_s)
            return
        except (wave.Error, EOFError, ValueError):
            pass  # not plain PCM (float, extensible, compressed): FFmpeg reads it
    av = av_module()
    container = _open(source)
    try:
        if not container.streams.audio:
            return
        stream = container.streams.audio[0]
        if start > 0:
            container.seek(int(start / stream.time_base), stream=stream, any_frame=False)
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunk = max(1, int(chunk_s * rate))
        buf: list[np.ndarray] = []
        have = 0
        first = int(round(start * rate))  # sample index of the first wanted sample
        last = None if end is None else int(round(end * rate))
        pos: int | None = None  # sample index of the next resampled sample
        done = False
        try:
            for frame in _and_flush(container.decode(stream)):
                for out in resampler.resample(frame):
                    if pos is None:
                        pos = int(round(float(out.pts * out.time_base) * rate)) if out.pts else 0
                    data = out.to_ndarray().reshape(-1)
                    lo, hi = pos, pos + len(data)
                    pos = hi
                    if hi <= first:
                        continue
                    data = data[max(0, first - lo) :]
                    if last is not None and hi > last:
                        data = data[: max(0, len(data) - (hi - last))]
                        done = True
                    if len(data):
                        buf.append(data)
                        have += len(data)
                    while have >= chunk:
                        joined = np.concatenate(buf)
                        yield joined[:chunk]
                        rest = joined[chunk:]
                        buf, have = ([rest], len(rest)) if len(rest) else ([], 0)
                if done:
                    break
        except av.FFmpegError:  # a damaged tail: keep what decoded
            pass
        if have:
            yield np.concatenate(buf)
    finally:
        container.close()


def _wav_chunks(
    path: str, start: float, end: float | None, rate: int, chunk_s: float
) -> Iterator[np.ndarray]:
    """Plain PCM WAV read in large blocks: FFmpeg's WAV demuxer hands out 4 KiB packets,
    so ten hours of it cost ~500k Python-level frames; blocks of ``chunk_s`` cost 1,200."""
    av = av_module()
    with wave.open(path, "rb") as w:
        src, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
        if width not in (1, 2, 4):
            raise ValueError(f"{width}-byte samples")
        total = w.getnframes()
        first = min(total, int(round(start * src)))
        stop = total if end is None else min(total, int(round(end * src)))
        w.setpos(first)
        resampler = (
            None if src == rate else av.AudioResampler(format="flt", layout="mono", rate=rate)
        )
        block = max(1, int(chunk_s * src))
        left = stop - first
        while left > 0:
            raw = w.readframes(min(block, left))
            n = len(raw) // (width * channels)
            if n == 0:
                break
            left -= n
            x = _pcm_to_float(raw[: n * width * channels], width).reshape(n, channels).mean(axis=1)
            x = x.astype(np.float32)
            if resampler is None:
                yield x
                continue
            frame = av.AudioFrame.from_ndarray(x[None, :], format="flt", layout="mono")
            frame.sample_rate = src
            out = [o.to_ndarray().reshape(-1) for o in resampler.resample(frame)]
            if left <= 0:
                out += [o.to_ndarray().reshape(-1) for o in resampler.resample(None)]
            if out:
                yield np.concatenate(out)


def _pcm_to_float(raw: bytes, width: int) -> np.ndarray:
    if width == 1:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    return np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648.0


def _and_flush(frames: Iterator[Any]) -> Iterator[Any]:
    yield from frames
    yield None  # flushes the resampler's buffered samples


def load_audio(
    source: str | bytes, *, start: float = 0.0, end: float | None = None, rate: int = RATE
) -> np.ndarray:
    """The whole of ``[start, end)`` as one array; for short sounds and clips only."""
    parts = list(iter_audio(source, start=start, end=end, rate=rate, chunk_s=600.0))
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def rms_db(x: np.ndarray) -> float:
    """Root-mean-square level in dBFS (-120 for digital silence)."""
    if not len(x):
        return -120.0
    r = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 20.0 * float(np.log10(max(r, 1e-6)))
