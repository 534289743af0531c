"""The web UI in real Chromium (Playwright) against the real server: search by text,
upload an image by drag and drop, filter, open a sample and its lineage, more like
this, export a subset, the dashboard. Screenshots go to /tmp/plait-ui-*.png."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium)",
        allow_module_level=True,
    )
pytest.importorskip("playwright.sync_api")
pytest.importorskip("fastapi")

from plait.embed import embed  # noqa: E402
from plait.server import create_app  # noqa: E402

from ..synth import (  # noqa: E402
    ServerThread,
    add_many_languages,
    add_reference_document,
    synth_corpus,
)

pytestmark = pytest.mark.browser
KEY = "ui-key"
SHOTS = Path(os.environ.get("PLAIT_SCREENSHOTS", "/tmp"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def _searchable() -> str | None:
    try:
        import plait.retrieval as r
    except ImportError as exc:
        return str(exc)
    return None if hasattr(r, "search") else "plait.retrieval has no search()"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ui")
    corpus = synth_corpus(root / "demo", 60)
    add_reference_document(corpus)
    add_many_languages(corpus)
    searchable = _searchable() is None
    if searchable:
        import torch

        torch.set_num_threads(1)
        from plait.index import index

        embed(corpus, "minilm")
        embed(corpus, "effnet-lite0")
        index(corpus)
    app = create_app(root / "demo", api_key=KEY, export_root=root / "exports")
    with ServerThread(app) as srv:
        yield srv, corpus, root, searchable


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, site):
    srv = site[0]
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = ctx.new_page()
    outside: list[str] = []
    pg.on(
        "request",
        lambda r: (
            outside.append(r.url) if not r.url.startswith((srv.url, "blob:", "data:")) else None
        ),
    )
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(srv.url)
    pg.wait_for_selector(".card")
    yield pg
    ctx.close()
    assert not outside, f"the UI fetched from outside the server: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def need_search(site) -> None:
    if not site[3]:
        pytest.skip(f"search is not available: {_searchable()}")


def test_search_by_text(page, site):
    need_search(site)
    page.fill("#q", "a red circle")
    page.click("#go")
    page.wait_for_selector("#summary:has-text('text search')")
    captions = page.locator(".card .caption").all_inner_texts()
    assert captions and "red" in captions[0] and "circle" in captions[0]
    assert "vector" in page.locator(".card .parts").first.inner_text()
    page.screenshot(path=str(SHOTS / "plait-ui-search.png"), full_page=False)


def test_upload_an_image_by_drag_and_drop(page, site):
    need_search(site)
    corpus = site[1]
    target = next(s for s in corpus.samples() if s.kind == "pair")
    data = base64.b64encode(corpus.media_bytes(target.images[0])).decode()
    page.evaluate(
        """(b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], "query.png", { type: "image/png" }));
        const drop = document.querySelector("#drop");
        drop.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
        drop.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    }""",
        data,
    )
    page.wait_for_selector("#summary:has-text('image search')")
    assert page.locator(".card").first.get_attribute("data-id") == target.id
    assert page.locator("#query-image img").is_visible()
    page.screenshot(path=str(SHOTS / "plait-ui-image.png"))


def test_apply_a_filter(page, site):
    page.check("input[name=licences][value='CC0-1.0']")
    page.wait_for_function(
        "document.querySelector('#summary').textContent.includes('samples match')"
    )
    page.wait_for_timeout(300)
    expected = site[1].count("samples", "source.licence = 'CC0-1.0'")
    assert page.locator("#summary").inner_text().startswith(f"{expected} samples match")
    tags = page.locator(".card .tags").all_inner_texts()
    assert tags and all("CC0-1.0" in t for t in tags)
    page.screenshot(path=str(SHOTS / "plait-ui-filter.png"))


def test_open_a_sample_and_see_why_it_was_dropped(page, site):
    page.locator(".card .actions a", has_text="open").first.click()
    page.wait_for_selector("#lineage")
    assert "ingested from" in page.locator("#lineage").inner_text()
    page.goto(site[0].url + "#/sample/synth-b/000009")
    page.wait_for_selector("#lineage:has-text('Why was this dropped?')")
    text = page.locator("#lineage").inner_text()
    assert "dropped by caption_length: too_short" in text
    # a dropped sample's image is still shown (its media stays in the corpus)
    page.wait_for_function(
        "() => { const i = document.querySelector('.slots img'); return i && i.complete && i.naturalWidth > 0; }"
    )
    page.screenshot(path=str(SHOTS / "plait-ui-sample.png"), full_page=True)


def test_more_like_this(page, site):
    need_search(site)
    page.goto(site[0].url + "#/sample/synth-a/000000")
    page.click("#more-like")
    page.wait_for_selector("#summary:has-text('more like this')")
    ids = [c.get_attribute("data-id") for c in page.locator(".card").all()]
    assert ids and "synth-a/000000" not in ids


def test_export_a_subset(page, site):
    root = site[2]
    page.check("input[name=langs][value='fr']")
    page.wait_for_function(
        "document.querySelector('#summary').textContent.includes('samples match')"
    )
    page.click("#export-open")
    page.select_option("#export-format", "parquet")
    page.fill("#export-dest", "ui-fr")
    page.fill("#export-key", KEY)
    page.click("#export-go")
    page.wait_for_selector("#export-status:has-text('Done')", timeout=60_000)
    expected = site[1].count("samples", "array_has(langs, 'fr')")
    assert f"from {expected} samples" in page.locator("#export-status").inner_text()
    assert (root / "exports" / "ui-fr" / "00000.parquet").is_file()
    page.screenshot(path=str(SHOTS / "plait-ui-export.png"))


def test_export_with_a_wrong_key_says_so(page, site):
    page.click("#export-open")
    page.fill("#export-key", "wrong")
    page.click("#export-go")
    page.wait_for_selector("#export-status:has-text('Error')")
    assert "API key" in page.locator("#export-status").inner_text()


def test_dashboard_counts_and_drop_chart(page, site):
    page.goto(site[0].url + "#/dashboard")
    page.wait_for_selector("#drop-chart svg rect")
    assert page.locator("#n-samples").inner_text() == str(site[1].count("samples"))
    assert page.locator("#drop-chart svg rect").count() == 4
    page.screenshot(path=str(SHOTS / "plait-ui-dashboard.png"), full_page=True)


def test_ask_shows_the_answer_above_results_with_images_and_citations(page, site):
    need_search(site)
    page.fill("#q", "show me a red circle")
    page.click("#ask")
    page.wait_for_selector("#answer .answer-image img")
    img = page.locator("#answer .answer-image img").first
    page.wait_for_function("(el) => el.complete && el.naturalWidth > 0", arg=img.element_handle())
    link = page.locator("#answer .cite").first
    assert link.get_attribute("href").startswith("#/sample/")
    assert "red" in page.locator("#answer figcaption").first.inner_text()
    box_answer = page.locator("#answer").bounding_box()
    page.wait_for_selector(".card")
    assert box_answer["y"] < page.locator(".card").first.bounding_box()["y"]
    page.screenshot(path=str(SHOTS / "plait-ui-ask.png"), full_page=False)
    link.click()
    page.wait_for_selector(".slots")


def test_a_document_shows_its_pages_with_thumbnails_and_text(page, site):
    page.goto(site[0].url + "#/sample/" + "refcard/debian-refcard.pdf")
    page.wait_for_selector("#pages .page")
    pages = page.locator("#pages .page")
    assert pages.count() == 3
    assert "dpkg -l" in pages.nth(1).inner_text() and "Page 2" in pages.nth(1).inner_text()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#pages img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.screenshot(path=str(SHOTS / "plait-ui-document.png"), full_page=True)
    pages.nth(2).locator("a", has_text="Page 3").click()
    page.wait_for_selector("text=Page 3 of")
    assert "ip address" in page.locator(".slots").inner_text()


def test_a_rolled_up_document_card_shows_its_matching_page(page, site):
    need_search(site)
    page.fill("#q", "which packages are installed and their version")
    page.click("#go")
    page.wait_for_selector("#summary:has-text('text search')")
    card = page.locator(".card[data-id='refcard/debian-refcard.pdf']")
    assert card.count() == 1
    assert card.locator(".matched").inner_text().startswith("page 2")
    assert "dpkg -l" in card.locator(".caption").inner_text()
    assert "(no text)" not in card.inner_text()
    page.screenshot(path=str(SHOTS / "plait-ui-rolled-up.png"))


def test_many_languages_read_as_a_count_and_the_facet_is_searchable(page, site):
    facet = page.locator("fieldset[data-filter=langs]")
    visible = facet.locator("label:visible")
    assert visible.count() == 8  # the most common, then a find box and "show all"
    facet.locator(".facet-find").fill("cs")
    assert [t.strip() for t in facet.locator("label:visible").all_inner_texts()] == ["cs 1"]
    facet.locator("input[value=cs]").check()
    page.wait_for_function(
        "() => document.querySelector('#summary').textContent.startsWith('1 samples match')"
    )
    tags = page.locator(".card .tags .tag").all_inner_texts()
    assert "12 languages" in tags and "cs" not in tags
    facet.locator(".facet-find").fill("")
    assert facet.locator("label[data-value=cs]").is_visible()  # a checked value stays in view
    assert facet.locator("label:visible").count() <= 9
    page.screenshot(path=str(SHOTS / "plait-ui-languages.png"))


def test_a_late_response_never_replaces_a_newer_querys_results(page, site):
    need_search(site)
    # The first query's response is held back in the browser until after the second's.
    page.evaluate(
        """() => {
          const real = window.fetch;
          window.fetch = async (input, init) => {
            const r = await real(input, init);
            if (init && typeof init.body === "string" && init.body.includes("purple square"))
              await new Promise((ok) => setTimeout(ok, 1500));
            return r;
          };
        }"""
    )
    page.fill("#q", "a purple square")
    page.click("#go")
    page.fill("#q", "a green circle")
    page.click("#go")
    page.wait_for_selector("#summary:has-text('text search')")
    page.wait_for_timeout(2500)  # the held response has arrived by now
    first = page.locator(".card .caption").first.inner_text()
    assert "green" in first and "circle" in first and "purple" not in first
    assert not page.locator("#banner").is_visible()
