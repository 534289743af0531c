"""The HTTP API against a real uvicorn server on 127.0.0.1, through the typed client
and raw httpx: reads, lineage, media, stats, safety (keys, limits, traversal), errors."""

from __future__ import annotations

import io
import re
import tarfile
import time
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")

from plait.client import PlaitClient  # noqa: E402
from plait.errors import (  # noqa: E402
    ApiError,
    AuthError,
    ConfigError,
    NotFoundError,
    SecurityError,
    UnknownNameError,
)
from plait.server import create_app  # noqa: E402

from ..synth import ServerThread, synth_corpus  # noqa: E402

KEY = "test-key-123"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("srv")
    synth_corpus(root / "alpha", 80)
    synth_corpus(root / "beta", 12, seed=3)
    app = create_app(
        {"alpha": root / "alpha", "beta": root / "beta"},
        api_key=KEY,
        export_root=root / "exports",
        max_upload_bytes=4096,
        max_page=50,
    )
    with ServerThread(app) as srv:
        yield srv, root


@pytest.fixture()
def client(served):
    with PlaitClient(served[0].url, api_key=KEY) as c:
        yield c


def test_binds_loopback_and_serves_openapi(served):
    srv, _ = served
    assert srv.url.startswith("http://127.0.0.1:")
    spec = httpx.get(srv.url + "openapi.json").json()
    paths = set(spec["paths"])
    for p in (
        "/api/corpora/{name}/search",
        "/api/corpora/{name}/search/image",
        "/api/corpora/{name}/stats",
        "/api/corpora/{name}/samples/{sample_id}",
        "/api/corpora/{name}/media/{media_id}",
        "/api/corpora/{name}/runs",
        "/api/corpora/{name}/rejected",
        "/api/corpora/{name}/export",
    ):
        assert p in paths
    assert "SearchRequest" in spec["components"]["schemas"]


def test_corpora_and_default(client):
    info = client.corpora()
    assert info.default == "alpha"
    assert [c.name for c in info.corpora] == ["alpha", "beta"]
    assert info.writes_enabled
    assert client.corpus == "alpha"


def test_stats_counts_match_the_corpus(client, served):
    from plait import Corpus

    c = Corpus.open(served[1] / "alpha")
    st = client.stats()
    assert st.samples == c.count("samples") == 72
    assert st.rejected == c.count("rejected") == 8
    assert sum(st.by_kind.values()) == st.samples
    assert set(st.by_licence) == {"CC-BY-4.0", "CC0-1.0", "unknown"}
    assert set(st.by_lang) == {"en", "fr", "de"}
    assert st.quarantine_by_reason == {"corrupt_image": 1}
    assert sum(st.rejected_by_reason.values()) == 8
    assert all(": " in k for k in st.rejected_by_reason)


def test_browse_with_filters(client):
    page = client.samples(licence=["CC0-1.0"], kind=["pair"], limit=10)
    assert page.total > 0 and len(page.items) == min(10, page.total)
    assert all(s.licence == "CC0-1.0" and s.kind == "pair" for s in page.items)
    fr = client.samples(lang=["fr"], limit=50)
    assert fr.items and all("fr" in s.langs for s in fr.items)
    nxt = client.samples(offset=10, limit=10)
    first = client.samples(offset=0, limit=10)
    assert not {s.id for s in nxt.items} & {s.id for s in first.items}


def test_sample_detail_slots_and_media(client):
    s = client.sample("synth-a/000000")
    assert s.status == "present"
    assert [sl.type for sl in s.slots] == ["image", "text"]
    assert s.lineage[0].command == "ingest"
    media_id = s.slots[0].media_id
    data = client.media(media_id)
    assert data.startswith(b"\x89PNG")
    r = httpx.get(f"{client._http.base_url}/api/corpora/alpha/media/{media_id}")
    assert r.headers["content-type"] == "image/png"
    assert "sandbox" in r.headers["content-security-policy"]
    thumb = client.media(media_id, size=32)
    from PIL import Image

    assert Image.open(io.BytesIO(thumb)).format == "JPEG"


