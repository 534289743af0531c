"""``/docs`` renders the API's operations in Chromium, offline, under the page's
content policy (Swagger UI served from this machine; no CDN, no inline script)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("swagger_ui_bundle", reason="the serve extra's swagger-ui-bundle-v2")
CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium", allow_module_level=True
    )
pytest.importorskip("playwright")

from plait.server import create_app  # noqa: E402

from ..synth import ServerThread, synth_corpus  # noqa: E402

pytestmark = pytest.mark.browser


def test_docs_page_lists_the_operations(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    synth_corpus(tmp_path / "c", 6)
    with ServerThread(create_app(tmp_path / "c")) as srv, sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        refused: list[str] = []
        page.on(
            "console", lambda m: refused.append(m.text) if "Content Security" in m.text else None
        )
        outside: list[str] = []
        page.on(
            "request", lambda r: outside.append(r.url) if not r.url.startswith(srv.url) else None
        )
        page.goto(srv.url + "docs")
        page.wait_for_selector(".opblock", timeout=30_000)
        assert page.locator(".opblock").count() >= 10
        assert "/api/corpora/{name}/search" in page.inner_text("body")
        assert not refused and not outside, (refused, outside)
        browser.close()
