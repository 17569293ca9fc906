"""Report files: slugs stay short and distinct for long portfolio names; a batch of writes is
atomic per file and durable before it returns."""

from sigmasight_pipeline.reports.files import MAX_SLUG, portfolio_slug, portfolio_slugs


def test_long_names_get_short_distinct_slugs():
    a, b = "x" * 10_000 + " alpha", "x" * 10_000 + " beta"
    assert len(portfolio_slug(a)) <= MAX_SLUG and len(portfolio_slug(b)) <= MAX_SLUG
    assert portfolio_slug(a) != portfolio_slug(b)
    assert portfolio_slug("Demo Hedge Fund!") == "demo-hedge-fund"
    assert portfolio_slug("日本株") == "portfolio"
    slugs = portfolio_slugs([("11111111-aaaa", "Growth"), ("22222222-bbbb", "growth!")])
    assert len(set(slugs.values())) == 2


def _batch_writes(tmp_path):
    import hashlib

    import pytest

    from sigmasight_pipeline.reports.files import AtomicBatch

    old = tmp_path / "d1" / "a.md"
    old.parent.mkdir()
    old.write_bytes(b"old")
    with pytest.raises(RuntimeError), AtomicBatch() as batch:
        batch.write(old, b"new")
        raise RuntimeError("rendering failed")
    assert old.read_bytes() == b"old" and sorted(p.name for p in old.parent.iterdir()) == ["a.md"]

    with AtomicBatch() as batch:
        written = [batch.write(tmp_path / d / name, data) for d, name, data in
                   [("d1", "a.md", b"new"), ("d1", "b.png", b"\x89PNG"), ("d2", "c.csv", b"x,y\n")]]
        # nothing renamed before the commit: the old content is still what a reader sees
        assert old.read_bytes() == b"old" and not (tmp_path / "d2" / "c.csv").exists()
    assert old.read_bytes() == b"new" and (tmp_path / "d2" / "c.csv").read_bytes() == b"x,y\n"
    assert [(w.path.name, w.bytes, w.sha256) for w in written] == [
        (n, len(b), hashlib.sha256(b).hexdigest())
        for n, b in [("a.md", b"new"), ("b.png", b"\x89PNG"), ("c.csv", b"x,y\n")]]
    assert sorted(p.name for p in (tmp_path / "d1").iterdir()) == ["a.md", "b.png"]  # no temps
    assert (old.stat().st_mode & 0o777) == 0o644


def test_batch_writes_are_atomic_and_synced_with_syncfs(tmp_path, monkeypatch):
    import os

    from sigmasight_pipeline.reports import files

    assert files._syncfs() is not None  # Linux: the batch path under test
    fsyncs = []
    monkeypatch.setattr(os, "fsync", lambda fd: fsyncs.append(fd))
    _batch_writes(tmp_path)
    assert fsyncs == []  # syncfs, no per-file fsync


def test_batch_writes_fsync_every_file_and_directory_without_syncfs(tmp_path, monkeypatch):
    import os

    from sigmasight_pipeline.reports import files

    real, fsyncs = os.fsync, []
    monkeypatch.setattr(files, "_syncfs", lambda: None)
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real(fd)))
    _batch_writes(tmp_path)
    assert len(fsyncs) == 3 + 2  # the three files, then their two directories


def test_a_batch_whose_commit_fails_leaves_no_temporary_files(tmp_path, monkeypatch):
    """A rename refused half-way (a full disk, a permission): the names renamed show the new
    content, the others their old one, and none of the batch's temporary files remain."""
    import os

    import pytest

    from sigmasight_pipeline.reports import files

    for name in ("a.md", "b.md", "c.md"):
        (tmp_path / name).write_bytes(b"old")
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="No space"), files.AtomicBatch() as batch:
        for name in ("a.md", "b.md", "c.md"):
            batch.write(tmp_path / name, b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.md", "b.md", "c.md"]
    assert [(tmp_path / n).read_bytes() for n in ("a.md", "b.md", "c.md")] == [
        b"new", b"old", b"old"]


def test_temporary_names_skip_a_leftover_and_files_get_mode_644(tmp_path, monkeypatch):
    """A temporary file left by a crashed process that had this pid is neither reused nor
    overwritten; the written file is rw-r--r-- whatever the umask."""
    import itertools
    import os
    import stat

    from sigmasight_pipeline.reports import files

    monkeypatch.setattr(files, "_TEMP_NUMBERS", itertools.count(7))
    leftover = tmp_path / f".a.md.{os.getpid()}-7.tmp"
    leftover.write_bytes(b"crashed")
    old = os.umask(0o077)
    try:
        with files.AtomicBatch() as batch:
            written = batch.write(tmp_path / "a.md", b"new" * 50_000)
    finally:
        os.umask(old)
    assert (tmp_path / "a.md").read_bytes() == b"new" * 50_000
    assert written.bytes == 150_000
    assert leftover.read_bytes() == b"crashed"
    assert stat.S_IMODE((tmp_path / "a.md").stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == [leftover.name, "a.md"]
