"""Benchmarks for sound and speech, from the real data that exists here.

- ``tuxpaint-sounds`` (kind ``sounds``): each captioned Tux Paint sound effect's
  caption (the first line of ``NAME.txt``) must find ``NAME.ogg`` among the 107
  of them (spoken letters and digits under ``symbols/`` are speech, not sound
  effects, and are left out). Retrieval, S@k.
- ``tuxpaint-speech`` (kind ``speech``): the spoken descriptions ``NAME_desc.ogg``
  whose reference text is the English caption; ``tuxpaint-speech:LANG`` takes
  ``NAME_desc_LANG.ogg`` against the ``LANG.utf8=`` caption. Word error rate.
- ``fsdd`` (kind ``speech``): the Free Spoken Digit Dataset's 600 recordings,
  the reference being the digit's English word. Word error rate.
- ``tuxpaint-spoken`` (kind ``spoken``): a spoken description, through the
  transcript the ``speech`` operator wrote, must find its stamp (the picture
  sample ``NAME.png``/``.svg`` with its captions) among all the stamp pictures.
  Retrieval, S@k.

Tux Paint's stamps come from Debian ``tuxpaint-stamps-default``
(``/usr/share/tuxpaint/stamps``, or ``PLAIT_TUXPAINT``); FSDD from
``PLAIT_SHARED_DATA/fsdd/recordings``. Keys are paths relative to those folders,
which is how ``plait ingest`` keys what it reads from them.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plait import schema
from plait.errors import ConfigError
from plait.eval.benchmark import Benchmark, Item, Task

SOUNDS = "sounds"
SPEECH = "speech"
SPOKEN = "spoken"
NAMES = ("tuxpaint-sounds", "tuxpaint-speech", "tuxpaint-spoken", "fsdd")


def tuxpaint_root() -> Path:
    p = Path(os.environ.get("PLAIT_TUXPAINT", "/usr/share/tuxpaint/stamps"))
    if not p.is_dir():
        raise ConfigError(
            f"Tux Paint stamps not found at {p}: install Debian tuxpaint-stamps-default "
            "or set PLAIT_TUXPAINT"
        )
    return p


def is_name(spec: str) -> bool:
    return spec.partition(":")[0] in NAMES


def load(spec: str, root: str | Path | None = None) -> Benchmark:
    name, _, lang = spec.partition(":")
    if name == "fsdd":
        from plait.eval.benchmarks import shared_data

        return fsdd(Path(root) if root else shared_data() / "fsdd" / "recordings")
    base = Path(root) if root else tuxpaint_root()
    if name == "tuxpaint-sounds":
        return tuxpaint_sounds(base)
    if name == "tuxpaint-speech":
        return tuxpaint_speech(base, lang or "en")
    return tuxpaint_spoken(base)


def _stamps(root: Path, need_image: bool = True) -> list[tuple[Path, str, set[str], list[str]]]:
    """``(folder, stem, names in folder, sidecar lines)`` of every sidecar (of a stamp
    picture, unless ``need_image`` is False)."""
    out = []
    for folder, _, files in os.walk(root):
        names = set(files)
        for f in sorted(files):
            stem, ext = os.path.splitext(f)
            if ext != ".txt" or (need_image and not ({stem + ".png", stem + ".svg"} & names)):
                continue
            text = (Path(folder) / f).read_text(encoding="utf-8", errors="replace")
            out.append((Path(folder), stem, names, text.splitlines()))
    return sorted(out, key=lambda s: (str(s[0]), s[1]))


def _caption(lines: list[str], lang: str) -> str | None:
    if lang == "en":
        return next((ln.strip() for ln in lines if ln.strip() and ".utf8=" not in ln), None)
    for ln in lines:
        tag, sep, text = ln.partition("=")
        if sep and tag.strip().lower() in (f"{lang}.utf8", f"{lang}.utf-8") and text.strip():
            return text.strip()
    return None


def tuxpaint_sounds(root: Path) -> Benchmark:
    queries, qrels, cands = [], {}, {}
    for folder, stem, names, lines in _stamps(root, need_image=False):
        rel = (folder / f"{stem}.ogg").relative_to(root).as_posix()
        cap = _caption(lines, "en")
        if stem + ".ogg" not in names or rel.startswith("symbols/") or not cap:
            continue
        cands[rel] = Item(rel, meta={"kind": schema.AUDIO})
        queries.append(Item(f"{rel}#caption", text=cap))
        qrels[f"{rel}#caption"] = {rel: 1}
    # target None: a sound is found through any slot the searched table holds (its
    # vector in yamnet's table, its labels or transcript in a text encoder's)
    task = Task("t2a", queries, qrels, target=None, kind=schema.AUDIO)
    return Benchmark("tuxpaint-sounds", SOUNDS, [task], cands, source=str(root))


def tuxpaint_speech(root: Path, lang: str = "en") -> Benchmark:
    suffix = "_desc.ogg" if lang == "en" else f"_desc_{lang}.ogg"
    refs = {}
    for folder, stem, names, lines in _stamps(root):
        cap = _caption(lines, lang)
        if stem + suffix in names and cap:
            refs[(folder / (stem + suffix)).relative_to(root).as_posix()] = cap
    if not refs:
        raise ConfigError(f"no spoken descriptions in language {lang!r} under {root}")
    return _speech(f"tuxpaint-speech:{lang}", refs, root, lang)


def fsdd(root: Path) -> Benchmark:
    if not root.is_dir():
        raise ConfigError(f"FSDD recordings not found at {root} (set PLAIT_SHARED_DATA)")
    words = _ONES[:10]
    refs = {
        f.name: words[int(f.name.split("_")[0])]
        for f in sorted(root.glob("*.wav"))
        if f.name.split("_")[0].isdigit()
    }
    return _speech("fsdd", refs, root, "en")


def _speech(name: str, refs: dict[str, str], root: Path, lang: str) -> Benchmark:
    cands = {k: Item(k, text=t, meta={"kind": schema.AUDIO, "lang": lang}) for k, t in refs.items()}
    task = Task("asr", [Item(k, text=t) for k, t in refs.items()], {}, target=None)
    return Benchmark(name, SPEECH, [task], cands, source=str(root), notes={"lang": lang})


def tuxpaint_spoken(root: Path) -> Benchmark:
    """Every stamp picture is a candidate (the whole folder, as ``plait ingest`` reads it);
    the spoken descriptions with an English caption are the queries."""
    queries, qrels = [], {}
    cands = {
        p.relative_to(root).as_posix(): Item(p.relative_to(root).as_posix(), meta={"kind": "stamp"})
        for p in sorted(root.rglob("*"))
        if p.suffix.lower() in (".png", ".svg") and p.is_file()
    }
    for folder, stem, names, lines in _stamps(root):
        if stem + "_desc.ogg" not in names or not _caption(lines, "en"):
            continue
        img = stem + (".png" if stem + ".png" in names else ".svg")
        key = (folder / img).relative_to(root).as_posix()
        spoken = (folder / f"{stem}_desc.ogg").relative_to(root).as_posix()
        queries.append(Item(spoken, meta={"audio": spoken}))
        qrels[spoken] = {key: 1}
    task = Task("s2i", queries, qrels, target=None, kind=None)
    return Benchmark("tuxpaint-spoken", SPOKEN, [task], cands, source=str(root))


# -- binding -----------------------------------------------------------------------------


def bind_keys(
    bench: Benchmark, rows: list[dict[str, Any]], kinds: tuple[str, ...], dataset: str | None
) -> dict[str, str]:
    """Candidate key -> sample id among samples of ``kinds`` (``<dataset>/<key>``)."""
    from plait.eval.rows import by_key, one

    keyed = by_key([r for r in rows if r["kind"] in kinds], dataset)
    mapping, missing = {}, []
    for key in bench.candidates:
        if key in keyed:
            mapping[key] = one(keyed[key], key)["id"]
        else:
            missing.append(key)
    if missing:
        what = "stamps" if bench.kind == SPOKEN else "sounds"
        raise ConfigError(
            f"{len(missing)} of {len(bench.candidates)} {what} of {bench.name!r} are not in the "
            f"corpus (first: {missing[0]!r}); ingest {bench.source} first "
            f"({'plait ingest CORPUS ' + bench.source + ' --format ' + ('folder' if what == 'stamps' else 'audio')})"
        )
    return mapping


def transcript(sample: schema.Sample) -> str:
    """What the ``speech`` operator heard in a sample, its segments joined."""
    slots = (sample.stats.get("added_slots") or {}).get("speech") or []
    return " ".join(
        (sample.texts[i] or "").strip() for i in slots if 0 <= i < len(sample.texts)
    ).strip()


def spoken_queries(
    bench: Benchmark, rows: list[dict[str, Any]], dataset: str | None
) -> dict[str, str]:
    """Query id -> the transcript of its spoken description in the corpus."""
    from plait.eval.rows import by_key

    keyed = by_key([r for r in rows if r["kind"] == schema.AUDIO], dataset)
    out, missing = {}, 0
    for q in bench.tasks[0].queries:
        got = keyed.get(q.meta["audio"])
        if not got:
            missing += 1
            continue
        s = schema.Sample.from_row({**got[0], "meta": None})
        if "speech" not in (s.stats.get("added_slots") or {}) and "speech_segments" not in s.stats:
            raise ConfigError(
                f"{s.id} has no transcript: run the speech operator first "
                "(plait curate CORPUS recipe.yaml with - op: speech)"
            )
        out[q.id] = transcript(s)
    if missing == len(bench.tasks[0].queries):
        raise ConfigError(
            f"none of the spoken descriptions of {bench.name!r} are in the corpus; ingest "
            f"{bench.source} with --format audio"
        )
    return out


# -- word error rate ---------------------------------------------------------------------

_ARTICLES = frozenset({"a", "an", "the"})
_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _number(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + _number(rest))
    return " ".join(_ONES[int(d)] for d in str(n))


def normalise(text: str) -> list[str]:
    """Words for WER: case-folded, numbers spelt out, punctuation and symbols removed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = re.sub(r"\d+", lambda m: f" {_number(int(m.group()))} ", text)
    text = "".join(
        " " if unicodedata.category(ch)[0] in ("P", "S") and ch != "'" else ch for ch in text
    )
    return [w.strip("'") for w in text.split() if w.strip("'")]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


