"""Benchmark loaders: caption sets, M-BEIR, MMDocIR-style pages, a corpus's own pairs.

Each loader reads local files only (nothing downloads) and returns a
:class:`~plait.eval.benchmark.Benchmark` with the benchmark's own ids; a file
that does not have the expected layout is a ConfigError naming the file and
what was missing, and a bad line is an InputError with its line number.
:func:`load_benchmark` picks the loader from a name or a path.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from plait.errors import ConfigError, InputError
from plait.eval.benchmark import CAPTIONS, MBEIR, PAGES, Benchmark, Item, Task, caption_tasks

# Named benchmarks, resolved under PLAIT_SHARED_DATA (default ../shared/data).
NAMED = {"flickr8k": "flickr8k/test.tsv", "flickr8k-train": "flickr8k/train.tsv"}


def _need(path: Path) -> Path:
    if not path.exists():
        raise ConfigError(f"{path}: no such file or directory")
    return path


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with open(_need(path), encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(
                    "malformed_line", f"{path}:{n}: invalid JSON ({exc})", f"{path}:{n}"
                ) from None
            if not isinstance(row, dict):
                raise InputError(
                    "malformed_line", f"{path}:{n}: a JSONL line must be an object", f"{path}:{n}"
                )
            yield n, row


def _field(row: dict[str, Any], names: tuple[str, ...], where: str) -> Any:
    for name in names:
        if row.get(name) not in (None, ""):
            return row[name]
    raise InputError("missing_field", f"{where}: needs one of {', '.join(names)}", where)


def _image_root(path: Path, image_root: str | Path | None, probe: str | None) -> Path:
    if image_root is not None:
        return Path(image_root)
    for cand in (path.parent, path.parent / "images", path.parent / "Images"):
        if probe and (cand / probe).exists():
            return cand
    return path.parent / "images" if (path.parent / "images").is_dir() else path.parent


# -- caption sets --------------------------------------------------------------------------


def load_karpathy(
    path: str | Path, split: str = "test", image_root: str | Path | None = None
) -> Benchmark:
    """Karpathy-split JSON (``dataset_flickr8k.json``, ``dataset_coco.json``):
    ``images[]`` with ``filename``, ``split``, ``sentences[].raw`` and, for COCO,
    ``filepath``. Image keys are ``filepath/filename`` (or the filename)."""
    p = _need(Path(path))
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError("malformed_file", f"{p}: invalid JSON ({exc})", str(p)) from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise ConfigError(f"{p}: not a Karpathy caption file (no 'images' list)")
    rows = [
        r
        for r in data["images"]
        if r.get("split") == split or (split == "train" and r.get("split") == "restval")
    ]
    if not rows:
        raise ConfigError(f"{p}: no images in split {split!r}")
    images: dict[str, str | None] = {}
    captions: dict[str, list[str]] = {}
    probe = "/".join(x for x in (rows[0].get("filepath"), rows[0].get("filename")) if x)
    root = _image_root(p, image_root, probe)
    for i, r in enumerate(rows):
        where = f"{p}: images[{i}]"
        key = "/".join(x for x in (r.get("filepath"), _field(r, ("filename",), where)) if x)
        images[key] = str(root / key)
        captions[key] = [
            str(_field(s, ("raw",), f"{where}.sentences")).strip() for s in r.get("sentences", [])
        ]
    name = str(data.get("dataset") or p.stem.replace("dataset_", ""))
    tasks, cands = caption_tasks(images, captions)
    return Benchmark(
        f"{name}-{split}", CAPTIONS, tasks, cands, source=str(p), notes={"split": split}
    )


def load_caption_tsv(path: str | Path, image_root: str | Path | None = None) -> Benchmark:
    """The ``../shared/data/flickr8k`` layout: TSV with ``image, caption_index, caption``."""
    p = _need(Path(path))
    images: dict[str, str | None] = {}
    captions: dict[str, list[str]] = {}
    with open(p, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t")
        header = next(reader, None)
        if not header or not {"image", "caption"} <= set(header):
            raise ConfigError(
                f"{p}: needs a header with 'image' and 'caption' columns, found {header}"
            )
        col = {name: i for i, name in enumerate(header)}
        root: Path | None = None
        for n, fields in enumerate(reader, 2):
            if not fields:
                continue
            if len(fields) != len(header):
                raise InputError(
                    "malformed_line",
                    f"{p}:{n}: {len(fields)} fields, header has {len(header)}",
                    f"{p}:{n}",
                )
            key, text = fields[col["image"]], fields[col["caption"]].strip()
            if root is None:
                root = _image_root(p, image_root, key)
            images.setdefault(key, str(root / key))
            captions.setdefault(key, []).append(text)
    if not images:
        raise ConfigError(f"{p}: no rows")
    tasks, cands = caption_tasks(images, captions)
    return Benchmark(p.parent.name + "-" + p.stem, CAPTIONS, tasks, cands, source=str(p))


# -- M-BEIR ---------------------------------------------------------------------------------


def _instructions(path: Path | None) -> dict[tuple[str, str, str], str]:
    """``query_instructions.tsv``: (dataset id, query modality, candidate modality) -> prompt."""
    if path is None:
        return {}
    out: dict[tuple[str, str, str], str] = {}
    with open(_need(path), encoding="utf-8", newline="") as f:
        for n, row in enumerate(csv.DictReader(f, delimiter="\t"), 2):
            low = {
                k.strip().lower().replace(" ", "_"): (v or "").strip() for k, v in row.items() if k
            }
            prompt = low.get("prompt_1") or low.get("instruction") or low.get("prompt")
            qmod, cmod = (
                low.get("query_modality"),
                low.get("cand_modality") or low.get("candidate_modality"),
            )
            if not (prompt and qmod and cmod):
                raise InputError(
                    "malformed_line",
                    f"{path}:{n}: needs query_modality, cand_modality, prompt_1",
                    f"{path}:{n}",
                )
            out[(low.get("dataset_id", ""), qmod, cmod)] = prompt
    return out


def load_mbeir(
    queries: str | Path,
    pool: str | Path,
    instructions: str | Path | None = None,
    image_root: str | Path | None = None,
) -> Benchmark:
    """M-BEIR JSONL: queries (``qid, query_txt, query_img_path, query_modality,
    pos_cand_list``), a candidate pool (``did, txt, img_path, modality``) and,
    optionally, the task-instruction TSV. One task per (query, candidate) modality pair."""
    qp, pp = Path(queries), Path(pool)
    root = Path(image_root) if image_root else qp.parent
    cands: dict[str, Item] = {}
    for n, row in _jsonl(pp):
        did = str(_field(row, ("did",), f"{pp}:{n}"))
        img = row.get("img_path")
        cands[did] = Item(
            did,
            text=row.get("txt") or None,
            image=str(root / img) if img else None,
            meta={"modality": row.get("modality")},
        )
    prompts = _instructions(Path(instructions) if instructions else None)
    tasks: dict[str, Task] = {}
    for n, row in _jsonl(qp):
        where = f"{qp}:{n}"
        qid = str(_field(row, ("qid",), where))
        pos = [str(d) for d in _field(row, ("pos_cand_list",), where)]
        unknown = [d for d in pos if d not in cands]
        if unknown:
            raise InputError(
                "unknown_candidate",
                f"{where}: positive {unknown[0]!r} is not in the pool {pp}",
                where,
            )
        qmod = str(row.get("query_modality") or "text")
        cmod = str(cands[pos[0]].meta.get("modality") or cands[pos[0]].modality)
        img = row.get("query_img_path")
        prompt = prompts.get((qid.split(":")[0], qmod, cmod)) or prompts.get(("", qmod, cmod))
        item = Item(
            qid,
            text=row.get("query_txt") or None,
            image=str(root / img) if img else None,
            instruction=prompt,
            meta={"task_id": row.get("task_id")},
        )
        name = f"{qmod}->{cmod}"
        task = tasks.setdefault(
            name, Task(name, [], {}, target=cmod if cmod in ("image", "text") else None)
        )
        task.queries.append(item)
        task.qrels[qid] = dict.fromkeys(pos, 1)
    if not tasks:
        raise ConfigError(f"{qp}: no queries")
    return Benchmark(qp.stem, MBEIR, list(tasks.values()), cands, source=str(qp))


# -- pages ----------------------------------------------------------------------------------


def load_pages(path: str | Path) -> Benchmark:
    """MMDocIR-style questions (JSON list or JSONL): ``question``, ``doc_name`` and
    the relevant ``page_id`` list (0-based). Candidate ids are ``doc#page``; the
    search is scoped to the question's document, as MMDocIR's page retrieval is."""
    p = _need(Path(path))
    if p.suffix.lower() == ".json":
        data = json.loads(p.read_text(encoding="utf-8"))
        rows = list(enumerate(data if isinstance(data, list) else data.get("questions", []), 1))
    else:
        rows = list(_jsonl(p))
    queries: list[Item] = []
    qrels: dict[str, dict[str, int]] = {}
    cands: dict[str, Item] = {}
    for n, row in rows:
        where = f"{p}:{n}"
        doc = str(_field(row, ("doc_name", "doc_id", "document"), where))
        pages = _field(row, ("page_id", "page_ids", "pages", "gt_pages"), where)
        pages = pages if isinstance(pages, list) else [pages]
        qid = str(row.get("qid") or row.get("q_id") or f"q{len(queries)}")
        queries.append(Item(qid, text=str(_field(row, ("question", "query"), where)), scope=doc))
        qrels[qid] = {}
        for page in pages:
            try:
                number = int(page)
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: page {page!r} is not a page number") from None
            cid = f"{doc}#{number}"
            cands.setdefault(cid, Item(cid, meta={"doc": doc, "page": number}))
            qrels[qid][cid] = 1
    if not queries:
        raise ConfigError(f"{p}: no questions")
    return Benchmark(
        p.stem,
        PAGES,
        [Task("q2page", queries, qrels, target=None, kind="page")],
        cands,
        source=str(p),
    )


# -- resolution -----------------------------------------------------------------------------


def shared_data() -> Path:
    return Path(os.environ.get("PLAIT_SHARED_DATA", "../shared/data"))


def load_benchmark(spec: str | Path, **opts: Any) -> Benchmark:
    """A benchmark from a name (``flickr8k``) or a path, by file layout.

    ``.tsv``: caption TSV; ``.json`` with ``images``: Karpathy; ``.json``/``.jsonl``
    with ``question``: pages; ``.jsonl`` with ``pos_cand_list``: M-BEIR (needs
    ``pool=``). The corpus-pairs benchmark needs a corpus: see
    :func:`plait.eval.bind.corpus_pairs`.
    """
    text = str(spec)
    if text in NAMED:
        p = shared_data() / NAMED[text]
        if not p.exists():
            raise ConfigError(
                f"benchmark {text!r} expects {p} (set PLAIT_SHARED_DATA to the data folder)"
            )
        return load_caption_tsv(p, **opts)
    p = Path(text)
    if p.is_dir() and (p / "test.tsv").exists():
        p = p / "test.tsv"
    if not p.exists():
        from plait.errors import UnknownNameError

        raise UnknownNameError("benchmark", text, [*NAMED, "pairs", "<path>"])
    ext = p.suffix.lower()
    if ext == ".tsv":
        return load_caption_tsv(p, **opts)
    first = _first_record(p)
    if "images" in first:
        return load_karpathy(p, **opts)
    if "pos_cand_list" in first:
        if "pool" not in opts:
            raise ConfigError(f"{p}: an M-BEIR query file needs its candidate pool (--pool)")
        return load_mbeir(p, **opts)
    if "question" in first or "query" in first:
        return load_pages(p)
    raise ConfigError(f"{p}: cannot tell the benchmark layout (keys: {sorted(first)[:8]})")


def _first_record(p: Path) -> dict[str, Any]:
    if p.suffix.lower() == ".jsonl":
        return next((row for _, row in _jsonl(p)), {})
    with open(p, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict) and isinstance(data.get("questions"), list):
        data = data["questions"]
    if isinstance(data, list):
        return data[0] if data and isinstance(data[0], dict) else {}
    return data if isinstance(data, dict) else {}
