"""library_sync on a local folder: what a first sync stores, what later ones fetch, keep, skip and delete."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from library.integrations.base import IntegrationError, Listing
from library.integrations.local import LocalIntegration
from library.models import FileOrigin, IndexStatus, Library, LibraryFile, StoredContent
from library.services.sync import SyncProgress, library_sync
from tests.library.services.conftest import MTIME, files_of, write


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@pytest.fixture
def three(folder: Path) -> Path:
    """Three files: two at the top (one of them twice, in a folder too) and one two folders down."""
    write(folder / "a.txt", b"alpha")
    write(folder / "b.md", b"# beta\n")
    write(folder / "sub" / "deeper" / "c.txt", b"alpha")
    return folder


def forbid_downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on a download fails the test; the paths asked are recorded."""
    asked: list[str] = []

    def download(self: LocalIntegration, path: str) -> Any:
        asked.append(path)
        raise AssertionError(f"{path} was downloaded")

    monkeypatch.setattr(LocalIntegration, "download", download)
    return asked


def test_a_first_sync_stores_every_file_once_per_content_with_folders_linked(library: Library, three: Path) -> None:
    # when
    result = library_sync(library=library)

    # then
    assert result.as_json() == {
        "added": 3,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": 0,
        "bytes": 17,
        "duration": result.duration,
        "errors": [],
        "success": True,
    }
    assert files_of(library) == {
        "a.txt": (False, 5, sha(b"alpha"), None, IndexStatus.PENDING),
        "b.md": (False, 7, sha(b"# beta\n"), None, IndexStatus.PENDING),
        "sub": (True, 0, "", None, IndexStatus.PENDING),
        "sub/deeper": (True, 0, "", "sub", IndexStatus.PENDING),
        "sub/deeper/c.txt": (False, 5, sha(b"alpha"), "sub/deeper", IndexStatus.PENDING),
    }
    a = LibraryFile.objects.get(library=library, path="a.txt")
    assert (a.filename, a.content_type, a.origin, a.etag) == (
        "a.txt",
        "text/plain",
        FileOrigin.SYNC,
        f"{MTIME * 10**9:x}-5",
    )
    assert a.modified_at == dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    # "alpha" twice is stored once
    assert sorted(StoredContent.objects.values_list("sha256", "size")) == sorted(
        [(sha(b"alpha"), 5), (sha(b"# beta\n"), 7)]
    )
    stored = StoredContent.objects.get(pk=sha(b"alpha"))
    assert stored.storage_name == f"library/{sha(b'alpha')[:2]}/{sha(b'alpha')}"
    with default_storage.open(stored.storage_name, "rb") as handle:
        assert handle.read() == b"alpha"
    library.refresh_from_db()
    assert (library.files, library.size, library.syncing) == (3, 17, False)
    assert library.synced_at is not None and timezone.now() - library.synced_at < dt.timedelta(seconds=10)


