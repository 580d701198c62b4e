"""Syncing a library: its integration listed, new and changed files fetched, the ones gone deleted (§9).

The sync never loses a file. It holds the library's claim (``sync_state``), so it is the only one. A
listing that fails is a failed sync that changed nothing. Files are compared by (size, mtime, etag) with
what the last listing said: unchanged ones are not downloaded; new and changed ones are streamed into a
temporary file with their sha256 computed, and only once the download is complete are they kept (once
per sha256) and their rows written, so a download that fails leaves the previous copy (and its row) as it
was. Rows are written a batch of files at a time, in one short transaction that holds no download.
Deletions come last, only after a complete listing and a sync that was not cancelled, never of a row
written after the listing began (an upload meanwhile), and never of more than half the library's files at
once unless ``allow_mass_delete``.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from library.content import ContentTooLarge, Spooled, content_spool, contents_collect, contents_keep
from library.integrations.base import Integration, IntegrationError, RemoteEntry
from library.integrations.paths import ancestors_of, filename_of, parent_of
from library.integrations.registry import integration_for
from library.models import Chunk, FileOrigin, IndexStatus, Library, LibraryFile
from library.services.claims import LibraryClaim
from library.services.files import library_totals_update, size_text
from library.services.libraries import library_config
from library.services.sync_state import (
    SyncCancelled,
    SyncInProgress,
    SyncProgress,
    SyncResult,
    sync_claim,
    sync_claimed,
)

__all__ = [
    "SyncCancelled",
    "SyncInProgress",
    "SyncProgress",
    "SyncResult",
    "library_sync",
    "sync_claim",
    "sync_claimed",
]

logger = logging.getLogger(__name__)

REPORT_SECONDS = 0.5  # unchanged files are reported at most this often
PROGRESS_BYTES = 4 * 1024 * 1024  # a long download is reported every this many bytes
DELETE_BATCH = 500
# Downloaded files wait in their temporary files until this many, this many bytes or this long, then
# their contents and rows are written in one transaction (one commit rather than one per file).
WRITE_FILES = 100
WRITE_BYTES = 64 * 1024 * 1024
WRITE_SECONDS = 1.0


def library_sync(
    *,
    library: Library,
    allow_mass_delete: bool = False,
    progress: Callable[[SyncProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> SyncResult:
    """Mirror ``library`` from its integration (see the module docstring); SyncInProgress when one runs.

    ``progress`` is called at the start, after every file fetched or skipped, at most every REPORT_SECONDS
    among unchanged ones, every PROGRESS_BYTES of a long download and at the end. ``cancelled`` is asked
    before every download (and during long ones); when it says so, SyncCancelled is raised (its ``result``
    counts what was done). A failed listing, a refused mass deletion or a failed download make
    ``success`` false, with the reason in ``errors``.
    """
    started = time.monotonic()
    with sync_claim(library.pk) as claim:
        sync = _Sync(library, claim, progress=progress, cancelled=cancelled)
        try:
            sync.run(allow_mass_delete=allow_mass_delete)
        finally:
            sync.result.duration = round((time.monotonic() - started) * 1000)
    return sync.result


@dataclass
class _Row:
    """What the sync needs of a stored row."""

    id: uuid.UUID
    path: str
    directory: bool
    size: int
    etag: str
    modified_at: dt.datetime | None
    sha256: str
    index_status: str
    parent_id: uuid.UUID | None


_ROW_FIELDS = ("id", "path", "directory", "size", "etag", "modified_at", "sha256", "index_status", "parent_id")


class _Sync:
    """One sync's state: the rows as they were, the listing, the counts."""

    def __init__(
        self,
        library: Library,
        claim: LibraryClaim,
        *,
        progress: Callable[[SyncProgress], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        self.library = library
        self.claim = claim
        self.progress = progress
        self.cancelled = cancelled
        self.result = SyncResult()
        self.limit = int(settings.INFORMER_LIBRARY_MAX_FILE_BYTES)
        self.rows: dict[str, _Row] = {}
        self.folder_ids: dict[str, uuid.UUID] = {}
        self.dropped: set[str] = set()  # sha256s no longer referenced by the rows this sync changed
        self.files_done = 0
        self.files_total = 0
        self.bytes_done = 0
        self.failed = False  # a download failed or the deletions were refused
        self.reported = time.monotonic()
        # Downloaded, not written yet: (entry, row, spooled), their temporary files held open by ``spools``.
        self.pending: list[tuple[RemoteEntry, _Row | None, Spooled]] = []
        self.pending_bytes = 0
        self.pending_since = time.monotonic()
        self.spools = ExitStack()

    # The steps

    def run(self, *, allow_mass_delete: bool) -> None:
        result = self.result
        try:
            integration = integration_for(library_config(self.library))
            listed_at = timezone.now()
            listing = integration.listing()
        except IntegrationError as error:
            result.error("", f"The listing failed, so nothing was changed: {error.message}")
            result.success = False
            result.listing_failed = True
            return
        for refused in listing.refused:
            result.error(refused.name, f"Refused: {refused.reason}.")
        rows = LibraryFile.objects.filter(library_id=self.library.pk).values_list(*_ROW_FIELDS)
        self.rows = {row[1]: _Row(*row) for row in rows.iterator(chunk_size=2000)}
        files, folders = self._split(listing.entries)
        self.files_total = len(files)
        self._report(force=True)
        self._folders(folders)
        completed = False
        try:
            with self.spools:
                try:
                    for path in sorted(files):
                        self._file(integration, files[path])
                except SyncCancelled:
                    self._write()  # what was fetched completely is kept
                    raise
                self._write()
            completed = True
        finally:
            if completed:
                self._delete(set(files) | set(folders), listed_at, allow_mass_delete=allow_mass_delete)
            self._finish(synced=completed)
        # Refused names are reported but are the remote's to fix: they do not fail the sync.
        result.success = not self.failed
        self._report(force=True)

    def _split(self, entries: list[RemoteEntry]) -> tuple[dict[str, RemoteEntry], dict[str, RemoteEntry | None]]:
        """The listed files by path, and every folder (listed, or above a listed entry) by path."""
        files = {entry.path: entry for entry in entries if not entry.directory}
        folders: dict[str, RemoteEntry | None] = {}
        for entry in entries:
            for ancestor in ancestors_of(entry.path):
                folders.setdefault(ancestor, None)
            if entry.directory:
                folders[entry.path] = entry
        for path in [path for path in files if any(a in files for a in ancestors_of(path))]:
            # S3 may hold both "a" and "a/b": "a" cannot be a file and a folder in one library.
            self.result.error(path, "Not synced: a folder above it is a file on the remote.")
            del files[path]
        for path in [path for path in folders if path in files]:
            del folders[path]
        return files, folders

    def _folders(self, folders: dict[str, RemoteEntry | None]) -> None:
        """A folder row for every folder path (outermost first, so parents exist), parents linked right."""
        now = timezone.now()
        created: list[LibraryFile] = []
        for path in sorted(folders, key=lambda p: (p.count("/"), p)):
            entry = folders[path]
            row = self.rows.get(path)
            if row is not None and not row.directory:
                # A file became a folder: the file is gone from the remote.
                LibraryFile.objects.filter(pk=row.id).update(
                    directory=True, size=0, sha256="", etag="", content_type="", updated_at=now
                )
                self.dropped.add(row.sha256)
                self.result.deleted += 1
                row.directory = True
            if row is not None:
                self.folder_ids[path] = row.id
                continue
            folder = LibraryFile(
                library_id=self.library.pk,
                path=path,
                filename=filename_of(path),
                parent_id=self.folder_ids.get(parent_of(path)),
                directory=True,
                modified_at=entry.modified_at if entry else None,
                etag=entry.etag if entry else "",
            )
            self.folder_ids[path] = folder.id
            created.append(folder)
        LibraryFile.objects.bulk_create(created, batch_size=500)
        moved = []
        for row in self.rows.values():
            parent = parent_of(row.path)
            if parent and parent not in self.folder_ids:
                continue  # its folder is gone from the remote, and so is the row, at the deletions
            parent_id = self.folder_ids.get(parent)
            if parent_id != row.parent_id:
                moved.append(LibraryFile(pk=row.id, parent_id=parent_id))
        LibraryFile.objects.bulk_update(moved, ["parent_id"], batch_size=500)

    def _file(self, integration: Integration, entry: RemoteEntry) -> None:
        """Count an unchanged file, or fetch a new or changed one (a failure keeps the previous copy)."""
        row = self.rows.get(entry.path)
        over = entry.size > self.limit
        if row is not None and not row.directory and _same(row, entry):
            if row.sha256:
                self.result.unchanged += 1
                self._done(force=False)
                return
            if row.index_status == IndexStatus.SKIPPED and over:  # still too large (the limit may have grown)
                self.result.skipped += 1
                self._done(force=False)
                return
        self._check()
        if over:
            self._skip(entry, row)
            self._done(force=True)
            return
        try:
            with integration.download(entry.path) as chunks:
                # The temporary file stays open (in ``spools``) until its batch is written.
                spooled = self.spools.enter_context(content_spool(self._counted(chunks), max_bytes=self.limit))
        except ContentTooLarge:  # it grew past the limit since the listing
            self._skip(entry, row)
        except (IntegrationError, OSError) as error:
            message = error.message if isinstance(error, IntegrationError) else str(error)
            kept = "the previous copy is kept" if row is not None and row.sha256 else "it was not stored"
            self.result.error(entry.path, f"Download failed, {kept}: {message}")
            self.failed = True
        else:
            self.pending.append((entry, row, spooled))
            self.pending_bytes += spooled.size
            if (
                len(self.pending) >= WRITE_FILES
                or self.pending_bytes >= WRITE_BYTES
                or time.monotonic() - self.pending_since >= WRITE_SECONDS
            ):
                self._write()
        self._done(force=True)

    def _write(self) -> None:
        """Keep the downloaded contents and point their rows at them, in one transaction; then let them go."""
        pending, self.pending = self.pending, []
        self.pending_bytes, self.pending_since = 0, time.monotonic()
        if not pending:
            return
        try:
            with transaction.atomic():
                self._rows(pending)
        except IntegrityError:
            # A row was written at one of these paths meanwhile (an upload): one transaction per file, so
            # only that one is left to the next sync.
            for item in pending:
                try:
                    with transaction.atomic():
                        self._rows([item])
                except IntegrityError:
                    self.result.error(
                        item[0].path, "Not synced: the file was written meanwhile; the next sync takes it."
                    )
        finally:
            self.spools.close()  # the temporary files (the stack takes the next batch's afterwards)

    def _rows(self, pending: list[tuple[RemoteEntry, _Row | None, Spooled]]) -> None:
        """Keep the contents of ``pending`` and create or update their rows (inside the caller's transaction)."""
        now = timezone.now()
        contents = contents_keep([spooled for _, _, spooled in pending])
        created: list[LibraryFile] = []
        counts = {"added": 0, "updated": 0, "bytes": 0}
        dropped: set[str] = set()
        for entry, row, spooled in pending:
            content = contents[spooled.sha256]
            # The size and sha256 are those of the bytes stored, which may be newer than the listing;
            # the listing's etag and mtime then differ from the next listing's, which fetches it again.
            fields: dict[str, Any] = {
                "directory": False,
                "size": content.size,
                "sha256": content.sha256,
                "etag": entry.etag,
                "modified_at": entry.modified_at,
                "content_type": _content_type(entry),
                "updated_at": now,
            }
            if row is None or content.sha256 != row.sha256:
                fields.update(index_status=IndexStatus.PENDING, index_error="", indexed_at=None, chunks=0)
            if row is None:
                created.append(
                    LibraryFile(
                        library_id=self.library.pk,
                        path=entry.path,
                        filename=filename_of(entry.path),
                        parent_id=self.folder_ids.get(parent_of(entry.path)),
                        origin=FileOrigin.SYNC,
                        created_at=now,
                        **fields,
                    )
                )
                counts["added"] += 1
            else:
                LibraryFile.objects.filter(pk=row.id).update(**fields)
                if row.sha256 != content.sha256:
                    dropped.add(row.sha256)
                counts["updated"] += 1
            counts["bytes"] += content.size
        LibraryFile.objects.bulk_create(created, batch_size=500)
        # Counted once written: a batch rolled back and written again file by file is not counted twice.
        self.result.added += counts["added"]
        self.result.updated += counts["updated"]
        self.result.bytes += counts["bytes"]
        self.dropped |= dropped

    def _skip(self, entry: RemoteEntry, row: _Row | None) -> None:
        """List a file over the size limit as skipped, saying why, with no content."""
        reason = (
            f"The file is larger than the {size_text(self.limit)} limit (INFORMER_LIBRARY_MAX_FILE_BYTES); "
            "it is listed but not stored."
        )
        fields: dict[str, Any] = {
            "directory": False,
            "size": entry.size,
            "sha256": "",
            "etag": entry.etag,
            "modified_at": entry.modified_at,
            "content_type": _content_type(entry),
            "index_status": IndexStatus.SKIPPED,
            "index_error": reason,
            "indexed_at": None,
            "chunks": 0,
        }
        if row is None:
            LibraryFile.objects.create(
                library_id=self.library.pk,
                path=entry.path,
                filename=filename_of(entry.path),
                parent_id=self.folder_ids.get(parent_of(entry.path)),
                origin=FileOrigin.SYNC,
                **fields,
            )
        else:
            LibraryFile.objects.filter(pk=row.id).update(**fields, updated_at=timezone.now())
            self.dropped.add(row.sha256)
        self.result.skipped += 1

    def _delete(self, listed: set[str], listed_at: dt.datetime, *, allow_mass_delete: bool) -> None:
        """Delete the rows of what the remote no longer has, unless that is more than half the files."""
        gone = [row for path, row in self.rows.items() if path not in listed]
        gone_files = [row for row in gone if not row.directory]
        total = sum(1 for row in self.rows.values() if not row.directory)
        if gone_files and len(gone_files) * 2 > total and not allow_mass_delete:
            self.result.error(
                "",
                f"Refused to delete {len(gone_files)} of the library's {total} files in one sync (more than half): "
                "nothing was deleted. Sync with allowMassDelete to delete them.",
            )
            self.result.mass_delete_refused = True
            self.failed = True
            return
        ids = [row.id for row in gone_files]
        for start in range(0, len(ids), DELETE_BATCH):
            # Rows written after the listing began (an upload, a job's file) are not the listing's to judge.
            batch = LibraryFile.objects.filter(pk__in=ids[start : start + DELETE_BATCH], updated_at__lt=listed_at)
            shas = set(batch.values_list("sha256", flat=True))
            _, per_model = batch.delete()
            self.result.deleted += per_model.get(LibraryFile._meta.label, 0)
            if per_model.get(Chunk._meta.label):  # their chunks went with them: vector caches are stale
                Library.objects.filter(pk=self.library.pk).update(index_version=F("index_version") + 1)
            self.dropped |= shas
        childless = ~Exists(LibraryFile.objects.filter(parent_id=OuterRef("pk")))
        for row in sorted((row for row in gone if row.directory), key=lambda r: -r.path.count("/")):
            # Innermost first; a folder that still holds a row (written meanwhile) stays.
            LibraryFile.objects.filter(childless, pk=row.id, updated_at__lt=listed_at).delete()

    def _finish(self, *, synced: bool) -> None:
        """The library's counts (and, after a whole sync, ``synced_at``); contents no file references collected."""
        library_totals_update(self.library, synced_at=timezone.now() if synced else None)
        try:
            contents_collect(candidates=self.dropped)
        except (DatabaseError, OSError):  # the sync is done; the next collection takes what this one left
            logger.exception("Collecting unreferenced contents after syncing library %s failed", self.library.pk)

    # Progress and cancellation

    def _done(self, *, force: bool) -> None:
        self.files_done += 1
        self._report(force=force)

    def _check(self) -> None:
        """Renew the claim; stop when ``cancelled`` says so."""
        self.claim.renew()
        if self.cancelled is not None and self.cancelled():
            raise SyncCancelled(self.result)

    def _report(self, *, force: bool = False) -> None:
        if self.progress is None or not (force or time.monotonic() - self.reported >= REPORT_SECONDS):
            return
        self.reported = time.monotonic()
        self.progress(SyncProgress(self.files_done, self.files_total, self.bytes_done))

    def _counted(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """``chunks`` counted into ``bytes_done``, reported every PROGRESS_BYTES."""
        since = 0
        for chunk in chunks:
            self.bytes_done += len(chunk)
            since += len(chunk)
            if since >= PROGRESS_BYTES:
                since = 0
                self._check()
                self._report(force=True)
            yield chunk


def _same(row: _Row, entry: RemoteEntry) -> bool:
    """Whether the remote says what it said at the last listing (so the file is not fetched again)."""
    return (row.size, row.etag, row.modified_at) == (entry.size, entry.etag, entry.modified_at)


def _content_type(entry: RemoteEntry) -> str:
    return entry.content_type or mimetypes.guess_type(entry.path)[0] or "application/octet-stream"
