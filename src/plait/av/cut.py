"""Cut ``[start, end)`` of a video into a small standalone MP4 (H.264 + AAC).

The span is decoded and re-encoded rather than copied packet by packet: a stream
copy can only start at a keyframe, so a copied clip would begin up to a GOP
(often seconds) early, with the previous shot's frames. Frames are written from
time zero; the sound track, if any, is cut to the same span.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

from plait.av.probe import av_module


def cut_mp4(path: str, start: float, end: float, *, crf: int = 23, max_side: int = 1280) -> bytes:
    av = av_module()
    src = av.open(path)
    buf = io.BytesIO()
    out = av.open(buf, "w", format="mp4")
    try:
        vin = src.streams.video[0]
        vin.thread_type = "AUTO"
        rate = vin.average_rate or vin.guessed_rate or 25
        w, h = vin.codec_context.width, vin.codec_context.height
        scale = min(1.0, max_side / max(w, h))
        w, h = max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2)
        vout = out.add_stream("libx264", rate=rate)
        vout.width, vout.height, vout.pix_fmt = w, h, "yuv420p"
        vout.options = {"crf": str(crf), "preset": "veryfast"}
        ain = src.streams.audio[0] if src.streams.audio else None
        aout = out.add_stream("aac", rate=ain.rate or 44100) if ain is not None else None
        t0 = float(vin.start_time * vin.time_base) if vin.start_time else 0.0
        _video(src, vin, vout, out, start, end, t0, w, h)
        if ain is not None and aout is not None:
            _audio(av, path, ain.index, aout, out, start, end)
    finally:
        out.close()
        src.close()
    return buf.getvalue()


def _video(
    src: Any, vin: Any, vout: Any, out: Any, start: float, end: float, t0: float, w: int, h: int
) -> None:
    if start > 0:
        src.seek(int((start + t0) / vin.time_base), stream=vin)
    tb = 1 / Fraction(vout.codec_context.framerate or 25)  # frames counted from 0
    n = 0
    for frame in src.decode(vin):
        if frame.time is None:
            continue
        t = float(frame.time) - t0
        if t < start - 1e-6:
            continue
        if t >= end:
            break
        img = frame.reformat(width=w, height=h, format="yuv420p")
        img.pts = n
        img.time_base = tb
        out.mux(vout.encode(img))
        n += 1
    out.mux(vout.encode(None))


def _audio(av: Any, path: str, index: int, aout: Any, out: Any, start: float, end: float) -> None:
    src = av.open(path)
    try:
        ain = src.streams[index]
        if start > 0:
            src.seek(int(start / ain.time_base), stream=ain)
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=aout.rate)
        pts = 0
        for frame in src.decode(ain):
            if frame.time is None:
                continue
            t = float(frame.time)
            if t + frame.samples / (frame.sample_rate or 1) <= start:
                continue
            if t >= end:
                break
            frame.pts = None
            for f in resampler.resample(frame):
                f.pts = pts
                pts += f.samples
                out.mux(aout.encode(f))
        out.mux(aout.encode(None))
    finally:
        src.close()
