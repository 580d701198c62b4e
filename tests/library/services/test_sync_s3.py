"""library_sync against a real S3 server (moto's ThreadedMotoServer on loopback, through boto3 over HTTP)."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import Any

import pytest

from library.integrations import s3 as s3_module
from library.integrations.base import IntegrationError, Listing
from library.integrations.s3 import S3Integration
from library.models import Library, LibraryFile, StoredContent
from library.services.files import file_delete, file_upload
from library.services.sync import library_sync
from tests.library.conftest import S3Server
from tests.library.factories import library_from_config
from tests.library.services.conftest import files_of

pytestmark = pytest.mark.usefixtures("media")


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def put(server: S3Server, key: str, content: bytes) -> None:
    server.client().put_object(Bucket=server.bucket, Key=f"docs/{key}", Body=content)


@pytest.fixture
def library(owner: Any, s3_server: S3Server) -> Library:
    """An s3 library on the prefix ``docs/`` holding three objects, synced once."""
    put(s3_server, "a.txt", b"alpha")
    put(s3_server, "b.txt", b"beta")
    put(s3_server, "sub/c.txt", b"gamma")
    library = library_from_config(s3_server.config(prefix="docs/"), owner=owner, name="Bucket", slug="bucket")
    first = library_sync(library=library)
    assert (first.added, first.errors, first.success) == (3, [], True)
    return library


def state(library: Library) -> dict[str, tuple[Any, ...]]:
    return {
        row.path: (row.size, row.sha256, row.etag, row.modified_at, row.updated_at)
        for row in LibraryFile.objects.filter(library=library)
    }


def test_a_first_sync_stores_the_objects_and_the_next_one_fetches_none(
    library: Library, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert files_of(library) == {
        "a.txt": (False, 5, sha(b"alpha"), None, "pending"),
        "b.txt": (False, 4, sha(b"beta"), None, "pending"),
        "sub": (True, 0, "", None, "pending"),
        "sub/c.txt": (False, 5, sha(b"gamma"), "sub", "pending"),
    }
    assert LibraryFile.objects.get(library=library, path="a.txt").etag == hashlib.md5(b"alpha").hexdigest()
    before = state(library)
    downloads: list[str] = []
    monkeypatch.setattr(S3Integration, "download", lambda self, path: downloads.append(path))

    result = library_sync(library=library)

    assert (result.unchanged, result.added, result.updated, result.deleted, result.bytes) == (3, 0, 0, 0, 0)
    assert downloads == [] and state(library) == before


def test_a_changed_and_a_removed_object(library: Library, s3_server: S3Server) -> None:
    put(s3_server, "a.txt", b"alpha, again")
    s3_server.client().delete_object(Bucket=s3_server.bucket, Key="docs/sub/c.txt")

    result = library_sync(library=library)

    assert (result.updated, result.deleted, result.unchanged, result.success) == (1, 1, 1, True)
    assert LibraryFile.objects.get(library=library, path="a.txt").sha256 == sha(b"alpha, again")
    assert set(files_of(library)) == {"a.txt", "b.txt"}  # "sub" held only c.txt, a key prefix and nothing more


def test_a_listing_whose_second_page_fails_deletes_nothing(
    library: Library, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given pages of two keys, the second answering 500, and a key gone meanwhile
    before = state(library)
    s3_server.client().delete_object(Bucket=s3_server.bucket, Key="docs/a.txt")
    monkeypatch.setattr(s3_module, "PAGE_SIZE", 1)
    s3_server.fail_listing_after(1)

    # when
    result = library_sync(library=library, allow_mass_delete=True)

    # then
    assert (result.success, result.deleted, len(result.errors)) == (False, 0, 1)
    assert result.errors[0]["error"].startswith("The listing failed, so nothing was changed: ")
    assert state(library) == before


def test_wrong_credentials_change_nothing(library: Library, s3_server: S3Server) -> None:
    before = state(library)
    s3_server.require_credentials()  # the library still holds the old keys, which the server now refuses

    result = library_sync(library=library, allow_mass_delete=True)

    assert (result.success, result.deleted) == (False, 0)
    assert result.errors[0]["error"].startswith("The listing failed, so nothing was changed: ")
    assert state(library) == before


def test_a_download_failing_mid_stream_keeps_the_previous_copy(
    library: Library, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = state(library)["b.txt"]
    put(s3_server, "b.txt", b"beta, second")
    chunks = S3Integration._chunks

    def breaking(self: S3Integration, body: Any, path: str) -> Iterator[bytes]:
        yield next(iter(chunks(self, body, path)))[:3]
        raise IntegrationError(f"Downloading {path!r} failed: the connection was reset", permanent=False)

    monkeypatch.setattr(S3Integration, "_chunks", breaking)

    result = library_sync(library=library)

    assert result.errors == [
        {
            "path": "b.txt",
            "error": "Download failed, the previous copy is kept: Downloading 'b.txt' failed: the connection was reset",
        }
    ]
    assert (result.updated, result.success) == (0, False)
    assert state(library)["b.txt"] == before
    assert StoredContent.objects.filter(pk=before[1]).exists()


def test_an_object_changed_between_listing_and_download(
    library: Library, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    put(s3_server, "a.txt", b"alpha 2")
    listing = S3Integration.listing

    def listing_then_change(self: S3Integration) -> Listing:
        listed = listing(self)
        put(s3_server, "a.txt", b"alpha 3, longer")
        return listed

    monkeypatch.setattr(S3Integration, "listing", listing_then_change)

    result = library_sync(library=library)

    assert (result.updated, result.bytes) == (1, 15)
    row = LibraryFile.objects.get(library=library, path="a.txt")
    assert (row.size, row.sha256, row.etag) == (15, sha(b"alpha 3, longer"), hashlib.md5(b"alpha 2").hexdigest())


def test_the_bucket_emptied_is_a_refused_mass_deletion(library: Library, s3_server: S3Server) -> None:
    before = state(library)
    for key in ("a.txt", "b.txt", "sub/c.txt"):
        s3_server.client().delete_object(Bucket=s3_server.bucket, Key=f"docs/{key}")

    result = library_sync(library=library)

    assert (result.success, result.deleted) == (False, 0)
    assert result.errors[0]["error"].startswith("Refused to delete 3 of the library's 3 files in one sync")
    assert state(library) == before


def test_a_multipart_upload_is_recorded_with_its_etag_and_seen_unchanged(library: Library, s3_server: S3Server) -> None:
    # given a file large enough to go up in parts (their ETag is no MD5 of the bytes)
    content = b"x" * (17 * 1024 * 1024)

    file = file_upload(
        library=library, directory="big", filename="blob.bin", content=io.BytesIO(content), size=len(content)
    )

    # then
    head = s3_server.client().head_object(Bucket=s3_server.bucket, Key="docs/big/blob.bin")
    assert head["ContentLength"] == len(content)
    assert file.etag == head["ETag"].strip('"') and file.etag.endswith("-2")
    assert file.sha256 == sha(content)

    # when synced
    result = library_sync(library=library)

    assert (result.added, result.updated, result.unchanged) == (0, 0, 4)

    # when deleted
    file_delete(file=file)

    listed = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix="docs/big/")
    assert listed.get("KeyCount") == 0
    assert not LibraryFile.objects.filter(pk=file.pk).exists()