@dataclass
class SpeechScore:
    """Corpus-level WER (total edits / total reference words) and per item."""

    name: str
    items: int = 0
    words: int = 0
    edits: int = 0
    # the same without articles: Tux Paint's references are stamp captions ("A penguin.")
    # while the recordings mostly say the noun alone ("Penguin.")
    content_words: int = 0
    content_edits: int = 0
    empty: int = 0  # items with no transcript at all
    missing: int = 0  # benchmark items not in the corpus
    lang: str | None = None  # the language the recordings are in
    lang_right: int = 0  # items whose detected language is ``lang``
    per_item: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def wer(self) -> float:
        return self.edits / self.words if self.words else 0.0

    @property
    def wer_no_articles(self) -> float:
        return self.content_edits / self.content_words if self.content_words else 0.0

    def to_dict(self, per_item: bool = False) -> dict[str, Any]:
        out = {
            "benchmark": self.name,
            "items": self.items,
            "words": self.words,
            "wer": round(self.wer, 4),
            "wer_no_articles": round(self.wer_no_articles, 4),
            "empty_transcripts": self.empty,
            "missing": self.missing,
        }
        if self.lang:
            out["language"] = self.lang
            out["language_detected"] = round(self.lang_right / self.items, 4) if self.items else 0.0
        if per_item:
            out["per_item"] = self.per_item
        return out


