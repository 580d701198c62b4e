"""Writes to a library's files (§9): uploads and jobs' files written through to the integration, deletions.

A file written here goes to the remote first (``Integration.upload``), and only once the remote has it is
its row written, with the etag and mtime the remote gave back: the next sync then sees it unchanged and
does not fetch it again. A file that the remote refused leaves the library as it was. Its bytes are spooled
once (sha256 and size computed on the way, the size limit enforced on what really arrives, whatever the
client announced) and kept once per sha256 (``library.content``).
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import uuid
from typing import IO

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Count, F, Sum
from rest_framework import status

from informer.api.exceptions import Conflict, DomainError, NotFound
from library.content import ContentTooLarge, Spooled, content_keep, content_open, content_spool, contents_collect
from library.integrations.base import Integration, IntegrationError
from library.integrations.paths import UnsafePath, ancestors_of, filename_of, parent_of, safe_path
from library.integrations.registry import integration_for
from library.models import Chunk, FileOrigin, IndexStatus, Library, LibraryFile
from library.services.libraries import library_config

__all__ = [
    "PayloadTooLarge",
    "RemoteWriteFailed",
    "file_delete",
    "file_open",
    "file_upload",
    "file_write",
    "library_totals_update",
    "size_text",
]

logger = logging.getLogger(__name__)

MAX_NUMBERED = 10_000  # "name (n).ext": how far file_write looks for a free name


class PayloadTooLarge(DomainError):
    """The file is over INFORMER_LIBRARY_MAX_FILE_BYTES: the 413."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE


class RemoteWriteFailed(DomainError):
    """The library's remote refused or failed the write or deletion: the 502, with its reason."""

    status_code = status.HTTP_502_BAD_GATEWAY


def size_text(size: int) -> str:
    """A byte count as people read it ("100 MiB", "512 bytes")."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            if unit == "bytes":
                return f"{size} bytes"
            return f"{value:.1f}".removesuffix(".0") + f" {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover - the loop always returns


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than the {size_text(limit)} limit (INFORMER_LIBRARY_MAX_FILE_BYTES).", field="file"
    )


def library_totals_update(library: Library, *, synced_at: dt.datetime | None = None) -> None:
    """Count the library's files and bytes again (and set ``synced_at`` when given), on the row and ``library``."""
    totals = LibraryFile.objects.filter(library_id=library.pk, directory=False).aggregate(
        files=Count("pk"), size=Sum("size")
    )
    fields: dict[str, object] = {"files": totals["files"], "size": totals["size"] or 0}
    if synced_at is not None:
        fields["synced_at"] = synced_at
    Library.objects.filter(pk=library.pk).update(**fields)
    for name, value in fields.items():
        setattr(library, name, value)


def _collect(sha256: str) -> None:
    """Collect the content a write or deletion let go, once it has committed (a failure only leaves disk space)."""
    try:
        contents_collect(candidates=[sha256])
    except (DatabaseError, OSError):
        logger.exception("Collecting the library content %s failed", sha256)


def _checked(path: str, field: str) -> str:
    try:
        return safe_path(path)
    except UnsafePath as error:
        raise DomainError(f"{field}: refused, {error.reason}.", field=field) from None


def _integration(library: Library) -> Integration:
    try:
        return integration_for(library_config(library))
    except IntegrationError as error:
        raise RemoteWriteFailed(f"The library's remote cannot be used: {error.message}") from None


def _folder_id(library: Library, folder: str) -> uuid.UUID | None:
    """The row of ``folder`` (and of every folder above it), created when missing; None for the top level."""
    parent_id: uuid.UUID | None = None
    for path in [*ancestors_of(folder), folder] if folder else []:
        row = LibraryFile.objects.filter(library_id=library.pk, path=path).values_list("id", "directory").first()
        if row is not None and not row[1]:
            raise Conflict(f"'{path}' is a file, not a folder.", field="dir")
        if row is None:
            created, _ = LibraryFile.objects.get_or_create(
                library_id=library.pk,
                path=path,
                defaults={"filename": filename_of(path), "parent_id": parent_id, "directory": True},
            )
            parent_id = created.pk
        else:
            parent_id = row[0]
    return parent_id


def _write(*, library: Library, path: str, content: IO[bytes] | bytes, content_type: str, origin: str) -> LibraryFile:
    """Spool ``content``, write it to the remote at ``path``, then record the file with the remote's etag."""
    limit = int(settings.INFORMER_LIBRARY_MAX_FILE_BYTES)
    # Refused before anything is written: the remote would refuse it too, or worse, mix a file and a folder.
    clash = LibraryFile.objects.filter(library_id=library.pk, path__in=[*ancestors_of(path), path])
    for taken, directory in clash.values_list("path", "directory"):
        if taken == path and directory:
            raise Conflict(f"'{path}' is a folder.", field="path")
        if taken != path and not directory:
            raise Conflict(f"'{taken}' is a file, not a folder.", field="path")
    content_type = content_type or mimetypes.guess_type(path)[0] or "application/octet-stream"
    integration = _integration(library)
    try:
        with content_spool([content] if isinstance(content, bytes) else content, max_bytes=limit) as spooled:
            try:
                entry = integration.upload(path, spooled.file, size=spooled.size, content_type=content_type)
            except IntegrationError as error:
                raise RemoteWriteFailed(f"The library's remote did not take the file: {error.message}") from None
            spooled.file.seek(0)
            return _record(
                library,
                path,
                spooled,
                etag=entry.etag,
                modified_at=entry.modified_at,
                content_type=content_type,
                origin=origin,
            )
    except ContentTooLarge:
        raise _too_large(limit) from None


