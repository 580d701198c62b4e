"""library_sync against a real WebDAV server (wsgidav on loopback), with the server misbehaving on purpose."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from library.integrations.base import Listing
from library.integrations.webdav import WebdavIntegration
from library.models import Library, LibraryFile, StoredContent
from library.services.files import file_upload, file_write
from library.services.sync import SyncInProgress, SyncProgress, library_sync
from tests.library.conftest import WebdavServer
from tests.library.factories import library_from_config
from tests.library.services.conftest import MTIME, files_of

pytestmark = pytest.mark.usefixtures("media")


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def put(server: WebdavServer, path: str, content: bytes, mtime: int = MTIME) -> None:
    """Write a file the server serves, with a known mtime (a rewrite within the same second would look unchanged)."""
    target = server.folder / "docs" / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    os.utime(target, (mtime, mtime))


@pytest.fixture
def library(owner: Any, webdav_server: WebdavServer) -> Library:
    """A webdav library over the server's folder ``docs`` holding three files, synced once."""
    put(webdav_server, "a.txt", b"alpha")
    put(webdav_server, "b.txt", b"beta" * 1000)
    put(webdav_server, "sub/c.txt", b"gamma")
    library = library_from_config(webdav_server.config(root="docs"), owner=owner, name="Dav", slug="dav")
    first = library_sync(library=library)
    assert (first.added, first.errors, first.success) == (3, [], True)
    return library


def state(library: Library) -> dict[str, tuple[Any, ...]]:
    return {
        row.path: (row.size, row.sha256, row.etag, row.modified_at, row.updated_at)
        for row in LibraryFile.objects.filter(library=library)
    }


