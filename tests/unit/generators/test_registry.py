"""Generator specs: the registry, options, and errors a user sees before any model loads."""

from __future__ import annotations

import pytest

from plait.errors import ConfigError, UnknownNameError
from plait.generators import Generator, GenOptions, Prompt, generator_names, load_generator
from plait.generators.base import parse_spec, truncate_at_stop


def test_spec_parsing_keeps_urls_and_options_apart():
    assert parse_spec("openai:http://127.0.0.1:8/v1#m?timeout=3") == (
        "openai",
        "http://127.0.0.1:8/v1#m",
        {"timeout": "3"},
    )
    assert parse_spec("smollm2?threads=2") == ("smollm2", "", {"threads": "2"})
    assert parse_spec("hf:./dir") == ("hf", "./dir", {})


def test_unknown_generator_suggests_a_close_name():
    with pytest.raises(UnknownNameError) as err:
        load_generator("smolm2")
    assert "smollm2" in str(err.value)
    assert {"extractive", "smollm2", "hf:", "openai:"} <= set(generator_names())


def test_unknown_option_and_bad_values_fail_before_loading():
    with pytest.raises(ConfigError, match="no option 'temp'"):
        load_generator("extractive?temp=1")
    with pytest.raises(ConfigError, match="must be a number"):
        load_generator("extractive", min_coverage="lots")
    with pytest.raises(ConfigError, match="BASE_URL#MODEL"):
        load_generator("openai:localhost")
    with pytest.raises(ConfigError, match="needs something"):
        load_generator("hf:")
    with pytest.raises(ConfigError):
        load_generator("  ")
    with pytest.raises(ConfigError):
        GenOptions(max_new_tokens=0)


def test_hf_generator_names_a_missing_model_directory(tmp_path):
    from plait.errors import NotFoundError

    with pytest.raises(NotFoundError, match="config.json"):
        load_generator(f"hf:{tmp_path}")


def test_extractive_is_a_generator_that_says_it_reads_no_pixels():
    g = load_generator("extractive")
    assert isinstance(g, Generator)
    assert g.accepts_images is False and g.name == "extractive"
    out = g.generate(Prompt.of("hi"))
    assert out.text  # no sources: an abstention, not an error


def test_stop_strings_cut_the_text():
    assert truncate_at_stop("a. b. c", (". ",)) == ("a", True)
    assert truncate_at_stop("abc", ("x",)) == ("abc", False)