def score_speech(bench: Benchmark, rows: list[dict[str, Any]], dataset: str | None) -> SpeechScore:
    """WER of the corpus's transcripts (the ``speech`` operator's slots) against the
    benchmark's reference texts."""
    from plait.eval.rows import by_key

    keyed = by_key([r for r in rows if r["kind"] == schema.AUDIO], dataset)
    out = SpeechScore(bench.name, lang=bench.notes.get("lang"))
    transcribed = 0
    for key, item in bench.candidates.items():
        got = keyed.get(key)
        if not got:
            out.missing += 1
            continue
        s = schema.Sample.from_row({**got[0], "meta": None})
        transcribed += "speech_segments" in s.stats
        hyp = transcript(s)
        ref_w, hyp_w = normalise(item.text or ""), normalise(hyp)
        e = edit_distance(ref_w, hyp_w)
        out.items += 1
        out.words += len(ref_w)
        out.edits += e
        out.empty += not hyp_w
        out.lang_right += bool(out.lang) and s.stats.get("speech_language") == out.lang
        ref_c, hyp_c = (
            [w for w in ref_w if w not in _ARTICLES],
            [w for w in hyp_w if w not in _ARTICLES],
        )
        out.content_words += len(ref_c)
        out.content_edits += edit_distance(ref_c, hyp_c)
        out.per_item[key] = {
            "ref": item.text,
            "hyp": hyp,
            "edits": e,
            "words": len(ref_w),
            "lang": s.stats.get("speech_language"),
        }
    if not out.items:
        raise ConfigError(
            f"none of the recordings of {bench.name!r} are in the corpus; ingest {bench.source} "
            "with --format audio"
        )
    if not transcribed:
        raise ConfigError(
            "no transcripts in the corpus: run the speech operator first "
            "(plait curate CORPUS recipe.yaml with - op: speech)"
        )
    return out