def test_rejected_sample_explains_why(client):
    page = client.rejected(limit=5)
    assert page.total == 8 and len(page.items) == 5
    item = page.items[0]
    assert item.op and item.reason and item.run_id == "curate-synth-0000"
    detail = client.sample(item.id)
    assert detail.status == "rejected"
    assert any(f"dropped by {item.op}: {item.reason}" in e.what for e in detail.lineage)
    only = client.rejected(op="nsfw")
    assert only.items and all(i.op == "nsfw" for i in only.items)


def test_runs(client):
    runs = client.runs()
    assert {r.command for r in runs.items} >= {"ingest", "curate"}
    assert client.runs(command="curate").total == 1


def test_unknown_names_list_the_valid_ones(served, client):
    r = httpx.get(served[0].url + "api/corpora/gamma/stats")
    assert r.status_code == 404
    body = r.json()
    assert body["error"] == "UnknownNameError" and body["valid"] == ["alpha", "beta"]
    assert "alph" not in body["message"] or "Valid: alpha, beta" in body["message"]
    with pytest.raises(UnknownNameError) as exc:
        PlaitClient(served[0].url, corpus="alhpa").stats()
    assert "Did you mean 'alpha'" in str(exc.value)
    with pytest.raises(NotFoundError):
        client.sample("no/such-sample")


def test_media_ids_are_validated(served):
    base = served[0].url + "api/corpora/alpha/media/"
    for bad in ("..%2F..%2Fplait.json", "abc", "A" * 64, "g" * 64):
        r = httpx.get(base + bad)
        assert r.status_code in (404, 422), bad
        assert r.json()["error"] in ("ValidationError", "NotFound")
    r = httpx.get(base + "0" * 64)
    assert r.status_code == 404 and r.json()["error"] == "NotFoundError"


def test_limits(served, client):
    url = served[0].url + "api/corpora/alpha/"
    r = httpx.get(url + "samples", params={"limit": 51})
    assert r.status_code == 422 and "page limit" in r.json()["message"]
    r = httpx.get(url + "rejected", params={"limit": 51})
    assert r.status_code == 422
    r = httpx.post(url + "search", json={"text": "x", "k": 51})
    assert r.status_code == 422
    r = httpx.post(url + "search/image", files={"image": ("big.png", b"\0" * 20_000)})
    assert r.status_code == 413 and r.json()["error"] == "PayloadTooLargeError"
    r = httpx.post(url + "search/image", files={"image": ("big.png", b"\0" * 5000)})
    assert r.status_code == 413
    r = httpx.get(url + "samples", params={"where": "nonsense_col = 1"})
    assert r.status_code == 422 and "invalid where filter" in r.json()["message"]
    r = httpx.post(url + "search", json={"text": "x", "k": "lots"})
    assert r.status_code == 422 and r.json()["error"] == "ValidationError"
    with pytest.raises(ConfigError):
        client.samples(where="kind = ")


def test_writes_need_the_key(served):
    srv, _ = served
    with PlaitClient(srv.url) as anon, pytest.raises(AuthError):
        anon.export("parquet", "nokey")
    with PlaitClient(srv.url, api_key="wrong") as bad, pytest.raises(AuthError):
        bad.restore("curate-synth-0000")


def test_writes_disabled_without_a_key(tmp_path, monkeypatch):
    monkeypatch.delenv("PLAIT_API_KEY", raising=False)
    synth_corpus(tmp_path / "c", 10)
    with ServerThread(create_app(tmp_path / "c", export_root=tmp_path / "x")) as srv:
        r = httpx.post(
            srv.url + "api/corpora/c/export",
            json={"format": "parquet"},
            headers={"X-API-Key": "anything"},
        )
        assert r.status_code == 403 and "writes are disabled" in r.json()["message"]
        assert httpx.get(srv.url + "api/corpora").json()["writes_enabled"] is False


