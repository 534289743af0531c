"""Recipes are checked before any work starts; errors name the step, the op and the field."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "executors"))

from plait.errors import (
    ConfigError,  # noqa: E402
    RecipeError,  # noqa: E402
)
from plait.recipe import load_recipe  # noqa: E402

GOOD = """
- op: toy_ops:MinWords
  min_words: 4
- op: toy_ops:Lower
- op: toy_ops:ExactText
"""


def test_loads_steps_with_positions_kinds_and_defaults(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(GOOD)
    rec = load_recipe(path)
    assert [(s.position, s.op, s.kind) for s in rec.steps] == [
        (1, "toy_ops:MinWords", "filter"),
        (2, "toy_ops:Lower", "mapper"),
        (3, "toy_ops:ExactText", "dedup"),
    ]
    assert rec.steps[0].resolved == {"min_words": 4, "mode": "drop"}
    assert rec.source == str(path)


def test_hash_depends_on_resolved_params_not_on_spelling() -> None:
    explicit = load_recipe([{"op": "toy_ops:MinWords", "min_words": 3, "mode": "drop"}])
    implicit = load_recipe([{"op": "toy_ops:MinWords"}])
    other = load_recipe([{"op": "toy_ops:MinWords", "min_words": 4}])
    assert explicit.hash == implicit.hash != other.hash


@pytest.mark.parametrize(
    ("recipe", "position", "field", "fragment"),
    [
        (
            [{"op": "toy_ops:Lower"}, {"op": "toy_ops:MinWords", "min_wrds": 3}],
            2,
            "min_wrds",
            "unknown parameter",
        ),
        ([{"op": "toy_ops:MinWords", "min_words": "three"}], 1, "min_words", "expected int"),
        (
            [{"op": "toy_ops:Lower"}, {"op": "toy_ops:Lower"}, {"op": "toy_ops:FakeModel"}],
            3,
            "log_dir",
            "required",
        ),
        ([{"op": "toy_ops:MinWords", "mode": "shout"}], 1, None, "mode must be"),
    ],
)
def test_bad_step_names_position_op_and_field(recipe, position, field, fragment) -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe(recipe)
    err = info.value
    assert err.position == position
    assert err.op == recipe[position - 1]["op"]
    assert err.field == field
    assert fragment in str(err)
    assert f"step {position}" in str(err)
    if field:
        assert repr(field) in str(err)


def test_unknown_module_and_malformed_recipes_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="step 1"):
        load_recipe([{"op": "nowhere_pkg:Nope"}])
    with pytest.raises(ConfigError, match="step 2.*'op'"):
        load_recipe([{"op": "toy_ops:Lower"}, {"min_words": 3}])
    with pytest.raises(ConfigError, match="non-empty list"):
        load_recipe("op: toy_ops:Lower")
    with pytest.raises(ConfigError, match="not found"):
        load_recipe(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="YAML"):
        load_recipe("- op: [unclosed\n")
