"""The cache folder: where it is, and files written whole or not at all."""

from __future__ import annotations

from sklearn_fkd.utils.cache import cache_dir, read_cached, write_cached


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SKLEARN_FKD_CACHE", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("SKLEARN_FKD_CACHE", "")
    assert cache_dir() is None  # keep nothing
    monkeypatch.delenv("SKLEARN_FKD_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "sklearn-fkd"


def test_cached_files_are_written_whole_and_read_within_a_size(tmp_path):
    path = tmp_path / "deep" / "file.bin"
    write_cached(path, b"abc" * 100)
    assert read_cached(path, max_bytes=300) == b"abc" * 100
    assert read_cached(path, max_bytes=299) is None  # too large to trust
    assert read_cached(tmp_path / "missing.bin", max_bytes=300) is None
    assert read_cached(None, max_bytes=300) is None
    assert list(path.parent.iterdir()) == [path]  # no partial file left beside it
    write_cached(None, b"nothing")  # no folder: nothing kept, no error
    blocked = tmp_path / "a-file"
    blocked.write_bytes(b"")
    write_cached(blocked / "inside.bin", b"x")  # cannot make the folder: ignored
    assert blocked.read_bytes() == b""