def test_a_second_sync_downloads_nothing_unchanged_and_keeps_the_index(
    library: Library, three: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a first sync and a file indexed since
    library_sync(library=library)
    no_downloads = forbid_downloads(monkeypatch)
    LibraryFile.objects.filter(path="a.txt").update(index_status=IndexStatus.INDEXED, chunks=2)
    before = {row.path: row.updated_at for row in LibraryFile.objects.filter(library=library)}

    # when
    result = library_sync(library=library)

    # then
    assert (result.added, result.updated, result.deleted, result.unchanged, result.skipped, result.bytes) == (
        0,
        0,
        0,
        3,
        0,
        0,
    )
    assert result.success is True and no_downloads == []
    assert {row.path: row.updated_at for row in LibraryFile.objects.filter(library=library)} == before
    assert LibraryFile.objects.values_list("index_status", "chunks").get(path="a.txt") == (IndexStatus.INDEXED, 2)


_ORIGINAL_DOWNLOAD = LocalIntegration.download


def test_a_changed_file_is_fetched_again_and_its_old_content_collected(
    library: Library, three: Path, django_capture_on_commit_callbacks: Any
) -> None:
    # given
    library_sync(library=library)
    LibraryFile.objects.filter(path="b.md").update(index_status=IndexStatus.INDEXED, chunks=1)
    write(three / "b.md", b"# beta, second edition\n", mtime=MTIME + 60)

    # when (the collected files are removed once the collection commits)
    with django_capture_on_commit_callbacks(execute=True):
        result = library_sync(library=library)

    # then: re-indexed later (pending), the old bytes gone from the storage
    assert (result.added, result.updated, result.unchanged, result.bytes) == (0, 1, 2, 23)
    row = LibraryFile.objects.get(path="b.md")
    assert (row.size, row.sha256, row.index_status, row.chunks) == (
        23,
        sha(b"# beta, second edition\n"),
        IndexStatus.PENDING,
        0,
    )
    assert row.etag == f"{(MTIME + 60) * 10**9:x}-17"
    assert not StoredContent.objects.filter(pk=sha(b"# beta\n")).exists()
    old = sha(b"# beta\n")
    assert not default_storage.exists(f"library/{old[:2]}/{old}")
    library.refresh_from_db()
    assert (library.files, library.size) == (3, 33)


def test_a_touched_file_with_the_same_bytes_keeps_its_index(library: Library, three: Path) -> None:
    # given
    library_sync(library=library)
    LibraryFile.objects.filter(path="a.txt").update(index_status=IndexStatus.INDEXED, chunks=3)
    write(three / "a.txt", b"alpha", mtime=MTIME + 5)

    # when
    result = library_sync(library=library)

    # then: fetched (its mtime changed) but its sha256 did not, so its index stands
    assert (result.updated, result.unchanged) == (1, 2)
    row = LibraryFile.objects.get(path="a.txt")
    assert (row.sha256, row.index_status, row.chunks) == (sha(b"alpha"), IndexStatus.INDEXED, 3)
    assert row.modified_at == dt.datetime.fromtimestamp(MTIME + 5, tz=dt.UTC)


def test_a_file_gone_from_the_remote_is_deleted_with_its_empty_folders(library: Library, three: Path) -> None:
    # given
    library_sync(library=library)
    (three / "sub" / "deeper" / "c.txt").unlink()
    (three / "sub" / "deeper").rmdir()

    # when
    result = library_sync(library=library)

    # then: "alpha" is still a.txt's content, so it stays stored
    assert (result.deleted, result.unchanged, result.success) == (1, 2, True)
    assert set(files_of(library)) == {"a.txt", "b.md", "sub"}
    assert StoredContent.objects.filter(pk=sha(b"alpha")).exists()
    library.refresh_from_db()
    assert (library.files, library.size) == (2, 12)


def test_a_remote_emptied_is_not_mirrored_without_allow_mass_delete(library: Library, three: Path) -> None:
    # given
    library_sync(library=library)
    before = files_of(library)
    for path in ("a.txt", "b.md", "sub/deeper/c.txt"):
        (three / path).unlink()

    # when
    result = library_sync(library=library)

    # then
    assert result.as_json() == {
        "added": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": 0,
        "bytes": 0,
        "duration": result.duration,
        "errors": [
            {
                "path": "",
                "error": "Refused to delete 3 of the library's 3 files in one sync (more than half): nothing was "
                "deleted. Sync with allowMassDelete to delete them.",
            }
        ],
        "success": False,
    }
    assert files_of(library) == before
    assert StoredContent.objects.count() == 2

    # when asked to
    result = library_sync(library=library, allow_mass_delete=True)

    # then
    assert (result.deleted, result.errors, result.success) == (3, [], True)
    assert set(files_of(library)) == {"sub", "sub/deeper"}  # the folders are still on the remote
    assert StoredContent.objects.count() == 0
    library.refresh_from_db()
    assert (library.files, library.size) == (0, 0)


def test_half_of_the_files_may_go_in_one_sync(library: Library, folder: Path) -> None:
    write(folder / "a.txt", b"a")
    write(folder / "b.txt", b"b")
    library_sync(library=library)
    (folder / "a.txt").unlink()

    result = library_sync(library=library)

    assert (result.deleted, result.success) == (1, True)
    assert set(files_of(library)) == {"b.txt"}


def test_a_failed_listing_changes_nothing(library: Library, three: Path) -> None:
    # given the folder gone (renamed) after a sync
    library_sync(library=library)
    before = files_of(library)
    synced_at = Library.objects.get(pk=library.pk).synced_at
    three.rename(three.parent / "elsewhere")

    # when
    result = library_sync(library=library)

    # then
    assert result.errors == [
        {
            "path": "",
            "error": "The listing failed, so nothing was changed: There is no folder 'docs' under the library root.",
        }
    ]
    assert (result.success, result.deleted) == (False, 0)
    assert files_of(library) == before
    stored = Library.objects.get(pk=library.pk)
    assert (stored.files, stored.synced_at, stored.syncing) == (3, synced_at, False)


def test_a_download_that_fails_half_way_keeps_the_previous_copy(
    library: Library, three: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a synced file changed on the remote, whose download breaks off after its first bytes
    library_sync(library=library)
    before = LibraryFile.objects.values_list("size", "sha256", "etag", "modified_at").get(path="b.md")
    write(three / "b.md", b"# beta, second edition\n", mtime=MTIME + 60)

    @contextmanager
    def breaking(self: LocalIntegration, path: str) -> Iterator[Iterator[bytes]]:
        def chunks() -> Iterator[bytes]:
            yield b"# beta, sec"
            raise IntegrationError("The connection was reset.", permanent=False)

        yield chunks()

    monkeypatch.setattr(LocalIntegration, "download", breaking)

    # when
    result = library_sync(library=library)

    # then
    assert result.errors == [
        {"path": "b.md", "error": "Download failed, the previous copy is kept: The connection was reset."}
    ]
    assert (result.updated, result.unchanged, result.success) == (0, 2, False)
    assert LibraryFile.objects.values_list("size", "sha256", "etag", "modified_at").get(path="b.md") == before
    assert StoredContent.objects.filter(pk=before[1]).exists()
    assert not StoredContent.objects.filter(pk=sha(b"# beta, sec")).exists()

    # when the remote answers again, the next sync fetches it
    monkeypatch.setattr(LocalIntegration, "download", _ORIGINAL_DOWNLOAD)
    result = library_sync(library=library)

    assert (result.updated, result.success) == (1, True)
    assert LibraryFile.objects.get(path="b.md").sha256 == sha(b"# beta, second edition\n")


def test_a_new_file_whose_download_fails_is_not_recorded(
    library: Library, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(folder / "a.txt", b"alpha")

    def failing(self: LocalIntegration, path: str) -> Any:
        raise IntegrationError("Permission denied.")

    monkeypatch.setattr(LocalIntegration, "download", failing)

    result = library_sync(library=library)

    assert result.errors == [{"path": "a.txt", "error": "Download failed, it was not stored: Permission denied."}]
    assert (result.added, result.success) == (0, False)
    assert files_of(library) == {}


def test_a_file_changed_between_listing_and_download_records_what_was_stored(
    library: Library, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a file rewritten right after the listing saw it
    write(folder / "a.txt", b"alpha")
    listing = LocalIntegration.listing

    def listing_then_change(self: LocalIntegration) -> Listing:
        listed = listing(self)
        write(folder / "a.txt", b"alpha, rewritten", mtime=MTIME + 1)
        return listed

    monkeypatch.setattr(LocalIntegration, "listing", listing_then_change)

    # when
    result = library_sync(library=library)

    # then: the sha256 and size are those of the bytes stored; the etag the listing's, so the next sync looks again
    assert (result.added, result.bytes) == (1, 16)
    row = LibraryFile.objects.get(path="a.txt")
    assert (row.size, row.sha256, row.etag) == (16, sha(b"alpha, rewritten"), f"{MTIME * 10**9:x}-5")
    monkeypatch.setattr(LocalIntegration, "listing", listing)
    again = library_sync(library=library)
    assert (again.updated, again.unchanged) == (1, 0)
    row.refresh_from_db()
    assert (row.size, row.sha256, row.etag) == (16, sha(b"alpha, rewritten"), f"{(MTIME + 1) * 10**9:x}-10")


def test_a_file_over_the_limit_is_listed_as_skipped_with_the_reason(
    library: Library, folder: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a limit of 10 bytes
    no_downloads = forbid_downloads(monkeypatch)
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 10
    write(folder / "big.bin", b"x" * 11)

    # when
    result = library_sync(library=library)

    # then: listed, not downloaded
    assert (result.added, result.skipped, result.bytes, result.success) == (0, 1, 0, True)
    row = LibraryFile.objects.get(path="big.bin")
    assert (row.size, row.sha256, row.index_status) == (11, "", IndexStatus.SKIPPED)
    assert row.index_error == (
        "The file is larger than the 10 bytes limit (INFORMER_LIBRARY_MAX_FILE_BYTES); it is listed but not stored."
    )
    assert no_downloads == [] and StoredContent.objects.count() == 0
    library.refresh_from_db()
    assert (library.files, library.size) == (1, 11)

    # when synced again unchanged, it is still skipped and still not downloaded
    again = library_sync(library=library)
    assert (again.skipped, again.unchanged) == (1, 0)


def test_a_skipped_file_is_stored_once_the_limit_allows_it(library: Library, folder: Path, settings: Any) -> None:
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 10
    write(folder / "big.bin", b"x" * 11)
    library_sync(library=library)
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 100

    result = library_sync(library=library)

    assert (result.updated, result.skipped) == (1, 0)
    row = LibraryFile.objects.get(path="big.bin")
    assert (row.sha256, row.index_status, row.index_error) == (sha(b"x" * 11), IndexStatus.PENDING, "")


def test_a_file_that_grew_past_the_limit_during_its_download_is_skipped(
    library: Library, folder: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 10
    write(folder / "a.txt", b"small")
    listing = LocalIntegration.listing

    def listing_then_grow(self: LocalIntegration) -> Listing:
        listed = listing(self)
        write(folder / "a.txt", b"x" * 50)
        return listed

    monkeypatch.setattr(LocalIntegration, "listing", listing_then_grow)

    result = library_sync(library=library)

    assert (result.added, result.skipped) == (0, 1)
    row = LibraryFile.objects.get(path="a.txt")
    assert (row.sha256, row.index_status) == ("", IndexStatus.SKIPPED)
    assert StoredContent.objects.count() == 0


def test_names_that_would_escape_are_reported_not_written(library: Library, folder: Path, tmp_path: Path) -> None:
    # given a link out of the library and a name with a control character
    write(folder / "a.txt", b"alpha")
    (tmp_path / "secret.txt").write_bytes(b"secret")
    (folder / "link.txt").symlink_to(tmp_path / "secret.txt")
    write(folder / "bad\x07name.txt", b"bell")

    # when
    result = library_sync(library=library)

    # then
    assert result.errors == [
        {"path": "bad\x07name.txt", "error": "Refused: it contains the control character U+0007."},
        {"path": "link.txt", "error": "Refused: it is a symbolic link (links are not followed)."},
    ]
    assert (result.added, result.success) == (1, True)
    assert set(files_of(library)) == {"a.txt"}


def test_progress_counts_files_and_bytes(library: Library, three: Path) -> None:
    seen: list[SyncProgress] = []

    library_sync(library=library, progress=seen.append)

    assert seen[0] == SyncProgress(files_done=0, files_total=3, bytes_done=0)
    assert [(p.files_done, p.bytes_done) for p in seen[1:4]] == [(1, 5), (2, 12), (3, 17)]
    assert seen[-1] == SyncProgress(files_done=3, files_total=3, bytes_done=17)


def test_a_file_written_while_the_sync_runs_is_not_deleted(library: Library, three: Path) -> None:
    # given a synced library, then an upload recorded while the next sync is going (after its listing)
    library_sync(library=library)

    def upload_meanwhile(progress: SyncProgress) -> None:
        if progress.files_done == 0:
            LibraryFile.objects.create(library=library, path="uploaded.txt", filename="uploaded.txt", size=3)

    # when
    result = library_sync(library=library, progress=upload_meanwhile)

    # then
    assert (result.deleted, result.unchanged) == (0, 3)
    assert LibraryFile.objects.filter(path="uploaded.txt").exists()


def test_a_jobs_file_the_remote_still_has_is_kept(library: Library, folder: Path) -> None:
    write(folder / "report.pdf", b"%PDF")
    library_sync(library=library)
    LibraryFile.objects.filter(path="report.pdf").update(origin=FileOrigin.JOB)
    write(folder / "other.txt", b"o")

    result = library_sync(library=library)

    assert (result.added, result.unchanged, result.deleted) == (1, 1, 0)
    assert LibraryFile.objects.get(path="report.pdf").origin == FileOrigin.JOB


def test_a_file_that_became_a_folder_and_back(library: Library, folder: Path) -> None:
    # given "x" a file, synced; then "x" a folder holding a file
    write(folder / "x", b"file")
    library_sync(library=library)
    (folder / "x").unlink()
    write(folder / "x" / "inner.txt", b"inner")
    write(folder / "y.txt", b"y")
    write(folder / "z.txt", b"z")

    # when
    result = library_sync(library=library)

    # then
    assert (result.added, result.deleted) == (3, 1)
    assert files_of(library)["x"] == (True, 0, "", None, IndexStatus.PENDING)
    assert files_of(library)["x/inner.txt"][3] == "x"
    assert not StoredContent.objects.filter(pk=sha(b"file")).exists()


def test_files_are_written_in_batches_and_a_row_written_meanwhile_is_left_alone(
    library: Library, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given batches of two files, and an upload recording c.txt while the sync fetches it
    from library.services import sync as sync_services

    monkeypatch.setattr(sync_services, "WRITE_FILES", 2)
    for name in ("a", "b", "c", "d", "e"):
        write(folder / f"{name}.txt", name.encode())
    written: list[int] = []

    def upload_meanwhile(progress: SyncProgress) -> None:
        written.append(LibraryFile.objects.filter(library=library, directory=False).count())
        if progress.files_done == 2:
            LibraryFile.objects.create(library=library, path="c.txt", filename="c.txt", sha256="", size=9)

    # when
    result = library_sync(library=library, progress=upload_meanwhile)

    # then: rows appear two by two; c.txt keeps the upload's row, the others are added
    assert written == [0, 0, 2, 3, 4, 4, 5]
    assert result.errors == [
        {"path": "c.txt", "error": "Not synced: the file was written meanwhile; the next sync takes it."}
    ]
    assert (result.added, result.bytes) == (4, 4)
    assert LibraryFile.objects.values_list("size", "sha256").get(path="c.txt") == (9, "")
    assert sorted(LibraryFile.objects.filter(library=library).values_list("path", flat=True)) == [
        "a.txt",
        "b.txt",
        "c.txt",
        "d.txt",
        "e.txt",
    ]
