"""Image format filter: keep samples whose images all have an allowed MIME type."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from plait.ops._media import headers, unreadable
from plait.ops.base import DROP, Filter, OpContext
from plait.schema import Sample


class ImageFormat(Filter):
    """Drop samples with an image whose format is not in ``allowed`` (MIME types).

    Writes ``image_mimes`` (the sorted distinct MIME types of the readable images) and
    ``unreadable_images`` when some could not be read; reasons ``corrupt_image`` (an image
    whose bytes are not an image), ``format_not_allowed``.
    """

    name = "image_format"
    example = {"allowed": ["image/jpeg", "image/png"]}

    def __init__(
        self,
        allowed: Sequence[str] = ("image/jpeg", "image/png", "image/webp"),
        mode: str = DROP,
    ) -> None:
        super().__init__(mode)
        self.allowed = [a.lower() for a in allowed]

    def score(self, batch: list[Sample], ctx: OpContext) -> list[dict[str, Any]]:
        info = headers(batch, ctx)
        return [
            {
                "image_mimes": sorted(
                    {info[m].mime for m in s.media_ids if m in info and not info[m].error}
                ),
                **unreadable(s, info),
            }
            for s in batch
        ]

    def keep(self, sample: Sample, stats: dict[str, Any]) -> str | None:
        if stats.get("unreadable_images"):
            return "corrupt_image"
        bad = [m for m in stats.get("image_mimes") or [] if m.lower() not in self.allowed]
        return "format_not_allowed" if bad else None
