"""A recipe is also checked against the corpus it will run on, before any work: an
operator that cannot run there (a learned filter that was never saved) fails the load
with the step and the operator named."""

from __future__ import annotations

import pytest

from plait.errors import RecipeError
from plait.recipe import load_recipe

RECIPE = [
    {"op": "word_count", "min_words": 3},
    {"op": "learned_filter", "name": "hq", "threshold": 0.4},
]


def test_missing_saved_filter_fails_at_load_naming_step_and_op(corpus) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(RECIPE, corpus_path=corpus.path)
    err = info.value
    assert (err.position, err.op) == (2, "learned_filter")
    assert "step 2" in str(err) and "no learned filter 'hq'" in str(err)


def test_check_is_a_separate_step_for_loaded_recipes(corpus) -> None:
    rec = load_recipe(RECIPE)  # no corpus: parameters only, as `plait ops` and dry runs need
    assert [s.op for s in rec.steps] == ["word_count", "learned_filter"]
    with pytest.raises(RecipeError, match="step 2 \\(op 'learned_filter'\\)"):
        rec.check(corpus.path)


def test_operators_that_can_run_pass_the_check(corpus) -> None:
    rec = load_recipe(
        [{"op": "word_count", "min_words": 3}, {"op": "near_dup_image"}], corpus_path=corpus.path
    )
    assert [s.kind for s in rec.steps] == ["filter", "dedup"]
