"""PDFs: one ``document`` sample per file and one ``page`` sample per page.

Uses pypdfium2 (PDFium, Apache-2.0/BSD-3); PyMuPDF is AGPL and must not be a
dependency of an Apache-licensed engine. A page sample holds, in order: the
rendered page (JPEG by default, long side ``max_side`` pixels, so a text page
stays legible for OCR and page retrieval while an A0 poster cannot blow up
memory), the page text when there is any, and the raster images embedded in
the page (JPEGs passed through untouched, others re-encoded as PNG). Media are
content-addressed by the ingest loop, so a logo repeated on every page is
stored once.

Keys: the document is its path relative to the source folder (``a/b.pdf``);
page N (1-based, as viewers number them) is ``a/b.pdf#pN`` with ``position``
N-1 (the schema's 0-based page index) and ``parent_key`` the document key.

Failures, never exceptions: ``empty_file``; ``encrypted_pdf`` (a password is
needed, or the security handler is unsupported); ``malformed_pdf`` (PDFium
cannot repair it; it repairs many broken cross-reference tables silently, and
those files are read); ``render_failed`` for one page (the other pages are
kept); ``decompression_bomb`` / ``bad_embedded_image`` for one embedded image.
PDFium is not thread-safe: a reader instance is iterated by one thread.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait._deps import require
from plait.ingest.base import Failure, ImageInput, Item, RawSample
from plait.io.media import MAX_PIXELS
from plait.schema import DOCUMENT, PAGE, Source

_ESTIMATE_SAMPLE = 50  # files opened to estimate the page count of a big folder


def _pdfium() -> Any:
    return require("pypdfium2", "pdf", "the PDF reader")


def clean_text(text: str) -> str:
    """PDFium's text: ``\\r\\n`` line ends, NULs, U+FFFE for a hyphen at a line break."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").replace("\ufffe", "-")
    lines = [ln.rstrip() for ln in text.split("\n")]
    return "\n".join(lines).strip()


