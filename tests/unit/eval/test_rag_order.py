"""MRAMG-Bench's image ordering score, against cases worked by hand from its definition.

Definition (MRAMG-Bench, statistical metrics): with gold image sequence A and the
answer's sequence B, dist(A, B) is the cheapest way to turn B into A by inserting a
missing gold image (cost 3), deleting an extra image (cost 2) or substituting one image
for another (cost 1); score = |A n B| / |A| x (1 - min(dist / max(|A|, |B|), 3) / 3).
Each expected value below is that arithmetic, written out.
"""

from __future__ import annotations

import pytest

from plait.eval.rag import order_score, score, weighted_edit_distance


@pytest.mark.parametrize(
    ("pred", "gold", "expected", "working"),
    [
        (["a", "b", "c"], ["a", "b", "c"], 1.0, "d=0"),
        (["b", "a"], ["a", "b"], 1 - (2 / 2) / 3, "two substitutions d=2, max 2"),
        (["a", "c"], ["a", "b", "c"], (2 / 3) * (1 - (3 / 3) / 3), "insert b d=3, max 3"),
        (["a", "x"], ["a"], 1 - (2 / 2) / 3, "delete x d=2, max 2"),
        (["a", "x"], ["a", "b"], (1 / 2) * (1 - (1 / 2) / 3), "substitute x->b d=1, max 2"),
        (["a"], ["a", "b", "c", "d"], (1 / 4) * (1 - (9 / 4) / 3), "insert b,c,d d=9, max 4"),
        (["c"], ["a", "b", "c"], (1 / 3) * (1 - (6 / 3) / 3), "insert a,b d=6, max 3"),
        (["a", *"uvwxyz"], ["a"], 1 - (12 / 7) / 3, "delete six d=12, max 7"),
        (["x"], ["a", "b"], 0.0, "no gold image placed: recall 0"),
        ([], ["a"], 0.0, "nothing placed"),
        ([], [], 1.0, "nothing asked, nothing placed"),
        (["a"], [], 0.0, "an image where none was asked for"),
    ],
)
def test_order_score_matches_the_hand_worked_definition(pred, gold, expected, working):
    assert order_score(pred, gold) == pytest.approx(expected), working


def test_substitution_is_cheaper_than_deleting_and_inserting():
    # b->x by substitution (1) beats deleting x (2) and inserting b (3)
    assert weighted_edit_distance(["a", "b"], ["a", "x"], 3, 2, 1) == 1
    # with substitution priced out, the distance is delete + insert
    assert weighted_edit_distance(["a", "b"], ["a", "x"], 3, 2, 9) == 5
    assert weighted_edit_distance(["a", "b"], [], 3, 2, 1) == 6
    assert weighted_edit_distance([], ["a", "b"], 3, 2, 1) == 4


def test_placed_sample_ids_match_gold_dataset_paths():
    # sample ids carry the corpus's dataset prefix; gold names the dataset path
    pred = ["rag/flickr8k/images/2.jpg", "rag/flickr8k/images/1.jpg"]
    gold = ["flickr8k/images/1.jpg", "flickr8k/images/2.jpg"]
    assert order_score(pred, gold) == pytest.approx(1 - (2 / 2) / 3)
    assert order_score(pred[::-1], gold) == 1.0


class _Answer:
    abstained = False
    short = ""
    sources: list = []
    cited_ids: list = []

    def __init__(self, images: list[str]) -> None:
        self.images = images


def test_every_question_with_gold_images_gets_an_order_score():
    one = score({"question": "show me a dog", "images": ["d.jpg"]}, _Answer(["c/d.jpg"]), [], 5)
    assert one["order"] == 1.0 and one["img_f1"] == 1.0
    two = score({"question": "show me", "images": ["a", "b"]}, _Answer(["c/b", "c/a"]), [], 5)
    assert two["order"] == pytest.approx(2 / 3)
    assert "order" not in score({"question": "q", "answers": ["1"]}, _Answer([]), [], 5)
