"""WebDataset shards as img2dataset writes them, and hostile shards."""

from __future__ import annotations

import gc
import gzip
import io
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from plait.ingest.base import Failure, RawSample
from plait.ingest.webdataset import WebDatasetReader, expand_braces, split_key

from ...builders import flickr_pairs, image_bytes, tar_add, write_img2dataset_shards


def _split(items) -> tuple[list[RawSample], list[Failure]]:
    items = list(items)
    return [i for i in items if isinstance(i, RawSample)], [
        i for i in items if isinstance(i, Failure)
    ]


# -- names and patterns ------------------------------------------------------------------------
def test_brace_patterns_expand_ranges_with_padding_and_lists():
    assert list(expand_braces("s/{00000..00002}.tar")) == [
        "s/00000.tar",
        "s/00001.tar",
        "s/00002.tar",
    ]
    assert list(expand_braces("{a,b}-{8..10}")) == ["a-8", "a-9", "a-10", "b-8", "b-9", "b-10"]
    assert list(expand_braces("plain.tar")) == ["plain.tar"]


def test_keys_follow_the_webdataset_first_dot_rule():
    assert split_key("000010002.jpg") == ("000010002", "jpg")
    assert split_key("dir.v2/abc.seg.json") == ("dir.v2/abc", "seg.json")
    assert split_key(".DS_Store") is None and split_key("README") is None


# -- real shards -------------------------------------------------------------------------------
def test_img2dataset_shards_become_one_pair_per_key(shared_data: Path, tmp_path: Path):
    pairs = flickr_pairs(shared_data, 25)
    write_img2dataset_shards(tmp_path / "shards", pairs, per_shard=10)
    reader = WebDatasetReader(
        str(tmp_path / "shards" / "{00000..00002}.tar"), licence="research-only"
    )

    assert reader.dataset == "shards"
    assert reader.estimate() == 25  # from the _stats.json files
    samples, failures = _split(reader)
    assert failures == []
    assert len(samples) == 25
    assert [s.key for s in samples[:2]] == ["00000/000000000", "00000/000000001"]
    assert samples[-1].key == "00002/000020004"
    first = samples[0]
    image, caption = first.slots
    assert first.kind == "pair" and caption == pairs[0][1]
    assert image.data == pairs[0][0].read_bytes()
    assert image.location == f"{tmp_path / 'shards' / '00000.tar'}#000000000.jpg"
    assert first.source.url == f"https://example.org/flickr/{pairs[0][0].name}"
    assert first.source.licence == "research-only" and first.source.dataset == "shards"
    assert first.meta["status"] == "success" and first.meta["key"] == "000000000"

    by_glob = [
        s.key
        for s in WebDatasetReader(str(tmp_path / "shards" / "*.tar"))
        if isinstance(s, RawSample)
    ]
    by_dir = [s.key for s in WebDatasetReader(tmp_path / "shards") if isinstance(s, RawSample)]
    assert by_glob == by_dir == [s.key for s in samples]


def test_a_missing_shard_in_a_range_is_a_failure_not_an_error(tmp_path: Path):
    with tarfile.open(tmp_path / "00000.tar", "w") as tar:
        tar_add(tar, "a.jpg", image_bytes())
    samples, failures = _split(WebDatasetReader(str(tmp_path / "{00000..00001}.tar")))
    assert [s.key for s in samples] == ["00000/a"] and samples[0].kind == "image"
    assert [(f.reason, Path(f.location).name) for f in failures] == [("missing_file", "00001.tar")]


