"""File services on a local library: uploads and jobs' files written through, numbered names, delete, open."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import default_storage

from informer.api.exceptions import Conflict, DomainError, NotFound, api_exception_handler
from library.integrations.base import IntegrationError
from library.integrations.local import LocalIntegration
from library.models import FileOrigin, IndexStatus, Library, LibraryFile, StoredContent
from library.services.files import (
    PayloadTooLarge,
    RemoteWriteFailed,
    file_delete,
    file_open,
    file_upload,
    file_write,
    size_text,
)
from library.services.sync import library_sync
from tests.library.services.conftest import files_of, write


def sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def upload(library: Library, directory: str, filename: str, content: bytes, **fields: Any) -> LibraryFile:
    fields.setdefault("size", len(content))
    fields.setdefault("content_type", "")
    return file_upload(library=library, directory=directory, filename=filename, content=io.BytesIO(content), **fields)


def test_an_upload_is_written_through_and_the_next_sync_sees_it_unchanged(library: Library, folder: Path) -> None:
    # when
    file = upload(library, "reports/2026", "q1.txt", b"first quarter", content_type="text/plain")

    # then: on the remote, recorded with its etag, its folders as rows
    assert (folder / "reports" / "2026" / "q1.txt").read_bytes() == b"first quarter"
    assert (file.path, file.filename, file.size, file.sha256, file.origin, file.index_status) == (
        "reports/2026/q1.txt",
        "q1.txt",
        13,
        sha(b"first quarter"),
        FileOrigin.UPLOAD,
        IndexStatus.PENDING,
    )
    info = (folder / "reports" / "2026" / "q1.txt").stat()
    assert file.etag == f"{info.st_mtime_ns:x}-{info.st_size:x}"
    assert files_of(library) == {
        "reports": (True, 0, "", None, IndexStatus.PENDING),
        "reports/2026": (True, 0, "", "reports", IndexStatus.PENDING),
        "reports/2026/q1.txt": (False, 13, sha(b"first quarter"), "reports/2026", IndexStatus.PENDING),
    }
    with file_open(file=file) as handle:
        assert handle.read() == b"first quarter"
    library.refresh_from_db()
    assert (library.files, library.size) == (1, 13)

    # when synced
    result = library_sync(library=library)

    # then
    assert (result.added, result.updated, result.unchanged, result.deleted) == (0, 0, 1, 0)


def test_an_upload_replaces_a_file_of_the_same_name(
    library: Library, folder: Path, django_capture_on_commit_callbacks: Any
) -> None:
    upload(library, "", "a.txt", b"old")
    LibraryFile.objects.filter(path="a.txt").update(index_status=IndexStatus.INDEXED)

    with django_capture_on_commit_callbacks(execute=True):
        file = upload(library, "/", "a.txt", b"new bytes")

    assert (folder / "a.txt").read_bytes() == b"new bytes"
    assert (file.size, file.sha256, file.index_status) == (9, sha(b"new bytes"), IndexStatus.PENDING)
    assert LibraryFile.objects.filter(library=library).count() == 1
    assert list(StoredContent.objects.values_list("sha256", flat=True)) == [sha(b"new bytes")]


def test_an_upload_over_the_limit_is_a_413_in_the_error_shape(library: Library, folder: Path, settings: Any) -> None:
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 8

    with pytest.raises(PayloadTooLarge) as refused:
        upload(library, "", "big.bin", b"123456789")

    response = api_exception_handler(refused.value, {})
    assert response is not None and response.status_code == 413
    assert response.data == {
        "statusCode": 413,
        "error": "Request Entity Too Large",
        "message": "The file is larger than the 8 bytes limit (INFORMER_LIBRARY_MAX_FILE_BYTES).",
        "details": {"file": ["The file is larger than the 8 bytes limit (INFORMER_LIBRARY_MAX_FILE_BYTES)."]},
    }
    assert list(folder.iterdir()) == [] and files_of(library) == {} and StoredContent.objects.count() == 0


def test_an_upload_larger_than_announced_is_refused_as_it_arrives(
    library: Library, folder: Path, settings: Any
) -> None:
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 8

    with pytest.raises(PayloadTooLarge):
        upload(library, "", "big.bin", b"123456789", size=3)

    assert list(folder.iterdir()) == [] and files_of(library) == {}


@pytest.mark.parametrize(
    ("directory", "filename", "field", "message"),
    [
        ("", "../escape.txt", "filename", "filename: give a file name, not a path."),
        ("", "..", "filename", "filename: refused, it contains '..'."),
        ("", "a\\b.txt", "filename", "filename: refused, it contains a backslash."),
        ("", "nul\x00.txt", "filename", "filename: refused, it contains a NUL character."),
        ("", "", "filename", "filename: give a file name, not a path."),
        ("../up", "a.txt", "dir", "dir: refused, it contains '..'."),
        ("a//b", "a.txt", "dir", "dir: refused, it has an empty segment."),
        ("x" * 256, "a.txt", "dir", "dir: refused, a name in it is longer than 255 bytes."),
    ],
)
def test_an_escaping_name_is_a_400_naming_the_field(
    library: Library, folder: Path, directory: str, filename: str, field: str, message: str
) -> None:
    with pytest.raises(DomainError) as refused:
        upload(library, directory, filename, b"data")

    assert (refused.value.status_code, refused.value.message, refused.value.details) == (
        400,
        message,
        {field: [message]},
    )
    assert list(folder.iterdir()) == [] and files_of(library) == {}


def test_a_remote_that_refuses_the_write_changes_nothing(
    library: Library, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refusing(self: LocalIntegration, path: str, content: Any, *, size: int, content_type: str = "") -> Any:
        raise IntegrationError("No space left on device.")

    monkeypatch.setattr(LocalIntegration, "upload", refusing)

    with pytest.raises(RemoteWriteFailed) as failed:
        upload(library, "docs", "a.txt", b"data")

    assert (failed.value.status_code, failed.value.message) == (
        502,
        "The library's remote did not take the file: No space left on device.",
    )
    assert files_of(library) == {} and StoredContent.objects.count() == 0


def test_an_upload_onto_a_folder_or_under_a_file_is_a_409(library: Library, folder: Path) -> None:
    upload(library, "sub", "a.txt", b"data")

    with pytest.raises(Conflict) as onto_folder:
        upload(library, "", "sub", b"data")
    with pytest.raises(Conflict) as under_file:
        upload(library, "sub/a.txt", "b.txt", b"data")

    assert onto_folder.value.message == "'sub' is a folder."
    assert under_file.value.message == "'sub/a.txt' is a file, not a folder."
    assert set(files_of(library)) == {"sub", "sub/a.txt"}


def test_file_write_numbers_the_name_unless_told_to_overwrite(library: Library, folder: Path) -> None:
    # when a job writes the same report three times without overwriting, then once overwriting
    first = file_write(library=library, path="out/report.pdf", content=b"%PDF-1", overwrite=False)
    second = file_write(library=library, path="out/report.pdf", content=b"%PDF-2", overwrite=False)
    third = file_write(library=library, path="out/report.pdf", content=io.BytesIO(b"%PDF-3"), overwrite=False)
    replaced = file_write(library=library, path="out/report.pdf", content=b"%PDF-4", overwrite=True)

    # then
    assert [first.path, second.path, third.path, replaced.path] == [
        "out/report.pdf",
        "out/report (1).pdf",
        "out/report (2).pdf",
        "out/report.pdf",
    ]
    assert {path.name: path.read_bytes() for path in (folder / "out").iterdir()} == {
        "report.pdf": b"%PDF-4",
        "report (1).pdf": b"%PDF-2",
        "report (2).pdf": b"%PDF-3",
    }
    assert (replaced.origin, replaced.content_type) == (FileOrigin.JOB, "application/pdf")
    library.refresh_from_db()
    assert library.files == 3


def test_file_write_numbers_names_without_an_extension(library: Library, folder: Path) -> None:
    file_write(library=library, path=".env", content=b"a", overwrite=False)

    again = file_write(library=library, path=".env", content=b"b", overwrite=False)

    assert again.path == ".env (1)"


def test_file_write_refuses_an_escaping_path(library: Library, folder: Path) -> None:
    with pytest.raises(DomainError) as refused:
        file_write(library=library, path="../x.txt", content=b"a", overwrite=True)

    assert refused.value.message == "path: refused, it contains '..'."
    assert files_of(library) == {}


def test_file_delete_removes_it_on_the_remote_and_its_unreferenced_content(
    library: Library, folder: Path, django_capture_on_commit_callbacks: Any
) -> None:
    # given two files with the same bytes and one other
    a = upload(library, "", "a.txt", b"same")
    b = upload(library, "", "b.txt", b"same")
    c = upload(library, "", "c.txt", b"other")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        file_delete(file=a)
        file_delete(file=c)

    # then: "same" is still b's
    assert sorted(path.name for path in folder.iterdir()) == ["b.txt"]
    assert set(files_of(library)) == {"b.txt"}
    assert list(StoredContent.objects.values_list("sha256", flat=True)) == [b.sha256]
    assert not default_storage.exists(f"library/{c.sha256[:2]}/{c.sha256}")
    library.refresh_from_db()
    assert (library.files, library.size) == (1, 4)


def test_file_delete_of_a_folder_that_holds_files_is_a_409(library: Library, folder: Path) -> None:
    upload(library, "sub", "a.txt", b"data")
    sub = LibraryFile.objects.get(library=library, path="sub")

    with pytest.raises(Conflict) as refused:
        file_delete(file=sub)

    assert refused.value.message == "The folder 'sub' is not empty; delete what it holds first."
    assert (folder / "sub" / "a.txt").exists() and set(files_of(library)) == {"sub", "sub/a.txt"}


def test_file_delete_that_the_remote_refuses_keeps_the_row(
    library: Library, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = upload(library, "", "a.txt", b"data")

    def refusing(self: LocalIntegration, path: str) -> None:
        raise IntegrationError("Permission denied.")

    monkeypatch.setattr(LocalIntegration, "delete", refusing)

    with pytest.raises(RemoteWriteFailed) as failed:
        file_delete(file=a)

    assert failed.value.message == "The library's remote did not delete 'a.txt': Permission denied."
    assert set(files_of(library)) == {"a.txt"} and StoredContent.objects.count() == 1


def test_file_open_of_a_folder_or_a_skipped_file_is_not_found(library: Library, folder: Path, settings: Any) -> None:
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 4
    write(folder / "sub" / "big.bin", b"12345")
    library_sync(library=library)

    with pytest.raises(NotFound) as of_folder:
        file_open(file=LibraryFile.objects.get(path="sub"))
    with pytest.raises(NotFound) as of_skipped:
        file_open(file=LibraryFile.objects.get(path="sub/big.bin"))

    assert of_folder.value.message == "'sub' is a folder; it has no contents."
    assert of_skipped.value.message == (
        "The contents of 'sub/big.bin' are not stored: The file is larger than the 4 bytes limit "
        "(INFORMER_LIBRARY_MAX_FILE_BYTES); it is listed but not stored."
    )


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 bytes"),
        (1023, "1023 bytes"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (100 * 1024**2, "100 MiB"),
        (3 * 1024**4, "3072 GiB"),
    ],
)
def test_size_text(size: int, text: str) -> None:
    assert size_text(size) == text
