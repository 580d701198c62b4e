"""Syncing a library: its integration listed, new and changed files fetched, the ones gone deleted (§9).

The sync never loses a file. It claims the library with a conditional UPDATE of ``sync_started_at`` that
only one caller can win (a second one gets ``SyncInProgress``, a 409), and renews the claim while it
works; a claim nobody renewed for an hour belongs to a process that died and is taken over. A listing
that fails is a failed sync that changed nothing. Files are compared by (size, mtime, etag) with what the
last listing said: unchanged ones are not downloaded; new and changed ones are streamed into a temporary
file with their sha256 computed, kept once per sha256, and only then is the file's row updated, so a
download that fails leaves the previous copy (and its row) as it was. Deletions come last, only after a
complete listing and a sync that was not cancelled, never of a row written after the listing began (an
upload meanwhile), and never of more than half the library's files at once unless ``allow_mass_delete``.
"""

from __future__ import annotations

import datetime as dt
import logging
import mimetypes
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from informer.api.exceptions import Conflict, DomainError
from library.content import ContentTooLarge, Spooled, content_keep, content_spool, contents_collect
from library.integrations.base import Integration, IntegrationError, RemoteEntry
from library.integrations.paths import ancestors_of, filename_of, parent_of
from library.integrations.registry import integration_for
from library.models import FileOrigin, IndexStatus, Library, LibraryFile
from library.services.files import library_totals_update, size_text
from library.services.libraries import library_config

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

STALE_SECONDS = 3600  # a claim not renewed for this long belongs to a sync that died
RENEW_SECONDS = 30.0  # how often a running sync renews its claim
REPORT_SECONDS = 0.5  # unchanged files are reported at most this often
PROGRESS_BYTES = 4 * 1024 * 1024  # a long download is reported every this many bytes
DELETE_BATCH = 500


class SyncInProgress(Conflict):
    """Another sync of this library is running: the 409."""

    def __init__(self, message: str = "The library is being synced; try again once that sync has finished.") -> None:
        super().__init__(message)


class SyncCancelled(Exception):
    """The sync stopped because its ``cancelled`` callback said so; what it fetched so far is kept, nothing deleted."""

    def __init__(self, result: SyncResult) -> None:
        self.message = "The sync was cancelled; the files fetched so far are kept and nothing was deleted."
        super().__init__(self.message)
        self.result = result


@dataclass
class SyncProgress:
    """How far a sync is: files handled of those listed, and bytes downloaded."""

    files_done: int
    files_total: int
    bytes_done: int


@dataclass
class SyncResult:
    """What a sync did (the §9 answer of ``_sync``); ``bytes`` counts the bytes of the files it stored."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: int = 0
    bytes: int = 0
    duration: int = 0  # milliseconds
    errors: list[dict[str, str]] = field(default_factory=list)
    success: bool = True

    def error(self, path: str, message: str) -> None:
        """Report a problem with ``path`` ("" for the library as a whole)."""
        self.errors.append({"path": path, "error": message})

    def as_json(self) -> dict[str, Any]:
        """The API's answer."""
        return {
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "bytes": self.bytes,
            "duration": self.duration,
            "errors": [dict(error) for error in self.errors],
            "success": self.success,
        }


def sync_stale_before(now: dt.datetime | None = None) -> dt.datetime:
    """Claims older than this are abandoned: their sync died without releasing them."""
    return (now or timezone.now()) - dt.timedelta(seconds=STALE_SECONDS)


def sync_claimed(library: Library) -> bool:
    """Whether a live sync holds ``library`` now (an abandoned claim does not count)."""
    started = library.sync_started_at
    return started is not None and started >= sync_stale_before()


@dataclass
class Claim:
    """A library held by one sync: ``token`` is the ``sync_started_at`` it wrote."""

    library_id: uuid.UUID
    token: dt.datetime
    renewed: float = field(default_factory=time.monotonic)

    def renew(self) -> None:
        """Keep the claim alive (at most every RENEW_SECONDS); SyncInProgress if another sync took it over."""
        if time.monotonic() - self.renewed < RENEW_SECONDS:
            return
        now = timezone.now()
        if not Library.objects.filter(pk=self.library_id, sync_started_at=self.token).update(sync_started_at=now):
            raise SyncInProgress("Another sync took this library over (this one had stalled); it stopped.")
        self.token, self.renewed = now, time.monotonic()

    def release(self, **fields: Any) -> None:
        """Let the next sync in, writing ``fields`` with it (a claim another sync took over is left to it)."""
        Library.objects.filter(pk=self.library_id, sync_started_at=self.token).update(sync_started_at=None, **fields)


@contextmanager
def sync_claim(library_id: uuid.UUID) -> Iterator[Claim]:
    """Hold the library's sync claim for the block; SyncInProgress (409) when another sync holds it."""
    now = timezone.now()
    # One conditional UPDATE: of two callers only one matches the row.
    free = Q(sync_started_at__isnull=True) | Q(sync_started_at__lt=sync_stale_before(now))
    if not Library.objects.filter(free, pk=library_id).update(sync_started_at=now):
        if not Library.objects.filter(pk=library_id).exists():
            raise DomainError("The library no longer exists.")
        raise SyncInProgress()
    claim = Claim(library_id=library_id, token=now)
    try:
        yield claim
    finally:
        try:
            claim.release()
        except DatabaseError:  # the service's database went away: the claim goes stale and is taken over
            logger.exception("Could not release the sync claim of library %s", library_id)


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
        claim: Claim,
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
            for path in sorted(files):
                self._file(integration, files[path])
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
            with (
                integration.download(entry.path) as chunks,
                content_spool(self._counted(chunks), max_bytes=self.limit) as spooled,
            ):
                self._store(entry, row, spooled)
        except ContentTooLarge:  # it grew past the limit since the listing
            self._skip(entry, row)
        except (IntegrationError, OSError) as error:
            message = error.message if isinstance(error, IntegrationError) else str(error)
            kept = "the previous copy is kept" if row is not None and row.sha256 else "it was not stored"
            self.result.error(entry.path, f"Download failed, {kept}: {message}")
            self.failed = True
        self._done(force=True)

    def _store(self, entry: RemoteEntry, row: _Row | None, spooled: Spooled) -> None:
        """Keep the spooled content and point the file's row at it, in one transaction."""
        now = timezone.now()
        with transaction.atomic():
            content = content_keep(spooled)
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
                try:
                    with transaction.atomic():
                        LibraryFile.objects.create(
                            library_id=self.library.pk,
                            path=entry.path,
                            filename=filename_of(entry.path),
                            parent_id=self.folder_ids.get(parent_of(entry.path)),
                            origin=FileOrigin.SYNC,
                            **fields,
                        )
                except IntegrityError:
                    self.result.error(entry.path, "Not synced: the file was written meanwhile; the next sync takes it.")
                    return
                self.result.added += 1
            else:
                LibraryFile.objects.filter(pk=row.id).update(**fields)
                if row.sha256 != content.sha256:
                    self.dropped.add(row.sha256)
                self.result.updated += 1
        self.result.bytes += content.size

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
            self.failed = True
            return
        ids = [row.id for row in gone_files]
        for start in range(0, len(ids), DELETE_BATCH):
            # Rows written after the listing began (an upload, a job's file) are not the listing's to judge.
            batch = LibraryFile.objects.filter(pk__in=ids[start : start + DELETE_BATCH], updated_at__lt=listed_at)
            shas = set(batch.values_list("sha256", flat=True))
            _, per_model = batch.delete()
            self.result.deleted += per_model.get(LibraryFile._meta.label, 0)
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
