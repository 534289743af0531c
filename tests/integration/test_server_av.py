"""Video and sound over HTTP: byte ranges (206) for seeking, from the file a video was
ingested by reference from and from a sound's bytes in the corpus; refusals when the
file moved or changed."""

from __future__ import annotations

import shutil

import httpx
import numpy as np
import pytest

from plait import Corpus
from plait.ingest import ingest

from ..builders import synthetic_video, write_wav
from ..synth import ServerThread

pytest.importorskip("fastapi")
pytest.importorskip("av")
pytest.importorskip("scenedetect")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    from plait.server import create_app

    root = tmp_path_factory.mktemp("avsrv")
    v, a = root / "v", root / "a"
    v.mkdir()
    a.mkdir()
    synthetic_video(v / "two.mp4", [((10, 200, 10), 1.0), ((200, 10, 200), 1.0)], tone_hz=440)
    shutil.copy(v / "two.mp4", v / "gone.mp4")
    write_wav(a / "beep.wav", 0.3 * np.sin(np.arange(8000) / 3))
    corpus = Corpus.init(root / "c")
    ingest(corpus, v)
    ingest(corpus, a)
    with ServerThread(create_app({"c": root / "c"})) as srv:
        yield srv, corpus, root


def _media(corpus: Corpus, sample_id: str) -> str:
    return corpus.sample(sample_id).images[0]


def test_video_ranges_come_from_the_file(served) -> None:
    srv, corpus, root = served
    data = (root / "v" / "two.mp4").read_bytes()
    url = f"{srv.url}api/corpora/c/media/{_media(corpus, 'v/two.mp4')}"
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    part = httpx.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    tail = httpx.get(url, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    assert httpx.get(url, headers={"Range": f"bytes={len(data)}-"}).status_code == 416


def test_sound_ranges_from_bytes_in_the_corpus(served) -> None:
    srv, corpus, root = served
    data = (root / "a" / "beep.wav").read_bytes()
    url = f"{srv.url}api/corpora/c/media/{_media(corpus, 'a/beep.wav')}"
    part = httpx.get(url, headers={"Range": "bytes=0-43"})
    assert part.status_code == 206 and part.content == data[:44] and part.content[:4] == b"RIFF"
    assert part.headers["content-type"] == "audio/wav"
    assert httpx.get(url).content == data


def test_moved_or_changed_files_are_refused(served) -> None:
    srv, corpus, root = served
    url = f"{srv.url}api/corpora/c/media/{_media(corpus, 'v/gone.mp4')}"
    path = root / "v" / "gone.mp4"
    with open(path, "ab") as f:
        f.write(b"tail")
    changed = httpx.get(url)
    assert changed.status_code == 409 and "changed since it was ingested" in changed.text
    path.unlink()
    gone = httpx.get(url)
    assert gone.status_code == 404 and "gone" in gone.text
