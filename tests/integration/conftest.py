"""Fixtures shared by integration modules."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def ask_corpus(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Receipts and photos, embedded and indexed, built once for every answer test."""
    from .ask_corpus import build

    return build(shared_data, tmp_path_factory.mktemp("ask"))
