"""Careless and hostile inputs to ``plait ingest``: sidecars are checked like the files
they describe, legacy 8-bit captions are decoded (and the encoding recorded), an empty
image cell is a recorded failure, a corpus path that is a file and an input that reads
nothing end with a clear message (no traceback), Pillow's bomb warning is not printed,
and a recipe whose adapter is missing fails before any work, dry run included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from plait import Corpus
from plait.ingest import ingest

from ..builders import bomb_png, image_bytes

PLAIT = str(Path(sys.executable).parent / "plait")


def _run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PLAIT, *args], capture_output=True, text=True, timeout=timeout, env=os.environ
    )


def _captions(corpus: Corpus) -> list[str]:
    return [
        t for r in corpus.read("samples", columns=["texts"]).to_pylist() for t in r["texts"] if t
    ]


def test_sidecar_symlinks_out_of_the_folder_are_refused(tmp_path: Path, corpus: Corpus) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the secret first line\n")
    src = tmp_path / "imgs"
    src.mkdir()
    (src / "a.png").write_bytes(image_bytes("red", 16, "PNG"))
    (src / "a.txt").symlink_to(secret)  # b.txt -> /etc/passwd, as in the report
    (src / "b.png").write_bytes(image_bytes("blue", 16, "PNG"))
    (src / "b.json").symlink_to(tmp_path / "meta.json")
    (tmp_path / "meta.json").write_text('{"token": "s3cret"}')
    (src / "c.png").write_bytes(image_bytes("green", 16, "PNG"))
    (src / "real.txt").write_text("a green square")
    (src / "c.txt").symlink_to(src / "real.txt")  # inside the folder: fine
    (src / "d.png").write_bytes(image_bytes("white", 16, "PNG"))
    os.mkfifo(src / "d.txt")  # would block a reader forever

    report = ingest(corpus, src, dataset="s")
    assert report.quarantined == {"path_traversal": 2, "not_a_file": 1}
    rows = corpus.read("quarantine").to_pylist()
    assert {Path(r["location"]).name for r in rows} == {"a.txt", "b.json", "d.txt"}
    assert corpus.ids("samples") == {"s/c.png"}
    assert _captions(corpus) == ["a green square"]
    assert "secret" not in json.dumps(corpus.read("samples").to_pylist(), default=str)


def test_legacy_8bit_captions_are_decoded_and_the_encoding_recorded(
    tmp_path: Path, corpus: Corpus
) -> None:
    src = tmp_path / "imgs"
    src.mkdir()
    for name, colour in (("cp", "red"), ("latin", "blue"), ("utf", "green")):
        (src / f"{name}.png").write_bytes(image_bytes(colour, 16, "PNG"))
    (src / "cp.txt").write_bytes("Café crème – naïve “quotes”".encode("cp1252"))
    (src / "latin.txt").write_bytes(b"caf\xe9 \x81 ok")  # 0x81: not cp1252, latin-1 reads it
    (src / "utf.txt").write_text("déjà vu", encoding="utf-8")
    report = ingest(corpus, src, dataset="l")
    assert report.added == 3 and not report.quarantined
    rows = {r["id"]: r for r in corpus.read("samples").to_pylist()}
    assert rows["l/cp.png"]["texts"][1] == "Café crème – naïve “quotes”"
    assert json.loads(rows["l/cp.png"]["meta"])["caption_encoding"] == "cp1252"
    assert rows["l/latin.png"]["texts"][1] == "café \x81 ok"
    assert json.loads(rows["l/latin.png"]["meta"])["caption_encoding"] == "latin-1"
    assert "caption_encoding" not in json.loads(rows["l/utf.png"]["meta"])


def test_an_empty_image_cell_is_a_recorded_failure(tmp_path: Path, corpus: Corpus) -> None:
    (tmp_path / "x.png").write_bytes(image_bytes("red", 16, "PNG"))
    table = tmp_path / "caps.tsv"
    table.write_text("image\tcaption\nx.png\ta red square\n\tno image here\nx.png\tagain\n")
    report = ingest(corpus, table, dataset="t")
    assert report.added == 2 and report.quarantined == {"missing_image": 1}
    [row] = corpus.read("quarantine").to_pylist()
    assert row["location"] == f"{table}:3" and "image" in row["error"]
    assert "no image here" not in _captions(corpus)


def test_ingest_into_a_file_is_a_clear_error(tmp_path: Path) -> None:
    target = tmp_path / "notes.txt"
    target.write_text("not a corpus")
    src = tmp_path / "imgs"
    src.mkdir()
    (src / "a.png").write_bytes(image_bytes())
    got = _run("ingest", str(target), str(src), "--no-progress")
    assert got.returncode == 1, got.stderr
    assert "is a file" in got.stderr and "Traceback" not in got.stderr
    assert target.read_text() == "not a corpus"


def test_exit_4_says_why_inputs_failed_and_what_to_try(tmp_path: Path) -> None:
    (tmp_path / "tables").mkdir()
    table = tmp_path / "tables" / "caps.tsv"
    table.write_text("image\tcaption\n" + "".join(f"img{i}.jpg\tcap {i}\n" for i in range(5)))
    got = _run("ingest", str(tmp_path / "c"), str(table), "--no-progress")
    assert got.returncode == 4, got.stderr
    err = " ".join(got.stderr.split())
    assert "5 inputs failed" in err and "missing_file" in err and "--image-root" in err
    assert "img0.jpg" in err and "Traceback" not in err


def test_bomb_warning_is_not_printed(tmp_path: Path) -> None:
    src = tmp_path / "imgs"
    src.mkdir()
    (src / "bomb.png").write_bytes(bomb_png(10000, 10000))  # 100 Mpx: over PIL's threshold
    (src / "ok.png").write_bytes(image_bytes())
    got = _run("ingest", str(tmp_path / "c"), str(src), "--no-progress")
    assert got.returncode == 0, got.stderr
    assert "DecompressionBomb" not in got.stderr and "warn" not in got.stderr.lower()
    reasons = Corpus.open(tmp_path / "c").read("quarantine", columns=["reason"]).to_pylist()
    assert reasons == [{"reason": "decompression_bomb"}]


ADAPTER_STEPS = {  # every step that takes an encoder spec (a lit: adapter)
    "image_text_similarity": "encoder: lit:nope\n  min_score: 0.2",
    "best_caption": "encoder: lit:nope",
    "caption_from_context": "generator: extractive\n  labels_encoder: lit:nope",
    "semantic_dedup": "encoder: lit:nope\n  modality: image",
}


@pytest.mark.parametrize(
    ("op", "dry"),
    [("image_text_similarity", True)] + [(op, False) for op in ADAPTER_STEPS],
    ids=lambda v: "dry-run" if v is True else "run" if v is False else v,
)
def test_missing_adapter_fails_before_any_work(tmp_path: Path, op: str, dry: bool) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "executors"))
    import toy_corpus

    corpus = toy_corpus.text_corpus(tmp_path / "c", 20)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"- op: toy_ops:MinWords\n  min_words: 2\n- op: {op}\n  {ADAPTER_STEPS[op]}\n"
    )
    env_path = os.pathsep.join(
        [str(Path(toy_corpus.__file__).parent), os.environ.get("PYTHONPATH", "")]
    )
    got = subprocess.run(
        [PLAIT, "curate", str(corpus.path), str(recipe), *(["--dry-run"] if dry else [])],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": env_path},
    )
    assert got.returncode == 2, got.stdout + got.stderr
    err = " ".join(got.stderr.split())
    assert "step 2" in err and "adapter 'nope'" in err and "Traceback" not in err
    assert not (corpus.path / ".work").exists() and not corpus.has("runs")