def _record(
    library: Library,
    path: str,
    spooled: Spooled,
    *,
    etag: str,
    modified_at: dt.datetime | None,
    content_type: str,
    origin: str,
) -> LibraryFile:
    """The file's row at ``path`` pointing at the spooled content (created, or replaced in place)."""
    dropped = ""
    with transaction.atomic():
        content = content_keep(spooled)
        parent_id = _folder_id(library, parent_of(path))
        fields = {
            "filename": filename_of(path),
            "parent_id": parent_id,
            "directory": False,
            "size": content.size,
            "sha256": content.sha256,
            "etag": etag,
            "modified_at": modified_at,
            "content_type": content_type,
            "origin": origin,
        }
        row = LibraryFile.objects.select_for_update().filter(library_id=library.pk, path=path).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = LibraryFile.objects.create(library_id=library.pk, path=path, **fields)
            except IntegrityError:  # a sync recorded it meanwhile: replace that row
                row = LibraryFile.objects.select_for_update().get(library_id=library.pk, path=path)
        if row.sha256 != content.sha256 or row.index_status == IndexStatus.SKIPPED:
            dropped = row.sha256 if row.sha256 != content.sha256 else ""
            fields.update(index_status=IndexStatus.PENDING, index_error="", indexed_at=None, chunks=0)
        for name, value in fields.items():
            setattr(row, name, value)
        row.save()
        library_totals_update(library)
        if dropped:
            transaction.on_commit(lambda: _collect(dropped))
    return row


def file_upload(
    *,
    library: Library,
    directory: str,
    filename: str,
    content: IO[bytes],
    size: int | None,
    content_type: str = "",
    origin: str = FileOrigin.UPLOAD,
) -> LibraryFile:
    """Write an uploaded file into folder ``directory`` (replacing one of that name), through to the remote.

    An unsafe name is a 400 naming ``dir`` or ``filename``; a file over the limit (announced or as it
    arrives) a PayloadTooLarge (413); a remote that refuses it a RemoteWriteFailed (502).
    """
    folder = directory.strip("/")
    if folder:
        folder = _checked(folder, "dir")
    if not filename or "/" in filename:
        raise DomainError("filename: give a file name, not a path.", field="filename")
    name = _checked(filename, "filename")
    limit = int(settings.INFORMER_LIBRARY_MAX_FILE_BYTES)
    if size is not None and size > limit:
        raise _too_large(limit)
    path = f"{folder}/{name}" if folder else name
    return _write(library=library, path=path, content=content, content_type=content_type, origin=origin)


def _numbered(library: Library, path: str) -> str:
    """``path``, or the first of ``name (1).ext``, ``name (2).ext``… that no row of the library holds."""
    folder, filename = parent_of(path), filename_of(path)
    stem, dot, extension = filename.rpartition(".")
    if not stem:  # no extension, or a name such as ".env"
        stem, dot, extension = filename, "", ""
    prefix = f"{folder}/{stem}" if folder else stem
    taken = set(
        LibraryFile.objects.filter(library_id=library.pk, path__startswith=prefix).values_list("path", flat=True)
    )
    if path not in taken:
        return path
    for number in range(1, MAX_NUMBERED):
        candidate = _checked(f"{prefix} ({number}){dot}{extension}", "path")
        if candidate not in taken:
            return candidate
    raise Conflict(f"'{path}' and {MAX_NUMBERED - 1} numbered names after it are taken.", field="path")


def file_write(
    *, library: Library, path: str, content: bytes | IO[bytes], overwrite: bool, origin: str = FileOrigin.JOB
) -> LibraryFile:
    """Write ``content`` at ``path`` through to the remote; ``overwrite`` false numbers the name rather than replace."""
    path = _checked(path.strip("/"), "path")
    if not overwrite:
        path = _numbered(library, path)
    return _write(library=library, path=path, content=content, content_type="", origin=origin)


def file_delete(*, file: LibraryFile) -> None:
    """Delete a file on the remote, then its row (its content too when nothing else references it).

    A folder is deleted only when it holds no file or folder the library knows of (409 otherwise); on the
    remote, whatever it holds that no sync has listed yet goes with it.
    """
    library = file.library
    if file.directory and LibraryFile.objects.filter(parent_id=file.pk).exists():
        raise Conflict(f"The folder '{file.path}' is not empty; delete what it holds first.", field="id")
    try:
        _integration(library).delete(file.path)
    except IntegrationError as error:
        raise RemoteWriteFailed(f"The library's remote did not delete '{file.path}': {error.message}") from None
    sha256 = file.sha256
    with transaction.atomic():
        _, deleted = LibraryFile.objects.filter(pk=file.pk).delete()
        if deleted.get(Chunk._meta.label):  # its chunks went with it: vector caches are stale
            Library.objects.filter(pk=library.pk).update(index_version=F("index_version") + 1)
        library_totals_update(library)
        if sha256:
            transaction.on_commit(lambda: _collect(sha256))


def file_open(*, file: LibraryFile) -> IO[bytes]:
    """The file's stored bytes, open for reading; NotFound for a folder or a file with no stored content."""
    if file.directory:
        raise NotFound(f"'{file.path}' is a folder; it has no contents.")
    if not file.sha256:
        reason = file.index_error or "it has not been fetched yet"
        raise NotFound(f"The contents of '{file.path}' are not stored: {reason}")
    return content_open(file.sha256)