# -- hostile shards ----------------------------------------------------------------------------
def test_hostile_members_are_failures_and_good_keys_survive(tmp_path: Path):
    shard = tmp_path / "evil.tar"
    with tarfile.open(shard, "w") as tar:
        tar_add(tar, "good.jpg", image_bytes())
        tar_add(tar, "good.txt", b"a blue square")
        tar_add(tar, "../escape.jpg", image_bytes("red"))
        tar_add(tar, "/etc/passwd.txt", b"root:x:0:0")
        link = tarfile.TarInfo("link.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/shadow"
        tar.addfile(link)
        dev = tarfile.TarInfo("dev.jpg")
        dev.type = tarfile.CHRTYPE
        tar.addfile(dev)
        tar_add(tar, "latin.jpg", image_bytes("green"))
        tar_add(tar, "latin.txt", "caf\xe9 cr\xe8me".encode("latin-1"))
        tar_add(tar, "textonly.txt", b"only words here")
        tar_add(tar, "textonly.json", b'{"url": "https://example.org/t"}')
        tar_add(tar, "metaonly.json", b"{}")
        tar_add(tar, "badjson.jpg", image_bytes())
        tar_add(tar, "badjson.json", b"{not json")
        tar_add(tar, "corrupt.jpg", b"\xff\xd8\xff\xe0 this is not really a jpeg")
        tar_add(tar, "good.cls", b"3")  # the same key again, later: a duplicate

    samples, failures = _split(WebDatasetReader(shard, max_member_bytes=1_000_000))
    assert {s.key: s.kind for s in samples} == {
        "evil/good": "pair",
        "evil/textonly": "text",
        "evil/corrupt": "image",  # its bytes are checked by the ingest loop, not here
        "evil/latin": "pair",  # a Latin-1 caption is decoded; meta records the encoding
    }
    latin = next(s for s in samples if s.key == "evil/latin")
    assert latin.slots[1] == "caf\xe9 cr\xe8me" and latin.meta["caption_encoding"] == "cp1252"
    text = next(s for s in samples if s.key == "evil/textonly")
    assert text.slots == ["only words here"] and text.source.url == "https://example.org/t"
    got = {(f.reason, f.location.split("#", 1)[1]) for f in failures}
    assert got == {
        ("path_traversal", "../escape.jpg"),
        ("path_traversal", "/etc/passwd.txt"),
        ("unsupported_member", "link.jpg"),
        ("unsupported_member", "dev.jpg"),
        ("empty_sample", "metaonly"),
        ("bad_sidecar", "badjson.json"),
        ("duplicate_key", "good"),
    }
    assert all(f.location.startswith(str(shard) + "#") for f in failures)


def test_the_direct_scan_reads_what_tarfile_reads(tmp_path: Path):
    """Plain headers take a short path; pax, GNU and odd headers fall back to tarfile.

    The same members read from an uncompressed shard (direct scan with
    fallbacks) and from its gzip copy (tarfile's stream mode only) must give
    identical samples and failures.
    """
    long_key = "k" * 120  # longer than ustar's 100-byte name field
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        tar_add(tar, "a.jpg", image_bytes())
        tar_add(tar, "a.txt", b"plain header")
        tar_add(tar, f"{long_key}.jpg", image_bytes("red"))  # GNU long name header in the middle
        tar_add(tar, f"{long_key}.txt", b"long name")
        tar_add(tar, "b.jpg", image_bytes("green"))  # plain again after the fallback
        link = tarfile.TarInfo("c.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "a.jpg"
        tar.addfile(link)
    raw.seek(0)
    with tarfile.open(fileobj=raw, mode="a", format=tarfile.PAX_FORMAT) as tar:
        tar_add(tar, "caf\xe9.jpg", image_bytes("white"))  # non-ASCII name
        tar_add(tar, "caf\xe9.txt", "caf\xe9 cr\xe8me".encode())
    plain = tmp_path / "plain" / "s.tar"
    gz = tmp_path / "gz" / "s.tar.gz"
    plain.parent.mkdir()
    gz.parent.mkdir()
    plain.write_bytes(raw.getvalue())
    gz.write_bytes(gzip.compress(raw.getvalue()))

    def read(shard: Path):
        samples, failures = _split(WebDatasetReader(shard))

        def slot(x):
            if isinstance(x, str):
                return x
            return x.location.replace(str(shard), "S"), x.data

        rel = [(f.reason, f.location.replace(str(shard), "S")) for f in failures]
        return [(s.key, s.kind, [slot(x) for x in s.slots]) for s in samples], rel, samples

    got, got_failures, samples = read(plain)
    want, want_failures, _ = read(gz)
    assert got == want and got_failures == want_failures
    assert [s.key for s in samples] == ["s/a", f"s/{long_key}", "s/b", "s/caf\xe9"]
    assert got_failures == [("unsupported_member", "S#c.jpg")]


def test_an_oversized_member_quarantines_its_key_without_being_read(tmp_path: Path):
    shard = tmp_path / "big.tar"
    with tarfile.open(shard, "w") as tar:
        tar_add(tar, "huge.jpg", b"\0" * 5000)
        tar_add(tar, "huge.txt", b"caption of a huge image")
        tar_add(tar, "ok.jpg", image_bytes())
    samples, failures = _split(WebDatasetReader(shard, max_member_bytes=4096))
    assert [s.key for s in samples] == ["big/ok"]  # no text-only leftover of "huge"
    assert [(f.reason, f.location.split("#")[1]) for f in failures] == [("too_large", "huge.jpg")]


def _three_keys() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for i in range(3):
            tar_add(tar, f"k{i}.jpg", image_bytes(size=96) + bytes(3000))
            tar_add(tar, f"k{i}.txt", f"caption {i}".encode())
    return buf.getvalue()


def test_a_truncated_shard_keeps_every_key_read_before_the_cut(tmp_path: Path):
    raw = _three_keys()
    shard = tmp_path / "cut.tar"
    k2 = raw.index(b"k2.jpg")  # header of the third key's image
    shard.write_bytes(raw[: k2 + 512 + 100])  # cut inside k2.jpg's data

    samples, failures = _split(WebDatasetReader(shard))
    assert [s.key for s in samples] == ["cut/k0", "cut/k1"]
    assert [(f.reason, f.location) for f in failures] == [("truncated_archive", f"{shard}#k2.jpg")]


def test_a_cut_between_members_keeps_the_key_in_hand(tmp_path: Path):
    raw = _three_keys()
    shard = tmp_path / "cut.tar"
    shard.write_bytes(raw[: raw.index(b"k2.jpg") + 100])  # cut inside k2.jpg's header
    samples, failures = _split(WebDatasetReader(shard))
    assert [s.key for s in samples] == ["cut/k0", "cut/k1"]
    assert [(f.reason, f.location) for f in failures] == [("truncated_archive", f"{shard}#k1.txt")]


def test_truncated_gzip_shards_and_non_archives_are_failures(tmp_path: Path):
    gz = io.BytesIO()
    with tarfile.open(fileobj=gz, mode="w:gz") as tar:
        for i in range(4):
            tar_add(tar, f"k{i}.jpg", image_bytes(size=64))
    (tmp_path / "a.tar.gz").write_bytes(gz.getvalue()[: len(gz.getvalue()) * 2 // 3])
    (tmp_path / "b.tar").write_bytes(b"this is not an archive at all " * 40)
    (tmp_path / "c.tar").write_bytes(b"")

    samples, failures = _split(WebDatasetReader(tmp_path))
    assert all(s.key.startswith("a/") for s in samples) and len(samples) < 4
    reasons = {Path(f.location.split("#")[0]).name: f.reason for f in failures}
    assert reasons == {
        "a.tar.gz": "truncated_archive",
        "b.tar": "not_an_archive",
        "c.tar": "empty_file",
    }


def _peak_while_reading(shard: Path) -> int:
    gc.collect()
    tracemalloc.start()
    n = sum(1 for _ in WebDatasetReader(shard))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n > 0
    return peak


@pytest.mark.parametrize("small,large", [(150, 1500)])
def test_memory_stays_flat_as_the_shard_grows(tmp_path: Path, small: int, large: int):
    jpeg = image_bytes()
    for n in (small, large):
        with tarfile.open(tmp_path / f"s{n}.tar", "w") as tar:
            for i in range(n):
                tar_add(tar, f"{i:06d}.jpg", jpeg)
                tar_add(tar, f"{i:06d}.txt", b"caption")
                tar_add(tar, f"{i:06d}.json", b'{"status": "success"}')
    small_peak = _peak_while_reading(tmp_path / f"s{small}.tar")
    large_peak = _peak_while_reading(tmp_path / f"s{large}.tar")
    # ten times the input; the per-shard key set is the only thing that grows
    assert large_peak < 2 * small_peak + 512 * 1024