def test_a_first_sync_stores_the_files_and_the_next_one_fetches_none(
    library: Library, webdav_server: WebdavServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given
    assert files_of(library) == {
        "a.txt": (False, 5, sha(b"alpha"), None, "pending"),
        "b.txt": (False, 4000, sha(b"beta" * 1000), None, "pending"),
        "sub": (True, 0, "", None, "pending"),
        "sub/c.txt": (False, 5, sha(b"gamma"), "sub", "pending"),
    }
    assert all(row.etag for row in LibraryFile.objects.filter(library=library, directory=False))
    before = state(library)
    downloads: list[str] = []
    monkeypatch.setattr(WebdavIntegration, "download", lambda self, path: downloads.append(path))

    # when
    result = library_sync(library=library)

    # then
    assert (result.unchanged, result.added, result.updated, result.deleted, result.bytes) == (3, 0, 0, 0, 0)
    assert downloads == [] and state(library) == before


def test_a_changed_and_a_removed_file_on_the_server(library: Library, webdav_server: WebdavServer) -> None:
    put(webdav_server, "a.txt", b"alpha, again", mtime=MTIME + 60)
    os.remove(webdav_server.folder / "docs" / "sub" / "c.txt")

    result = library_sync(library=library)

    assert (result.updated, result.deleted, result.unchanged, result.success) == (1, 1, 1, True)
    assert LibraryFile.objects.get(library=library, path="a.txt").sha256 == sha(b"alpha, again")
    assert not StoredContent.objects.filter(pk=sha(b"gamma")).exists()


@pytest.mark.parametrize(
    ("fault", "value"),
    [
        ("propfind_status", 500),
        ("propfind_status", 507),
        ("propfind_body", b"<?xml version='1.0'?><multistatus xmlns='DAV:'><response><href>/dav/docs/"),
        ("propfind_body", b"<html><body>Welcome</body></html>"),
    ],
)
def test_a_failing_or_malformed_propfind_changes_nothing(
    library: Library, webdav_server: WebdavServer, fault: str, value: Any
) -> None:
    # given the server emptied, then answering PROPFIND badly
    before = state(library)
    for path in ("a.txt", "b.txt", "sub/c.txt"):
        os.remove(webdav_server.folder / "docs" / path)
    setattr(webdav_server.faults, fault, value)

    # when
    result = library_sync(library=library, allow_mass_delete=True)

    # then
    assert (result.success, result.deleted, len(result.errors)) == (False, 0, 1)
    assert result.errors[0]["path"] == ""
    assert result.errors[0]["error"].startswith("The listing failed, so nothing was changed: ")
    assert state(library) == before


def test_a_listing_broken_off_half_way_deletes_nothing(library: Library, webdav_server: WebdavServer) -> None:
    # given a server walked folder by folder that fails once it has answered for the top one
    before = state(library)
    os.remove(webdav_server.folder / "docs" / "a.txt")
    webdav_server.faults.refuse_infinity = True
    webdav_server.faults.after = len(webdav_server.faults.propfinds) + 2
    webdav_server.faults.propfind_status = 500

    result = library_sync(library=library)

    assert (result.success, result.deleted) == (False, 0)
    assert result.errors[0]["error"].startswith("The listing failed, so nothing was changed: ")
    assert state(library) == before


def test_a_server_gone_changes_nothing(library: Library, webdav_server: WebdavServer) -> None:
    before = state(library)
    webdav_server.stop()

    result = library_sync(library=library, allow_mass_delete=True)

    assert (result.success, result.deleted) == (False, 0)
    assert result.errors[0]["error"].startswith("The listing failed, so nothing was changed: ")
    assert state(library) == before
    assert Library.objects.get(pk=library.pk).syncing is False


def test_a_download_dropped_mid_body_keeps_the_previous_copy(library: Library, webdav_server: WebdavServer) -> None:
    # given b.txt changed on the server, whose GET is cut after 100 bytes
    before = state(library)["b.txt"]
    put(webdav_server, "b.txt", b"BETA" * 1000, mtime=MTIME + 60)
    webdav_server.faults.drop_get_after = 100

    # when
    result = library_sync(library=library)

    # then
    assert (result.updated, result.unchanged, result.success) == (0, 2, False)
    assert [error["path"] for error in result.errors] == ["b.txt"]
    assert result.errors[0]["error"].startswith("Download failed, the previous copy is kept: ")
    assert state(library)["b.txt"] == before
    assert StoredContent.objects.filter(pk=before[1]).exists()

    # when the server behaves again
    webdav_server.faults.reset()
    again = library_sync(library=library)

    assert (again.updated, again.success) == (1, True)
    assert LibraryFile.objects.get(library=library, path="b.txt").sha256 == sha(b"BETA" * 1000)


def test_a_file_changed_between_listing_and_download(
    library: Library, webdav_server: WebdavServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a.txt changed, then changed again right after the listing saw it
    put(webdav_server, "a.txt", b"alpha 2", mtime=MTIME + 60)
    listing = WebdavIntegration.listing

    def listing_then_change(self: WebdavIntegration) -> Listing:
        listed = listing(self)
        put(webdav_server, "a.txt", b"alpha 3, longer", mtime=MTIME + 120)
        return listed

    monkeypatch.setattr(WebdavIntegration, "listing", listing_then_change)

    # when
    result = library_sync(library=library)

    # then the sha256 and size recorded are those of what was stored
    assert (result.updated, result.bytes) == (1, 15)
    row = LibraryFile.objects.get(library=library, path="a.txt")
    assert (row.size, row.sha256) == (15, sha(b"alpha 3, longer"))


def test_the_server_emptied_is_a_refused_mass_deletion(library: Library, webdav_server: WebdavServer) -> None:
    before = state(library)
    for path in ("a.txt", "b.txt", "sub/c.txt"):
        os.remove(webdav_server.folder / "docs" / path)

    result = library_sync(library=library)

    assert (result.success, result.deleted) == (False, 0)
    assert result.errors == [
        {
            "path": "",
            "error": "Refused to delete 3 of the library's 3 files in one sync (more than half): nothing was "
            "deleted. Sync with allowMassDelete to delete them.",
        }
    ]
    assert state(library) == before


def test_two_syncs_at_once(library: Library, webdav_server: WebdavServer) -> None:
    put(webdav_server, "d.txt", b"delta")
    refused: list[str] = []

    def second(progress: SyncProgress) -> None:
        if progress.files_done == 0 and not refused:
            with pytest.raises(SyncInProgress) as conflict:
                library_sync(library=library)
            refused.append(conflict.value.message)

    result = library_sync(library=library, progress=second)

    assert refused == ["The library is being synced; try again once that sync has finished."]
    assert (result.added, result.unchanged) == (1, 3)


def test_uploads_and_jobs_files_are_written_through_and_seen_unchanged(
    library: Library, webdav_server: WebdavServer, tmp_path: Path
) -> None:
    # given a file uploaded and a job's file written twice without overwriting
    source = tmp_path / "upload.bin"
    source.write_bytes(b"uploaded bytes")
    with source.open("rb") as handle:
        uploaded = file_upload(
            library=library, directory="in", filename="up.bin", content=handle, size=14, content_type=""
        )
    written = [file_write(library=library, path="out/r.csv", content=b"a,b\n", overwrite=False) for _ in range(2)]

    # then on the server
    assert (webdav_server.folder / "docs" / "in" / "up.bin").read_bytes() == b"uploaded bytes"
    assert [file.path for file in written] == ["out/r.csv", "out/r (1).csv"]
    assert (webdav_server.folder / "docs" / "out" / "r (1).csv").read_bytes() == b"a,b\n"
    assert uploaded.etag != ""

    # when synced, nothing is fetched again
    result = library_sync(library=library)

    assert (result.added, result.updated, result.unchanged, result.deleted) == (0, 0, 6, 0)
