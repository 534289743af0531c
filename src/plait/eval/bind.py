"""From benchmark ids to corpus ids, and a benchmark made of a corpus's own pairs.

A search hit names a sample (and a slot), so a benchmark must be *bound* to a
corpus before it can be scored: :func:`bind` rewrites every candidate id to
``sample_id`` (a whole sample) or ``sample_id#slot`` (one caption slot) and
fails, naming what is missing and how to ingest it, when benchmark items are
not in the corpus. Matching rules, by benchmark kind:

- captions: an image key ``K`` is the sample ``<dataset>/K`` (what ``plait
  ingest CORPUS flickr8k/test.tsv`` writes: dataset ``test``, one pair sample
  per image, image slot then caption slots); a caption is the text slot of that
  sample holding the same text. Several datasets holding ``K`` need ``dataset=``.
- M-BEIR: a candidate ``did`` is the sample whose ``meta.did`` is ``did`` (a
  pool ingested as a table keeps ``did`` in meta), else the sample ``<dataset>/did``.
- pages: ``doc#page`` is the page sample at ``position == page`` whose parent
  document's key (or its file stem) is ``doc``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from plait import schema
from plait.errors import ConfigError
from plait.eval.benchmark import CAPTIONS, MBEIR, PAGES, Benchmark, Item, Task, caption_tasks
from plait.eval.rows import by_key, one, split_id
from plait.io.corpus import Corpus


def _missing(
    what: str, missing: list[str], total: int, bench: Benchmark, corpus: Corpus
) -> ConfigError:
    hint = f"plait ingest {corpus.path} {bench.source}" if bench.source else "plait ingest"
    return ConfigError(
        f"{len(missing)} of {total} {what} of benchmark {bench.name!r} are not in {corpus.path} "
        f"(first: {missing[0]!r}); ingest them first, e.g. `{hint}`, or pass the dataset name they were ingested under"
    )


def bind(bench: Benchmark, corpus: Corpus, dataset: str | None = None) -> Benchmark:
    """A copy of ``bench`` whose candidate ids are corpus ids (see the module docstring)."""
    if bench.bound:
        return bench
    cols = ["id", "kind", "texts", "images", "source", "parent", "position"]
    from plait.eval import av

    extra = ["meta"] if bench.kind == MBEIR else ["stats"] if bench.kind == av.SPOKEN else []
    rows = corpus.read("samples", columns=cols + extra).to_pylist()
    if bench.kind == CAPTIONS:
        mapping, media = _bind_captions(bench, corpus, rows, dataset)
        if dataset is None:  # the dataset the images were found in, if there is one
            bound = set(mapping.values())
            found = {split_id(r)[0] for r in rows if r["id"] in bound}
            dataset = found.pop() if len(found) == 1 else None
    elif bench.kind == MBEIR:
        mapping, media = _bind_mbeir(bench, corpus, rows, dataset), {}
    elif bench.kind == PAGES:
        mapping, media = _bind_pages(bench, corpus, rows, dataset), {}
    elif bench.kind in (av.SOUNDS, av.SPOKEN):  # see plait.eval.av
        kinds = (schema.AUDIO,) if bench.kind == av.SOUNDS else (schema.PAIR, schema.IMAGE)
        mapping, media = av.bind_keys(bench, rows, kinds, dataset), {}
        if bench.kind == av.SPOKEN:
            said = av.spoken_queries(bench, rows, dataset)
            for q in bench.tasks[0].queries:
                q.text = said.get(q.id, "")
        bench.notes["pool"] = sorted(mapping.values())
        bench.notes["where"] = (
            f"kind = '{schema.AUDIO}'"
            if bench.kind == av.SOUNDS
            else f"kind IN ('{schema.PAIR}', '{schema.IMAGE}')"
        )
    else:
        raise ConfigError(f"cannot bind a benchmark of kind {bench.kind!r}")
    return _rewrite(bench, mapping, media, dataset)


def _bind_captions(
    bench: Benchmark, corpus: Corpus, rows: list[dict[str, Any]], dataset: str | None
):
    keyed = by_key([r for r in rows if r["kind"] in (schema.PAIR, schema.IMAGE)], dataset)
    images = [c for c in bench.candidates.values() if c.text is None]
    missing = [c.id for c in images if c.id not in keyed]
    if missing:
        raise _missing("images", missing, len(images), bench, corpus)
    mapping: dict[str, str] = {}
    media: dict[str, str] = {}  # image key -> media id (queries read bytes from the corpus)
    used: set[tuple[str, int]] = set()
    lost: list[str] = []
    for c in images:
        row = one(keyed[c.id], c.id)
        mapping[c.id] = row["id"]
        media[c.id] = next((m for m in row["images"] or [] if m), "")
    for c in bench.candidates.values():
        if c.text is None:
            continue
        row = one(keyed[c.meta["image"]], c.meta["image"])
        slot = next(
            (
                j
                for j, t in enumerate(row["texts"] or [])
                if t is not None and t.strip() == c.text and (row["id"], j) not in used
            ),
            None,
        )
        if slot is None:
            lost.append(c.id)
            continue
        used.add((row["id"], slot))
        mapping[c.id] = f"{row['id']}#{slot}"
    if lost:
        raise _missing("captions", lost, len(bench.candidates) - len(images), bench, corpus)
    return mapping, media


def _bind_mbeir(bench: Benchmark, corpus: Corpus, rows: list[dict[str, Any]], dataset: str | None):
    by_did = {str(schema.loads(r.get("meta")).get("did")): r["id"] for r in rows if r.get("meta")}
    keyed = by_key(rows, dataset)
    mapping, missing = {}, []
    for did in bench.candidates:
        if did in by_did:
            mapping[did] = by_did[did]
        elif did in keyed:
            mapping[did] = one(keyed[did], did)["id"]
        else:
            missing.append(did)
    if missing:
        raise _missing("candidates", missing, len(bench.candidates), bench, corpus)
    return mapping


def _bind_pages(bench: Benchmark, corpus: Corpus, rows: list[dict[str, Any]], dataset: str | None):
    docs: dict[str, str] = {}
    for r in rows:
        if r["kind"] == schema.DOCUMENT:
            ds, key = split_id(r)
            if dataset is None or ds == dataset:
                for name in {key, Path(key).name, Path(key).stem}:
                    docs.setdefault(name, r["id"])
    pages = {(r["parent"], r["position"]): r["id"] for r in rows if r["kind"] == schema.PAGE}
    mapping, missing = {}, []
    for cid, c in bench.candidates.items():
        doc = docs.get(c.meta["doc"]) or docs.get(Path(c.meta["doc"]).stem)
        sid = pages.get((doc, c.meta["page"])) if doc else None
        if sid is None:
            missing.append(cid)
        else:
            mapping[cid] = sid
    if missing:
        raise _missing("pages", missing, len(bench.candidates), bench, corpus)
    bench.notes["documents"] = {name: sid for name, sid in docs.items()}
    return mapping


def _rewrite(
    bench: Benchmark, mapping: dict[str, str], media: dict[str, str], dataset: str | None
) -> Benchmark:
    docs = bench.notes.get("documents", {})
    tasks = []
    for t in bench.tasks:
        queries = []
        for q in t.queries:
            q = dataclasses.replace(q)
            if q.image is not None and q.id in media:
                q.media, q.image = media[q.id], None
            if q.scope is not None:
                q.scope = docs.get(q.scope) or docs.get(Path(q.scope).stem) or q.scope
            queries.append(q)
        qrels = {qid: {mapping[d]: g for d, g in rel.items()} for qid, rel in t.qrels.items()}
        tasks.append(dataclasses.replace(t, queries=queries, qrels=qrels))
    cands = {
        mapping[cid]: dataclasses.replace(c, id=mapping[cid]) for cid, c in bench.candidates.items()
    }
    notes = {**bench.notes, "dataset": dataset}
    return dataclasses.replace(bench, tasks=tasks, candidates=cands, bound=True, notes=notes)


def corpus_pairs(corpus: Corpus, dataset: str | None = None, limit: int | None = None) -> Benchmark:
    """t2i and i2t over the corpus's own pair samples: each caption's relevant item is
    its own image, each image's relevant items are its own captions."""
    where = f"kind = '{schema.PAIR}'"
    rows = corpus.read(
        "samples", columns=["id", "texts", "images", "source"], where=where, limit=limit
    ).to_pylist()
    if dataset is not None:
        rows = [r for r in rows if split_id(r)[0] == dataset]
    if not rows:
        raise ConfigError(
            f"{corpus.path} holds no pair samples" + (f" in dataset {dataset!r}" if dataset else "")
        )
    images: dict[str, str | None] = {}
    caps: dict[str, list[str]] = {}
    slots: dict[str, list[int]] = {}
    media: dict[str, str] = {}
    for r in rows:
        img = next((m for m in r["images"] or [] if m), None)
        texts = [(j, t) for j, t in enumerate(r["texts"] or []) if t]
        if img is None or not texts:
            continue
        images[r["id"]] = None
        media[r["id"]] = img
        caps[r["id"]] = [t for _, t in texts]
        slots[r["id"]] = [j for j, _ in texts]
    tasks, cands = caption_tasks(images, caps)
    mapping = {sid: sid for sid in images}
    mapping.update(
        {f"{sid}#{i}": f"{sid}#{j}" for sid, js in slots.items() for i, j in enumerate(js)}
    )
    for t in tasks:  # i2t queries carry no file path: give them the media id to fill in
        for q in t.queries:
            if q.id in media:
                q.image = ""
    bench = Benchmark(f"pairs:{dataset or 'all'}", CAPTIONS, tasks, cands, source=str(corpus.path))
    return _rewrite(bench, mapping, media, dataset)


__all__ = ["Item", "Task", "bind", "corpus_pairs"]
