"""``plait demo``: the whole product on sample data a fresh machine gets from the registries.

Sample data (no ``../shared``, no model hub):

- Debian's ``tuxpaint-stamps-default``: ~1,000 clip-art images with captions in
  up to 77 languages (GPL-2.0);
- the photos scikit-image bundles (BSD-3-Clause);
- Debian's ``debian-refcard``: the Debian reference card as real PDFs in several
  languages (GPL-3.0-or-later).

Steps: ingest -> curate -> align (lit:demo over EfficientNet-Lite0 + MiniLM) ->
embed -> index -> a few searches -> serve.
"""

from __future__ import annotations

import gzip
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait.errors import ConfigError
from plait.io.corpus import Corpus
from plait.io.store import location, rmtree
from plait.progress import bar

TUXPAINT = Path("/usr/share/tuxpaint/stamps")
REFCARD = Path("/usr/share/doc/debian-refcard")
REFCARD_LANGS = ("en", "fr", "de", "es")
SKIMAGE_PHOTOS = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "hubble_deep_field.jpg",
    "retina.jpg",
    "horse.png",
    "page.png",
    "text.png",
)

RECIPE: list[dict[str, Any]] = [
    {"op": "clean_captions"},
    {"op": "image_size", "min_side": 16},
    {"op": "language_id", "mode": "annotate"},
    {"op": "dedup_media"},
]

QUERIES = ("a red apple", "a cat", "musical instrument", "how to install a package")


@dataclass
class Source:
    name: str
    path: Path
    licence: str
    fmt: str = "auto"


@dataclass
class DemoReport:
    corpus: Any  # a Path, or an ObjectPath (a corpus on object storage)
    steps: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # wall time per step


def gather(workdir: Path) -> list[Source]:
    """Find (or unpack) the sample data; explain how to get what is missing."""
    sources: list[Source] = []
    if not TUXPAINT.is_dir():
        raise ConfigError(
            f"sample images not found at {TUXPAINT}: install Debian's tuxpaint-stamps-default "
            "(bash scripts/setup.sh does)"
        )
    sources.append(Source("tuxpaint", TUXPAINT, "GPL-2.0"))
    try:
        import skimage

        photos = workdir / "skimage"
        photos.mkdir(parents=True, exist_ok=True)
        data = Path(skimage.__file__).parent / "data"
        for name in SKIMAGE_PHOTOS:
            if (data / name).is_file() and not (photos / name).exists():
                shutil.copyfile(data / name, photos / name)
        if any(photos.iterdir()):
            sources.append(Source("skimage", photos, "BSD-3-Clause", "folder"))
    except ImportError:
        pass
    pdfs = workdir / "refcard"
    pdfs.mkdir(parents=True, exist_ok=True)
    for lang in REFCARD_LANGS:
        gz = REFCARD / f"refcard-{lang}-a4.pdf.gz"
        out = pdfs / f"refcard-{lang}-a4.pdf"
        if gz.is_file() and not out.exists():
            with gzip.open(gz) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
    if any(pdfs.glob("*.pdf")):
        sources.append(Source("refcard", pdfs, "GPL-3.0-or-later", "pdf"))
    return sources


def build(
    corpus_dir: str | Path, *, log: Callable[[str], None] = print, fresh: bool = False
) -> DemoReport:
    """Build the demo corpus end to end; every step is resumable and skips done work.
    ``corpus_dir`` may be ``s3://bucket/prefix`` (the sample data then unpacks into
    ``./demo-sample-data`` here)."""
    from plait.align import align
    from plait.align.train import TrainConfig
    from plait.curate import curate
    from plait.embed import embed
    from plait.index import index as build_index
    from plait.ingest import ingest
    from plait.retrieval import Query, search

    where = location(corpus_dir)
    if fresh and where.exists():
        rmtree(where)
    corpus = Corpus.init(where)
    report = DemoReport(where)
    work = Path("demo-sample-data") if corpus.remote else Path(str(where)) / "_sample_data"
    clock = _Clock(report)

    clock("ingest")
    log("1/6 ingest sample data")
    for src in gather(work):
        with bar(f"ingest {src.name}") as drawn:
            r = ingest(
                corpus,
                src.path,
                dataset=src.name,
                licence=src.licence,
                fmt=src.fmt,
                progress=drawn,
            )
        report.steps[f"ingest {src.name}"] = {
            "added": r.added,
            "skipped": r.skipped,
            "quarantined": dict(r.quarantined),
        }
        log(
            f"    {src.name}: +{r.added} samples ({r.skipped} already present, "
            f"{sum(r.quarantined.values())} quarantined)"
        )

    clock("curate")
    log("2/6 curate")
    if not _ran(corpus, "curate"):
        c = curate(corpus, RECIPE)
        report.steps["curate"] = c.to_dict() if hasattr(c, "to_dict") else str(c)
        log(f"    kept {c.kept}, rejected {c.rejected}")

    clock("align")
    log("3/6 align lit:demo (EfficientNet-Lite0 + MiniLM, English captions)")
    if not (where / "adapters" / "demo").exists():
        a = align(
            corpus,
            image="effnet-lite0",
            text="minilm",
            name="demo",
            where="source.dataset = 'tuxpaint'",
            langs=("en", None),
            # Lighter than bench/align_flickr.py (2 seeds, no flipped copies, no refit):
            # the demo's build stays within minutes on two cores.
            refit=False,
            config=TrainConfig(seeds=2, steps=300, flip_prob=0.0),
        )
        report.steps["align"] = a.metrics
        t2i = " / ".join(f"{a.metrics.get(f't2i_R@{k}', 0):.1f}" for k in (1, 5, 10))
        i2t = " / ".join(f"{a.metrics.get(f'i2t_R@{k}', 0):.1f}" for k in (1, 5, 10))
        log(
            f"    held out {a.heldout_images} images: text->image recall@1/5/10 {t2i} %, "
            f"image->text {i2t} %"
        )

    clock("embed")
    log("4/6 embed")
    for spec in ("lit:demo", "minilm"):
        e = embed(corpus, spec, langs=("en", None))
        report.steps[f"embed {spec}"] = e
        log(
            f"    {spec}: {e.get('images_embedded', 0)} images, {e.get('texts_embedded', 0)} texts"
            f" embedded, {e.get('cached', 0)} already done"
        )

    clock("index")
    log("5/6 index")
    ix = build_index(corpus)
    report.steps["index"] = str(ix)

    clock("search")
    log("6/6 search (hybrid: vectors and BM25, fused by rank; best 3)")
    for q in QUERIES:
        hits = search(corpus, Query(text=q, k=3, hybrid=True))
        log(f"    {q!r}:")
        for n, h in enumerate(hits, 1):
            text = (h.sample.text if h.sample else "").replace("\n", " ")[:60]
            log(f"      {n}. {h.sample_id}  {text}")
    clock(None)
    return report


class _Clock:
    """Wall time per step into ``report.seconds``: ``clock(step)`` starts one."""

    def __init__(self, report: DemoReport) -> None:
        self.report, self.t0 = report, 0.0
        self.step: str | None = None

    def __call__(self, step: str | None) -> None:
        now = time.perf_counter()
        if self.step is not None:
            self.report.seconds[self.step] = round(now - self.t0, 2)
        self.step, self.t0 = step, now


def _ran(corpus: Corpus, command: str) -> bool:
    runs = corpus.read("runs", columns=["command", "status"]).to_pylist()
    return any(r["command"] == command and r["status"] == "ok" for r in runs)
