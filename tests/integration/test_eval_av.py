"""``plait eval`` on sound and speech: text to sound (Tux Paint captions), word error
rate of transcripts, spoken description to stamp; checked against a direct
computation from the same models."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from plait import Corpus
from plait.curate import curate
from plait.embed import embed
from plait.eval.api import eval_benchmark, eval_transcripts
from plait.ingest import ingest

pytest.importorskip("av")
pytest.importorskip("ai_edge_litert")
pytest.importorskip("faster_whisper")
TUX = Path("/usr/share/tuxpaint/stamps")
STAMPS = [
    "animals/mammals/cats/tiger",
    "animals/birds/penguin",
    "animals/birds/duck",
    "household/dishes/glass",
]


@pytest.fixture(scope="module")
def tux(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not TUX.is_dir():
        pytest.skip("Debian tuxpaint-stamps-default is not installed")
    root = tmp_path_factory.mktemp("tux") / "stamps"
    for name in STAMPS:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        for ext in (".ogg", ".txt", ".png", ".svg", "_desc.ogg"):
            if Path(f"{TUX / name}{ext}").exists():
                shutil.copy(f"{TUX / name}{ext}", f"{root / name}{ext}")
    return root


def test_text_to_sound_matches_a_direct_ranking(tux: Path, corpus: Corpus) -> None:
    from plait.av.audio import load_audio
    from plait.encoders import load_encoder

    ingest(corpus, tux, fmt="audio", captions=False, exclude="*_desc*")
    embed(corpus, "yamnet", modality="audio")
    result, outs = eval_benchmark(
        corpus, "tuxpaint-sounds", "yamnet@audio", loader_opts={"root": tux}
    )
    (task,) = result.tasks
    assert task.evaluation.num_queries == 4 and outs.json.is_file()
    enc = load_encoder("yamnet")
    keys = sorted(f"{n}.ogg" for n in STAMPS)
    sounds = enc.encode_audio([load_audio(str(tux / k)) for k in keys])
    caps = [(tux / k).with_suffix(".txt").read_text().splitlines()[0] for k in keys]
    best = np.argmax(enc.encode_text(caps) @ sounds.T, axis=1)
    assert task.evaluation.mean["success@1"] == pytest.approx(np.mean(best == np.arange(4)))
    assert task.chance["success@1"] == pytest.approx(0.25)


def test_word_error_rate_and_spoken_descriptions_to_stamps(tux: Path, corpus: Corpus) -> None:
    from plait.eval.av import edit_distance, normalise, transcript

    ingest(corpus, tux, fmt="audio", include="*_desc.ogg")
    ingest(corpus, tux, fmt="folder")
    curate(corpus, [{"op": "speech", "model": "tiny.en"}], workers=0)  # one model load
    spoken = [n for n in STAMPS if (tux / f"{n}_desc.ogg").exists()]
    score, path = eval_transcripts(corpus, "tuxpaint-speech", root=tux)
    assert score.items == len(spoken) >= 2 and path.is_file()
    edits = words = 0
    for name in spoken:
        ref = (tux / f"{name}.txt").read_text().splitlines()[0]
        hyp = transcript(corpus.sample(f"stamps/{name}_desc.ogg"))
        edits += edit_distance(normalise(ref), normalise(hyp))
        words += len(normalise(ref))
    assert score.wer == pytest.approx(edits / words)
    embed(corpus, "minilm", where="kind = 'pair'")
    result, _ = eval_benchmark(corpus, "tuxpaint-spoken", "minilm", loader_opts={"root": tux})
    (task,) = result.tasks
    assert task.evaluation.num_queries == len(spoken)
    assert set(task.qrels) == {f"{n}_desc.ogg" for n in spoken}
    assert 0.0 <= task.evaluation.mean["success@1"] <= 1.0
