from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from plait.ingest.base import Failure, ImageInput, RawSample
from plait.ingest.folder import FolderReader, parse_sidecar


def test_parse_sidecar_keeps_every_language_tagged():
    caps, langs = parse_sidecar(
        "A frog.\nfr.utf8=Une grenouille.\npt_BR.utf8=Um sapo.\nsr@latin.utf8=Žaba.\n\n"
    )
    assert caps == ["A frog.", "Une grenouille.", "Um sapo.", "Žaba."]
    assert langs == ["en", "fr", "pt_BR", "sr@latin"]


def test_parse_sidecar_plain_caption_has_unknown_language():
    assert parse_sidecar("just a caption\n") == (["just a caption"], [None])


def _img(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4), "red").save(path)


def test_folder_reader_pairs_images_with_sidecars(tmp_path: Path):
    _img(tmp_path / "b" / "cat.png")
    (tmp_path / "b" / "cat.txt").write_text("a cat\nde.utf8=eine Katze\n", encoding="utf-8")
    (tmp_path / "b" / "cat.json").write_text('{"author": "me"}')
    _img(tmp_path / "a.jpg")
    (tmp_path / "notes.md").write_text("ignored")
    items = list(FolderReader(tmp_path, dataset="d", licence="CC0-1.0"))
    assert [i.key for i in items] == ["a.jpg", "b/cat.png"]
    a, cat = items
    assert isinstance(a, RawSample) and a.kind == "image" and len(a.slots) == 1
    assert cat.kind == "pair" and cat.slots[1:] == ["a cat", "eine Katze"]
    assert cat.langs == [None, "en", "de"]
    assert isinstance(cat.slots[0], ImageInput) and cat.slots[0].path.endswith("cat.png")
    assert cat.meta == {"file": "b/cat.png", "author": "me"}
    assert cat.source.licence == "CC0-1.0" and cat.source.dataset == "d"


def test_non_utf8_sidecar_is_decoded_and_its_encoding_recorded(tmp_path: Path):
    _img(tmp_path / "x.png")
    (tmp_path / "x.txt").write_bytes("caf\xe9".encode("latin-1"))
    (item,) = list(FolderReader(tmp_path))
    assert isinstance(item, RawSample) and item.slots[1] == "caf\xe9"
    assert item.meta["caption_encoding"] == "cp1252"


def test_symlink_out_of_the_folder_is_refused(tmp_path: Path):
    outside = tmp_path / "outside"
    _img(outside / "secret.png")
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.png").symlink_to(outside / "secret.png")
    (item,) = list(FolderReader(root))
    assert isinstance(item, Failure) and item.reason == "path_traversal"


def test_a_sidecar_is_read_whole_and_one_over_the_cap_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plait.ingest import folder

    monkeypatch.setattr(folder, "MAX_SIDECAR_BYTES", 64)
    side = tmp_path / "a.txt"
    side.write_bytes(b"x" * 64)  # exactly the cap: read, every byte
    assert folder.open_sidecar(str(side), tmp_path) == b"x" * 64
    side.write_bytes(b"x" * 65)
    got = folder.open_sidecar(str(side), tmp_path)
    assert isinstance(got, Failure) and got.reason == "too_large"


def test_a_fifo_named_like_an_image_or_a_caption_is_refused_not_waited_on(
    tmp_path: Path,
) -> None:
    """Opening a FIFO for reading blocks until a writer comes: the folder reader and the
    image loader open without blocking and refuse anything but a regular file."""
    import os

    from plait.errors import InputError
    from plait.ingest.files import read_regular

    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(tmp_path / "pipe.jpg")
    os.mkfifo(tmp_path / "pipe.txt")
    with pytest.raises(InputError, match="not a regular file") as err:
        read_regular(str(tmp_path / "pipe.jpg"), 1 << 20)
    assert err.value.reason == "not_a_file"
    from plait.ingest import folder

    got = folder.open_sidecar(str(tmp_path / "pipe.txt"), tmp_path)
    assert isinstance(got, Failure) and got.reason == "not_a_file"


@pytest.mark.parametrize("nofollow", [True, False], ids=["O_NOFOLLOW", "no O_NOFOLLOW"])
def test_a_sidecar_symlink_is_followed_only_inside_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nofollow: bool
) -> None:
    """With or without the platform's no-follow open, a caption symlink leading out of
    the folder is refused and one inside it is read."""
    from plait.ingest import folder

    if not nofollow:
        monkeypatch.setattr(folder, "NOFOLLOW", 0)
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.txt").write_text("do not read")
    (root / "real.txt").write_text("a caption")
    (root / "out.txt").symlink_to(outside / "secret.txt")
    (root / "in.txt").symlink_to(root / "real.txt")
    got = folder.open_sidecar(str(root / "out.txt"), root)
    assert isinstance(got, Failure) and got.reason == "path_traversal"
    assert folder.open_sidecar(str(root / "in.txt"), root) == b"a caption"
    assert folder.open_sidecar(str(root / "real.txt"), root) == b"a caption"
    assert folder.open_sidecar(str(root / "out.txt"), None) == b"do not read"  # no root
