"""One cache folder for everything plait can make again."""

from __future__ import annotations

from pathlib import Path

from plait.cache import cache_dir


def test_the_cache_folder_follows_the_environment(tmp_path: Path, monkeypatch):
    for var in ("PLAIT_CACHE", "PLAIT_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "plait"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir("objects") == tmp_path / "xdg" / "plait" / "objects"
    monkeypatch.setenv("PLAIT_CACHE_DIR", str(tmp_path / "old"))  # the earlier spelling
    assert cache_dir() == tmp_path / "old"
    monkeypatch.setenv("PLAIT_CACHE", str(tmp_path / "mine"))
    assert cache_dir("whisper-base") == tmp_path / "mine" / "whisper-base"
