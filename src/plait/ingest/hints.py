"""What to tell a user whose ingest read nothing (exit 4): how many inputs failed, for
which reasons, one example of each, and what to try for the common ones."""

from __future__ import annotations

from collections import Counter

# reason code -> what usually causes it, and what to try
HINTS: dict[str, str] = {
    "missing_file": (
        "image paths in a table are read relative to the table's folder (or an images/ "
        "folder beside it): pass --image-root FOLDER to read them from another"
    ),
    "missing_image": "rows of the table have an empty image column",
    "not_in_export": (
        "ingest all the shards of a plait export together; a clips export holds each "
        "clip's cut MP4, not its keyframes, and does not ingest back"
    ),
    "path_traversal": (
        "paths and symlinks must stay inside the source folder (or --image-root); "
        "copy the files in, or point the source at their common folder"
    ),
    "not_an_image": "the files are not images plait can read (JPEG, PNG, GIF, WebP, BMP, TIFF)",
    "corrupt_image": "the image files are damaged",
    "truncated_image": "the image files are cut short (an interrupted download or copy?)",
    "decompression_bomb": "the images are over the pixel cap: raise --max-pixels if they are real",
    "too_large": "the inputs are over the size cap",
    "malformed_row": "check the table's delimiter, quoting and header",
    "network_error": "the image URLs could not be fetched: check the network",
    "timeout": "the image URLs timed out: check the network",
    "opt_out": "the sites opted out of AI use (X-Robots-Tag: noai)",
    "empty_row": "rows have neither an image nor a caption",
    "not_a_file": "inputs must be regular files (a FIFO or a device is refused)",
}


def nothing_read(source: str, failed: Counter, examples: dict[str, str]) -> str:
    """The message of the NothingReadError an ingest raises when nothing read."""
    if not failed:
        return f"nothing could be read from {source}: no input matched"
    reasons = ", ".join(f"{r}: {n}" for r, n in failed.most_common())
    lines = [
        f"nothing could be read from {source}: {sum(failed.values())} inputs failed ({reasons})"
    ]
    for reason, _ in failed.most_common(3):
        if reason in examples:
            lines.append(f"  e.g. {examples[reason]}")
        if reason in HINTS:
            lines.append(f"  hint: {HINTS[reason]}")
    lines.append("  (every failure is in the corpus's quarantine table: plait info shows them)")
    return "\n".join(lines)