@dataclass
class PdfReader:
    """Streams a PDF file, or every ``*.pdf`` under a folder (recursively, sorted)."""

    path: str | Path
    dataset: str = ""
    licence: str = "unknown"
    max_side: int = 1280  # long side of a rendered page, in pixels
    page_format: str = "jpeg"  # or "png" (lossless, 3-5x larger)
    jpeg_quality: int = 85
    extract_images: bool = True
    min_image_side: int = 32  # smaller embedded images (bullets, rules, masks) are skipped
    max_images_per_page: int = 32
    max_image_pixels: int = MAX_PIXELS
    password: str | None = None
    _root: Path = field(init=False, repr=False)

    def __post_init__(self) -> None:
        p = Path(self.path)
        self._root = p if p.is_dir() else p.parent
        self.dataset = self.dataset or self._root.resolve().name
        if self.page_format not in ("jpeg", "png"):
            from plait.errors import ConfigError

            raise ConfigError(f"page_format must be 'jpeg' or 'png', not {self.page_format!r}")

    def _files(self) -> Iterator[Path]:
        p = Path(self.path)
        if not p.is_dir():
            yield p
            return
        for dirpath, dirnames, filenames in os.walk(p, followlinks=False):
            dirnames.sort()
            for name in sorted(filenames):
                if name.lower().endswith(".pdf"):
                    yield Path(dirpath) / name

    def estimate(self) -> int | None:
        """Documents plus pages, from the page counts of (up to 50 of) the files."""
        pdfium = _pdfium()
        files = list(self._files())
        if not files:
            return 0
        pages = 0
        opened = files[:_ESTIMATE_SAMPLE]
        for f in opened:
            try:
                doc = pdfium.PdfDocument(str(f), password=self.password)
            except Exception:  # noqa: BLE001 - a bad file counts as one item
                continue
            pages += len(doc)
            doc.close()
        return len(files) + round(pages * len(files) / len(opened))

    def __iter__(self) -> Iterator[Item]:
        for f in self._files():
            yield from self._read_file(f)

    # -- one file ----------------------------------------------------------------------------
    def _read_file(self, path: Path) -> Iterator[Item]:
        pdfium = _pdfium()
        loc = str(path)
        key = path.relative_to(self._root).as_posix() if path != self._root else path.name
        try:
            size = path.stat().st_size
        except OSError as exc:
            yield Failure(
                loc,
                "missing_file" if isinstance(exc, FileNotFoundError) else "unreadable_file",
                str(exc),
            )
            return
        if size == 0:
            yield Failure(loc, "empty_file", "zero-byte file")
            return
        try:
            doc = pdfium.PdfDocument(str(path), password=self.password)
        except pdfium.PdfiumError as exc:
            yield Failure(loc, _open_reason(exc), str(exc))
            return
        except OSError as exc:
            yield Failure(loc, "unreadable_file", f"{type(exc).__name__}: {exc}")
            return
        try:
            with contextlib.suppress(Exception):  # forms are optional decoration
                doc.init_forms()  # so filled-in form fields appear in the rendered page
            try:
                document = self._document(doc, path, key, size)
            except Exception as exc:  # noqa: BLE001 - PDFium fails in odd places on odd files
                yield Failure(loc, "malformed_pdf", f"{type(exc).__name__}: {exc}")
                return
            yield document
            for i in range(len(doc)):
                yield from self._page(doc, i, loc, key)
        finally:
            doc.close()

    def _document(self, doc: Any, path: Path, key: str, size: int) -> RawSample:
        metadata = {k: v for k, v in doc.get_metadata_dict(skip_empty=True).items() if v}
        title = (metadata.get("Title") or "").strip()
        title_from = "metadata"
        if not title:
            title, title_from = _first_line(doc), "first_line"
        if not title:
            title, title_from = path.stem, "file_name"
        meta: dict[str, Any] = {
            "file": key,
            "bytes": size,
            "page_count": len(doc),
            "pdf_version": _version(doc),
            "metadata": metadata,
            "title_from": title_from,
        }
        return RawSample(
            key=key,
            kind=DOCUMENT,
            slots=[title],
            source=Source(uri=str(path), dataset=self.dataset, licence=self.licence),
            meta=meta,
        )

    def _page(self, doc: Any, i: int, loc: str, key: str) -> Iterator[Item]:
        where = f"{loc}#p{i + 1}"
        try:
            page = doc[i]
        except Exception as exc:  # noqa: BLE001 - PDFium raises PdfiumError or worse
            yield Failure(
                where, "render_failed", f"page cannot be loaded: {type(exc).__name__}: {exc}"
            )
            return
        try:
            text = _page_text(page)
            width, height = page.get_size()
            scale = self.max_side / max(width, height, 1.0)
            rendered = self._render(page, scale)
        except Exception as exc:  # noqa: BLE001 - a bad content stream fails this page only
            page.close()
            yield Failure(where, "render_failed", f"{type(exc).__name__}: {exc}")
            return
        meta: dict[str, Any] = {
            "page": i + 1,
            "width_pt": round(width, 2),
            "height_pt": round(height, 2),
            "rotation": page.get_rotation(),
            "render_scale": round(scale, 4),
            "text_chars": len(text),
        }
        slots: list[Any] = [ImageInput(data=rendered, location=where)]
        if text:
            slots.append(text)
        if self.extract_images:
            embedded, failures, stats = self._embedded(page, where)
            yield from failures
            slots.extend(embedded)
            meta.update(stats)
        page.close()
        yield RawSample(
            key=f"{key}#p{i + 1}",
            kind=PAGE,
            slots=slots,
            source=Source(uri=where, dataset=self.dataset, licence=self.licence),
            meta=meta,
            parent_key=key,
            position=i,
        )

    def _render(self, page: Any, scale: float) -> bytes:
        bitmap = page.render(scale=scale, may_draw_forms=True)
        try:
            img = bitmap.to_pil()
            buf = io.BytesIO()
            if self.page_format == "png":
                img.save(buf, format="PNG", optimize=False)
            else:
                img.convert("RGB").save(buf, format="JPEG", quality=self.jpeg_quality)
            return buf.getvalue()
        finally:
            bitmap.close()

    def _embedded(
        self, page: Any, where: str
    ) -> tuple[list[ImageInput], list[Failure], dict[str, int]]:
        pdfium = _pdfium()
        images: list[ImageInput] = []
        failures: list[Failure] = []
        small = dropped = 0
        try:
            objs = list(page.get_objects(filter=[pdfium.raw.FPDF_PAGEOBJ_IMAGE], max_depth=4))
        except Exception as exc:  # noqa: BLE001 - a broken object tree: keep the rendered page
            failures.append(
                Failure(f"{where}/img", "bad_embedded_image", f"{type(exc).__name__}: {exc}")
            )
            objs = []
        for j, obj in enumerate(objs, 1):
            img_where = f"{where}/img{j}"
            try:
                w, h = obj.get_px_size()
            except Exception as exc:  # noqa: BLE001
                failures.append(
                    Failure(img_where, "bad_embedded_image", f"{type(exc).__name__}: {exc}")
                )
                continue
            if min(w, h) < self.min_image_side:
                small += 1
                continue
            if w * h > self.max_image_pixels:
                msg = f"{w}x{h} = {w * h} pixels exceeds the cap of {self.max_image_pixels}"
                failures.append(Failure(img_where, "decompression_bomb", msg))
                continue
            if len(images) >= self.max_images_per_page:
                dropped += 1
                continue
            buf = io.BytesIO()
            try:
                obj.extract(buf, fb_format="png")
            except Exception as exc:  # noqa: BLE001 - odd filters, broken streams
                failures.append(
                    Failure(img_where, "bad_embedded_image", f"{type(exc).__name__}: {exc}")
                )
                continue
            images.append(ImageInput(data=buf.getvalue(), location=img_where))
        stats = {"embedded_images": len(images)}
        if small:
            stats["embedded_images_small"] = small
        if dropped:
            stats["embedded_images_dropped"] = dropped
        return images, failures, stats


def _open_reason(exc: Exception) -> str:
    raw = _pdfium().raw
    code = getattr(exc, "err_code", None)
    if code in (raw.FPDF_ERR_PASSWORD, raw.FPDF_ERR_SECURITY):
        return "encrypted_pdf"
    return "malformed_pdf"


def _page_text(page: Any) -> str:
    textpage = page.get_textpage()
    try:
        return clean_text(textpage.get_text_range())
    finally:
        textpage.close()


def _first_line(doc: Any) -> str:
    if len(doc) == 0:
        return ""
    try:
        page = doc[0]
        text = _page_text(page)
        page.close()
    except Exception:  # noqa: BLE001 - the page sample will report it
        return ""
    return next((ln.strip()[:200] for ln in text.split("\n") if ln.strip()), "")


def _version(doc: Any) -> str | None:
    v = doc.get_version()
    return f"{v // 10}.{v % 10}" if v else None
