"""A caption table of image URLs, downloaded from a local server into a real corpus."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from plait import Corpus
from plait.ingest import ingest
from plait.ingest.fetch import Fetcher

from ..procs import finish, start

pytest.importorskip("httpx")


@pytest.fixture()
def site(shared_data: Path) -> Iterator[tuple[str, list[Path], Counter]]:
    files = sorted((shared_data / "flickr8k" / "images").glob("*.jpg"))[:5]
    by_name = {f.name: f for f in files}
    hits: Counter = Counter()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            hits[self.path] += 1
            parts = self.path.strip("/").split("/")
            name = parts[-1]
            if parts[0] == "flaky" and hits[self.path] == 1:
                status, body, headers = 502, b"bad gateway", {}
            elif name in by_name:
                status, body = 200, by_name[name].read_bytes()
                headers = {"X-Robots-Tag": "noimageai"} if parts[0] == "private" else {}
            else:
                status, body, headers = 404, b"", {}
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", files, hits
    httpd.shutdown()
    httpd.server_close()


def test_url_table_downloads_once_and_quarantines_what_it_cannot_use(
    site, corpus: Corpus, tmp_path: Path
):
    base, files, hits = site
    urls = [
        (f"{base}/img/{files[0].name}", "a photo"),
        (f"{base}/img/{files[0].name}", "the same photo, second caption"),
        (f"{base}/flaky/{files[1].name}", "served after one 502"),
        (f"{base}/img/{files[2].name}", "another photo"),
        (f"{base}/img/gone.jpg", "a dead link"),
        (f"{base}/private/{files[3].name}", "opted out"),
    ]
    tsv = tmp_path / "urls.tsv"
    tsv.write_text("url\tcaption\n" + "".join(f"{u}\t{c}\n" for u, c in urls))

    with Fetcher(workers=4, timeout=5, retries=2, backoff=0.01) as fetcher:
        report = ingest(corpus, tsv, dataset="web", licence="unknown", fetcher=fetcher)
        assert report.added == 3 and report.by_kind["pair"] == 3
        first = corpus.sample(f"web/{urls[0][0]}")
        assert first.texts[1:] == ["a photo", "the same photo, second caption"]
        assert corpus.media_bytes(first.images[0]) == files[0].read_bytes()
        assert first.source.url == urls[0][0] and first.source.fetched_at is not None
        assert hits[f"/flaky/{files[1].name}"] == 2
        reasons = {r["location"]: r["reason"] for r in corpus.read("quarantine").to_pylist()}
        assert reasons == {urls[4][0]: "http_404", urls[5][0]: "opt_out"}

        before = sum(hits.values())
        again = ingest(corpus, tsv, dataset="web", fetcher=fetcher)
        assert again.added == 0 and again.skipped == 3
        # samples already present are not downloaded again; failed ones are retried
        assert sum(hits.values()) - before == 2


def test_cli_fetch_settings_reach_the_downloader(site, tmp_path: Path):
    """``plait ingest --fetch KEY=VALUE`` sets the downloader; a setting it does not have,
    or a value of the wrong type, is refused before anything is read or created."""
    base, files, hits = site
    urls = [
        (f"{base}/flaky/{files[1].name}", "a 502 before the photo"),
        (f"{base}/private/{files[3].name}", "opted out by header"),
    ]
    tsv = tmp_path / "urls.tsv"
    tsv.write_text("url\tcaption\n" + "".join(f"{u}\t{c}\n" for u, c in urls))

    for bad, named in ((["retry=3"], "retries"), (["workers=many"], "workers")):
        proc = start("ingest", str(tmp_path / "refused"), str(tsv), "--no-progress",
                     *[a for s in bad for a in ("--fetch", s)])  # fmt: skip
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 2, out
        assert named in out and "Traceback" not in out, out
        assert not (tmp_path / "refused").exists() and not hits

    d = tmp_path / "corpus"
    out = finish(
        start("ingest", str(d), str(tsv), "--dataset", "web", "--no-progress", "--json",
              "--fetch", "retries=0", "--fetch", "respect_optout=false", "--fetch", "timeout=5")
    )  # fmt: skip
    report = json.loads(out[out.index("{") :])
    # respect_optout=false keeps the opted-out photo; retries=0 makes the one 502 final
    assert report["added"] == 1 and hits[f"/flaky/{files[1].name}"] == 1
    stored = Corpus.open(d).sample(f"web/{urls[1][0]}")
    assert Corpus.open(d).media_bytes(stored.images[0]) == files[3].read_bytes()
    reasons = {r["location"]: r["reason"] for r in Corpus.open(d).read("quarantine").to_pylist()}
    assert reasons == {urls[0][0]: "http_502"}
