"""The public API is curated: ``plait`` exports exactly the names below, and each facade
package exports exactly its ``__all__`` (a helper imported into a facade by accident, or
a name dropped from it, fails here). Changing the API means changing this file."""

from __future__ import annotations

import importlib
import inspect

import pytest

PLAIT = {
    "ConfigError",
    "Corpus",
    "CorpusError",
    "CorpusNotFoundError",
    "InputError",
    "MissingDependencyError",
    "NotFoundError",
    "PlaitError",
    "Sample",
    "SecurityError",
    "Source",
    "UnknownNameError",
    "__version__",
    "ask",
}
# Packages whose __init__ only gathers their API (implementation lives in submodules).
FACADES = (
    "plait",
    "plait.answer",
    "plait.encoders",
    "plait.eval",
    "plait.generators",
    "plait.index",
    "plait.retrieval",
    "plait.server",
)
# The stage entry points, each named after its command and living in a module of that name.
STAGES = {
    "plait.ingest": "ingest",
    "plait.curate": "curate",
    "plait.embed": "embed",
    "plait.index": "index",
    "plait.align": "align",
    "plait.export": "export",
    "plait.audit": "audit",
    "plait.answer": "ask",
}


def _public(module: object) -> set[str]:
    return {
        n
        for n in dir(module)
        if not n.startswith("_")
        and n != "annotations"  # from __future__ import annotations
        and not inspect.ismodule(getattr(module, n))
    }


def test_plait_exports_exactly_the_curated_names() -> None:
    import plait

    assert set(plait.__all__) == PLAIT
    assert len(plait.__all__) == len(PLAIT)
    assert _public(plait) | {"__version__"} == PLAIT


@pytest.mark.parametrize("name", FACADES)
def test_a_facade_exports_its_all_and_nothing_else(name: str) -> None:
    module = importlib.import_module(name)
    assert len(set(module.__all__)) == len(module.__all__), "a name is listed twice"
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ lists names it does not define: {missing}"
    unlisted = _public(module) - set(module.__all__)
    assert not unlisted, f"{name} exposes names missing from __all__: {sorted(unlisted)}"


@pytest.mark.parametrize(("module", "function"), STAGES.items())
def test_stage_entry_points_are_named_alike(module: str, function: str) -> None:
    fn = getattr(importlib.import_module(module), function)
    assert callable(fn) and fn.__name__ == function
    assert fn.__doc__, f"{module}.{function} has no docstring"