def test_export_paths_are_confined(served, client):
    for dest in ("../escape", "/tmp/escape", "a/../../escape", "."):
        with pytest.raises(SecurityError):
            client.export("parquet", dest)
    assert not (served[1] / "escape").exists()


def test_export_webdataset_by_where(client, served):
    job = client.export("webdataset", "wds-cc0", where="source.licence = 'CC0-1.0'", shard_size=10)
    assert job.status == "done", job.error
    rep = job.report
    assert rep["selected"] == client.samples(licence=["CC0-1.0"], limit=1).total
    assert job.done == job.total == rep["selected"]
    out = served[1] / "exports" / "wds-cc0"
    tars = sorted(p.name for p in out.glob("*.tar"))
    assert tars[0] == "00000.tar" and len(tars) == rep["shards"]
    with tarfile.open(out / "00000.tar") as tf:
        names = tf.getnames()
    assert names[:3] == ["000000.jpg", "000000.txt", "000000.json"] or names[0].endswith(".jpg")
    assert len(names) == 30  # 10 pairs x (jpg, txt, json)


def test_export_by_filters_and_job_status(client):
    job = client.export("jsonl", "obelics-fr", filters={"langs": ["fr"]}, wait=False)
    assert job.status in ("queued", "running", "done")
    deadline = time.monotonic() + 60
    while job.status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
        job = client.export_status(job.job_id)
    assert job.status == "done"
    assert job.report["exported"] == client.samples(lang=["fr"], limit=1).total
    with pytest.raises(ConfigError):  # the same destination again, not empty
        client.export("jsonl", "obelics-fr", filters={"langs": ["fr"]})


def test_restore_undoes_a_run(tmp_path):
    synth_corpus(tmp_path / "c", 40)
    app = create_app(tmp_path / "c", api_key=KEY, export_root=tmp_path / "x")
    with ServerThread(app) as srv, PlaitClient(srv.url, api_key=KEY) as c:
        before = c.stats()
        rep = c.restore("curate-synth-0000")
        assert rep.restored == before.rejected == 4
        after = c.stats()
        assert after.samples == before.samples + 4 and after.rejected == 0
        lineage = c.sample("synth-b/000009").lineage
        assert lineage[-1].command == "restore"
        with pytest.raises(NotFoundError):
            c.restore("curate-synth-0000")


def test_ui_is_served_with_a_strict_policy(served):
    srv, _ = served
    r = httpx.get(srv.url)
    assert r.status_code == 200 and "<title>plait" in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "http" not in csp
    static = Path(__file__).resolve().parents[2] / "src" / "plait" / "server" / "static"
    assets = ["static/app.css"] + [
        f"static/js/{f.name}" for f in sorted((static / "js").glob("*.js"))
    ]
    assert "static/js/main.js" in assets
    page = r.text
    for asset in assets:
        got = httpx.get(srv.url + asset)
        assert got.status_code == 200, asset
        if asset.endswith(".js"):  # ES modules load only with a JavaScript type
            assert "javascript" in got.headers["content-type"], asset
        page += got.text
    urls = set(re.findall(r"https?://[^\s\"'`)]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}  # an XML namespace name, never fetched


def test_unknown_api_route_is_json(served):
    r = httpx.get(served[0].url + "api/nothing/here")
    assert r.status_code == 404 and r.json()["error"] == "NotFound"


def test_api_error_for_unmapped_errors(served):
    with PlaitClient(served[0].url) as c, pytest.raises(ApiError) as exc:
        c._get("/api/corpora/alpha/samples", limit="x")
    assert exc.value.http_status == 422


def test_export_root_stays_inside(served):
    root: Path = served[1] / "exports"
    for p in root.rglob("*"):
        assert p.resolve().is_relative_to(root.resolve())
