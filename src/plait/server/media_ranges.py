"""Video and sound bytes over HTTP with byte ranges, so a browser can seek.

A player asks for ``Range: bytes=a-b`` pieces; answering each with the whole
file would send gigabytes for a seek. Files stored by reference (video, long
recordings) are served from disk by Starlette's ``FileResponse`` (206 partial
content, ``Accept-Ranges``, ``If-Range``), nothing passing through Python but
the requested range. A file whose size no longer matches the corpus record has
changed since ingest and is refused (409) rather than served as the wrong
content. Sounds copied into the corpus are small: their bytes are sliced here.
"""

from __future__ import annotations

import os
import re
from typing import Any

from plait.errors import MediaChangedError, NotFoundError
from plait.io.corpus import Corpus, sql_str

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def is_timed(mime: str) -> bool:
    return mime.startswith(("video/", "audio/"))


def timed_response(
    corpus: Corpus, media_id: str, info: dict[str, Any], range_header: str | None, headers: dict
) -> Any:
    from fastapi.responses import FileResponse, Response

    mime = info.get("mime") or "application/octet-stream"
    row = corpus.read(
        "media", columns=["bytes", "uri", "size"], where=f"id = {sql_str(media_id)}", limit=1
    ).to_pylist()[0]
    headers = {**headers, "Accept-Ranges": "bytes"}
    if row["bytes"] is None:
        path = row["uri"] or ""
        if not os.path.isfile(path):
            raise NotFoundError(f"media {media_id} is stored by reference and {path} is gone")
        if row["size"] is not None and os.path.getsize(path) != row["size"]:
            raise MediaChangedError(
                f"{path} changed since it was ingested ({os.path.getsize(path)} bytes, "
                f"{row['size']} recorded); ingest it again"
            )
        headers.pop("ETag", None)  # FileResponse derives its own from the file
        return FileResponse(path, media_type=mime, headers=headers)
    data: bytes = row["bytes"]
    got = _parse(range_header, len(data))
    if got is None:
        return Response(data, media_type=mime, headers=headers)
    if isinstance(got, str):  # unsatisfiable
        return Response(
            b"", status_code=416, headers={**headers, "Content-Range": f"bytes */{len(data)}"}
        )
    start, end = got
    part = {**headers, "Content-Range": f"bytes {start}-{end}/{len(data)}"}
    return Response(data[start : end + 1], status_code=206, media_type=mime, headers=part)


def _parse(header: str | None, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=a-b`` range as inclusive ``(start, end)``; None serves the whole
    body (no header, or several ranges, which players do not send)."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None:
        return None
    a, b = m.groups()
    if not a and not b:
        return None
    if not a:  # the last b bytes
        n = int(b)
        return (max(0, size - n), size - 1) if n and size else "unsatisfiable"
    start = int(a)
    end = min(int(b), size - 1) if b else size - 1
    if start >= size or end < start:
        return "unsatisfiable"
    return start, end
