"""OBELICS-style documents with local and downloaded images into a real corpus."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from plait import Corpus
from plait.ingest import ingest
from plait.ingest.fetch import Fetcher

pytest.importorskip("httpx")


def _serve(root: Path) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            name = self.path.rsplit("/", 1)[-1]
            path = root / name
            if self.path.startswith("/noai/") and path.is_file():
                body, extra = path.read_bytes(), {"X-Robots-Tag": "noai"}
            elif path.is_file():
                body, extra = path.read_bytes(), {}
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            for k, v in extra.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.fixture()
def photos(shared_data: Path) -> Iterator[tuple[list[Path], str]]:
    files = sorted((shared_data / "flickr8k" / "images").glob("*.jpg"))[:6]
    httpd, base = _serve(files[0].parent)
    yield files, base
    httpd.shutdown()
    httpd.server_close()


def test_documents_interleave_local_and_downloaded_images(photos, corpus: Corpus, tmp_path: Path):
    files, base = photos
    (tmp_path / "img").mkdir()
    for f in files[:2]:
        (tmp_path / "img" / f.name).write_bytes(f.read_bytes())
    rows = [
        {
            "id": "story-1",
            "url": "https://example.org/story-1",
            "texts": ["Two dogs play.", None, "Then a third arrives.", None],
            "images": [None, f"img/{files[0].name}", None, f"{base}/{files[2].name}"],
        },
        {
            "id": "story-2",
            "texts": [None, "A gallery.", None, None],
            "images": [
                f"{base}/{files[3].name}",
                None,
                f"{base}/missing.jpg",
                f"{base}/noai/{files[4].name}",
            ],
            "licence": "CC-BY-4.0",
        },
        {
            "id": "story-3",
            "texts": [None],
            "images": [f"img/{files[1].name}"],
            "metadata": json.dumps({"lang": "en"}),
        },
        {"texts": ["broken"], "images": []},
    ]
    path = tmp_path / "docs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    fetcher = Fetcher(workers=4, timeout=5, retries=1, backoff=0.01)
    report = ingest(corpus, path, dataset="web", licence="ODC-BY-1.0", fetcher=fetcher)
    assert (report.added, report.by_kind["document"]) == (3, 3)

    one = corpus.sample("web/story-1")
    assert one.texts == ["Two dogs play.", None, "Then a third arrives.", None]
    assert corpus.media_bytes(one.images[1]) == files[0].read_bytes()
    assert corpus.media_bytes(one.images[3]) == files[2].read_bytes()  # downloaded
    assert one.source.url == "https://example.org/story-1" and one.source.fetched_at is not None
    assert one.source.licence == "ODC-BY-1.0"

    two = corpus.sample("web/story-2")
    assert two.source.licence == "CC-BY-4.0"
    assert two.texts == [None, "A gallery."]  # the 404 and the opted-out image are not kept
    assert two.stats["missing_images"] == 2
    assert corpus.sample("web/story-3").meta["metadata"] == {"lang": "en"}

    reasons = {r["location"]: r["reason"] for r in corpus.read("quarantine").to_pylist()}
    assert reasons == {
        f"{base}/missing.jpg": "http_404",
        f"{base}/noai/{files[4].name}": "opt_out",
        f"{path}:4": "malformed_row",
    }

    again = ingest(corpus, path, dataset="web", fetcher=fetcher)
    assert again.added == 0 and corpus.count("quarantine") == 3
    fetcher.close()
