"""Local folders: validation under the library root, listing, streamed download, write-through, delete."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from library.integrations.base import IntegrationConfig, IntegrationError, ListingFailed, RefusedName, RemoteEntry
from library.integrations.local import LocalIntegration


def local(path: str = "docs") -> LocalIntegration:
    return LocalIntegration(IntegrationConfig(type="local", settings={"path": path}))


def write(path: Path, content: bytes, mtime: int = 1_700_000_000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, ns=(mtime * 10**9, mtime * 10**9))


@pytest.fixture
def docs(local_library_root: Path) -> Path:
    folder = local_library_root / "docs"
    write(folder / "a.txt", b"hello")
    write(folder / "sub" / "deeper" / "b.md", b"# title\n", mtime=1_700_000_100)
    os.utime(folder / "sub" / "deeper", ns=(1_700_000_200 * 10**9,) * 2)
    os.utime(folder / "sub", ns=(1_700_000_300 * 10**9,) * 2)
    return folder


def test_listing_shows_nested_folders_with_sizes_mtimes_and_etags(docs: Path) -> None:
    listing = local().listing()

    assert listing.entries == [
        RemoteEntry(
            "a.txt", 5, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), "17979cfe362a0000-5", False, "text/plain"
        ),
        RemoteEntry("sub", 0, datetime(2023, 11, 14, 22, 18, 20, tzinfo=UTC), "", True),
        RemoteEntry("sub/deeper", 0, datetime(2023, 11, 14, 22, 16, 40, tzinfo=UTC), "", True),
        RemoteEntry(
            "sub/deeper/b.md",
            8,
            datetime(2023, 11, 14, 22, 15, tzinfo=UTC),
            "17979d157ea0e800-8",
            False,
            "text/markdown",
        ),
    ]
    assert listing.refused == []


def test_links_special_files_and_unsafe_names_are_refused(docs: Path, tmp_path: Path) -> None:
    # given a link out of the root, a link inside it, a FIFO and names no other system would take
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (docs / "out.txt").symlink_to(tmp_path / "secret.txt")
    (docs / "in.txt").symlink_to(docs / "a.txt")
    os.mkfifo(docs / "pipe")
    write(docs / "back\\slash.txt", b"x")
    write(docs / "line\nbreak.txt", b"x")
    write(docs / "sub" / "tab\there", b"x")
    write(docs / ".informer-upload-x1y2z3", b"half an upload")
    (docs / "latin1-\xe9.txt".encode("latin-1").decode("utf-8", "surrogateescape")).write_bytes(b"x")

    # when
    listing = local().listing()

    # then
    assert [entry.path for entry in listing.entries] == ["a.txt", "sub", "sub/deeper", "sub/deeper/b.md"]
    assert listing.refused == [
        RefusedName("back\\slash.txt", "it contains a backslash"),
        RefusedName("in.txt", "it is a symbolic link (links are not followed)"),
        RefusedName("latin1-\udce9.txt", "it is not valid UTF-8"),
        RefusedName("line\nbreak.txt", "it contains the control character U+000A"),
        RefusedName("out.txt", "it is a symbolic link (links are not followed)"),
        RefusedName("pipe", "it is not a regular file"),
        RefusedName("sub/tab\there", "it contains the control character U+0009"),
    ]


def test_download_streams_in_chunks_of_64_kib(docs: Path) -> None:
    write(docs / "big.bin", bytes(range(256)) * 1024)  # 256 KiB + nothing

    with local().download("big.bin") as chunks:
        sizes = [len(chunk) for chunk in chunks]

    assert sizes == [65536, 65536, 65536, 65536]
    with local().download("sub/deeper/b.md") as chunks:
        assert b"".join(chunks) == b"# title\n"


@pytest.mark.parametrize("path", ["../docs/a.txt", "/etc/passwd", "a\\b", "sub/../../x"])
def test_download_refuses_escaping_paths(docs: Path, path: str) -> None:
    with pytest.raises(IntegrationError, match=r"^Refusing path"), local().download(path):
        pass


def test_download_of_a_missing_file_or_through_a_link_is_an_error(docs: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "x.txt").write_bytes(b"secret")
    (docs / "link").symlink_to(tmp_path / "outside")

    with pytest.raises(IntegrationError) as missing, local().download("nope.txt"):
        pass
    with pytest.raises(IntegrationError) as linked, local().download("link/x.txt"):
        pass

    assert missing.value.message == "There is no file 'nope.txt' in the folder."
    assert linked.value.message == "Refusing path 'link/x.txt': it goes through a symbolic link."


def test_upload_creates_folders_and_the_next_listing_shows_the_same_entry(docs: Path) -> None:
    integration = local()

    entry = integration.upload("new/inner/c.csv", io.BytesIO(b"a,b\n1,2\n"), size=8, content_type="text/csv")

    assert (docs / "new" / "inner" / "c.csv").read_bytes() == b"a,b\n1,2\n"
    listed = {e.path: e for e in integration.listing().entries}
    assert listed["new/inner/c.csv"] == entry
    assert (entry.size, entry.directory, entry.content_type) == (8, False, "text/csv")
    assert listed["new"].directory and listed["new/inner"].directory
    assert sorted(p.name for p in (docs / "new" / "inner").iterdir()) == ["c.csv"]  # no temporary left behind
    assert (docs / "new" / "inner" / "c.csv").stat().st_mode & 0o777 == 0o644


def test_upload_replaces_and_changes_the_etag(docs: Path) -> None:
    integration = local()
    before = next(e for e in integration.listing().entries if e.path == "a.txt")

    entry = integration.upload("a.txt", io.BytesIO(b"changed!"), size=8)

    assert (docs / "a.txt").read_bytes() == b"changed!"
    assert entry.etag != before.etag
    assert entry.size == 8


def test_upload_refuses_escaping_paths_and_links(docs: Path, tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (docs / "link").symlink_to(tmp_path / "outside")

    for path in ("../x.txt", "/tmp/x.txt", "a\x00b", "link/x.txt"):
        with pytest.raises(IntegrationError, match=r"^Refusing path"):
            local().upload(path, io.BytesIO(b"x"), size=1)

    assert list((tmp_path / "outside").iterdir()) == []
    assert not (tmp_path / "library-root" / "x.txt").exists()


def test_delete_removes_files_and_folders_and_a_missing_one_is_fine(docs: Path) -> None:
    integration = local()

    integration.delete("a.txt")
    integration.delete("a.txt")
    integration.delete("sub")

    assert list(docs.iterdir()) == []


def test_delete_refuses_escaping_paths(docs: Path, local_library_root: Path) -> None:
    write(local_library_root / "other" / "keep.txt", b"keep")

    with pytest.raises(IntegrationError, match=r"^Refusing path"):
        local().delete("../other/keep.txt")

    assert (local_library_root / "other" / "keep.txt").read_bytes() == b"keep"


def test_test_opens_the_folder(docs: Path) -> None:
    result = local().test()

    assert (result.success, result.message) == (True, "Opened folder 'docs': 2 entries at its top.")
    assert result.latency is not None and result.latency >= 0


def test_test_of_a_missing_folder_is_a_failure_not_an_exception(local_library_root: Path) -> None:
    result = local("missing").test()

    assert (result.success, result.message, result.latency) == (
        False,
        "There is no folder 'missing' under the library root.",
        None,
    )


def test_listing_a_missing_folder_fails_the_listing(local_library_root: Path) -> None:
    with pytest.raises(ListingFailed, match=r"^There is no folder 'missing' under the library root\.$"):
        local("missing").listing()


def test_listing_a_folder_that_cannot_be_read_fails_the_listing(docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a folder deep inside that refuses to be read (a mode root would ignore, so simulated)
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path).name == "deeper":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)

    # when / then: not a listing without that folder's files, no listing at all
    with pytest.raises(ListingFailed, match=r"^Could not read the folder: Permission denied\.$") as caught:
        local().listing()
    assert caught.value.permanent is False


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "Give the folder's path relative to the library root."),
        ("  ", "Give the folder's path relative to the library root."),
        (
            "/srv/docs",
            "Refusing folder '/srv/docs': absolute paths are not allowed; give a path relative to the library root.",
        ),
        (
            "C:\\docs",
            "Refusing folder 'C:\\\\docs': absolute paths are not allowed; give a path relative to the library root.",
        ),
        ("../elsewhere", "Refusing folder '../elsewhere': '..' is not allowed in it."),
        ("docs\\..\\..", "Refusing folder 'docs\\\\..\\\\..': '..' is not allowed in it."),
        ("a\x00b", "The folder path contains a NUL character."),
        ("escape", "Refusing folder 'escape': it leads outside the library root (through a symlink)."),
    ],
)
def test_validate_refuses_folders_outside_the_root(
    local_library_root: Path, tmp_path: Path, path: str, message: str
) -> None:
    (local_library_root / "escape").symlink_to(tmp_path)

    with pytest.raises(IntegrationError) as caught:
        local(path).validate()

    assert (caught.value.message, caught.value.field) == (message, "settings.path")


def test_validate_accepts_a_folder_under_the_root_even_before_it_exists(local_library_root: Path) -> None:
    (local_library_root / "inside").symlink_to(local_library_root / "docs")

    local("docs/2024").validate()
    local("inside").validate()
