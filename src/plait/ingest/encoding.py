"""Text of raw inputs: UTF-8, else a legacy 8-bit encoding, and which one was used.

Captions from older tools and crawls are often Windows-1252 or Latin-1. Dropping
the sample for it loses a good pair; decoding it silently hides a guess. So the
readers decode with the first encoding that works and record the fallback in the
sample's ``meta`` (``caption_encoding``), where a filter or an audit can find it.
"""

from __future__ import annotations

# Windows-1252 first (a superset of printable Latin-1: curly quotes, dashes, euro),
# then Latin-1, which decodes any byte.
LEGACY_ENCODINGS = ("cp1252", "latin-1")
META_KEY = "caption_encoding"


def decode_text(data: bytes) -> tuple[str, str | None]:
    """(text, the legacy encoding used, or None for UTF-8; a BOM is dropped)."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    for enc in LEGACY_ENCODINGS:
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes every byte")
