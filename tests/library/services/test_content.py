"""Stored contents: streamed with their sha256, stored once, opened, collected when nothing references them."""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from informer.api.exceptions import NotFound
from library.content import ContentTooLarge, content_open, content_store, contents_collect
from library.models import LibraryFile, StoredContent
from tests.library.factories import LibraryFactory


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def spool_files() -> set[str]:
    return {path.name for path in Path(tempfile.gettempdir()).glob("library-*")}


def test_a_content_is_stored_under_its_sha256_once(media: Path, db: Any) -> None:
    # when the same bytes arrive twice, as chunks and as a file
    first = content_store(iter([b"hello ", b"world"]))
    second = content_store(io.BytesIO(b"hello world"))

    # then
    digest = sha(b"hello world")
    assert (first.sha256, first.size, first.storage_name) == (digest, 11, f"library/{digest[:2]}/{digest}")
    assert second.pk == first.pk and StoredContent.objects.count() == 1
    assert [path.name for path in (media / "library" / digest[:2]).iterdir()] == [digest]
    with content_open(digest) as handle:
        assert handle.read() == b"hello world"


def test_a_content_over_max_bytes_is_not_stored(media: Path, db: Any) -> None:
    before = spool_files()

    with pytest.raises(ContentTooLarge) as refused:
        content_store(iter([b"12345", b"678"]), max_bytes=7)

    assert str(refused.value) == "The file is larger than 7 bytes."
    assert StoredContent.objects.count() == 0 and not (media / "library").exists()
    assert spool_files() == before  # the temporary file went too


def test_a_stream_that_fails_half_way_stores_nothing(media: Path, db: Any) -> None:
    def broken() -> Iterator[bytes]:
        yield b"half"
        raise ConnectionResetError("gone")

    with pytest.raises(ConnectionResetError):
        content_store(broken())

    assert StoredContent.objects.count() == 0 and not (media / "library").exists()


def test_an_unknown_content_is_not_found(db: Any) -> None:
    with pytest.raises(NotFound) as missing:
        content_open("0" * 64)

    assert missing.value.message == "The file's content is not stored."


def test_collecting_deletes_only_unreferenced_contents(
    media: Path, db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # given one content a file references and two nobody does
    kept = content_store(iter([b"kept"]))
    loose = content_store(iter([b"loose"]))
    other = content_store(iter([b"other"]))
    LibraryFile.objects.create(library=LibraryFactory(), path="k.txt", filename="k.txt", sha256=kept.sha256)

    # when only "loose" is a candidate
    with django_capture_on_commit_callbacks(execute=True):
        assert contents_collect(candidates=[loose.sha256, kept.sha256, ""]) == 1

    # then
    assert set(StoredContent.objects.values_list("sha256", flat=True)) == {kept.sha256, other.sha256}
    assert not default_storage.exists(loose.storage_name) and default_storage.exists(kept.storage_name)

    # when every content is considered
    with django_capture_on_commit_callbacks(execute=True):
        assert contents_collect() == 1

    assert list(StoredContent.objects.values_list("sha256", flat=True)) == [kept.sha256]
    assert not default_storage.exists(other.storage_name)
    assert contents_collect() == 0


def test_bytes_stored_again_after_a_collection_get_a_row_again(
    media: Path, db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    content_store(iter([b"again"]))
    with django_capture_on_commit_callbacks(execute=True):
        contents_collect()

    stored = content_store(iter([b"again"]))

    assert default_storage.exists(stored.storage_name)
    with content_open(stored.sha256) as handle:
        assert handle.read() == b"again"
