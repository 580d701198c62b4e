"""The bytes behind library files: stored once per sha256 in ``default_storage`` (§9).

A content is first spooled: streamed into a temporary file while its sha256 and size are computed, so
nothing is ever held whole in memory and nothing half-written is ever kept. It is then kept: saved under
``library/<sha[:2]>/<sha>`` unless a ``StoredContent`` with that sha256 exists already, in which case the
spooled copy is dropped. ``contents_collect`` deletes the contents no ``LibraryFile`` references.

When ``default_storage`` is a ``FileSystemStorage`` (files on a local disk), the spooled file is not copied
into it but moved: it is spooled in the storage's own folder, so on the same filesystem, and kept by giving
it its name there with a hard link (``os.link``). A link, not ``os.replace``: it fails rather than
overwrites when the name is taken (the storage then picks another name, as ``save`` does), and it leaves
the spool in place, so a keep that is rolled back and tried again still has its file. The spool is an
unnamed file (``O_TMPFILE``, linked through ``/proc/self/fd``) where Linux offers one, so a crash leaves
nothing behind; elsewhere a ``.library-spool-*`` file in the storage's folder, removed when the spool
ends. Where a link is refused (another filesystem, one without hard links), the content is copied as for
any other storage. A moved file gets the storage's ``file_permissions_mode`` (0600 when it has none).

Keeping and collecting lock the ``StoredContent`` row (``SELECT … FOR UPDATE``), and collecting checks the
references again once it holds the lock, so a content that a transaction is about to reference is never
collected under it. Call ``content_keep``/``contents_keep`` inside the transaction that makes a file
reference the content (``content_store`` opens one of its own): until it commits, the row it inserted is
invisible to collections and the row it reused stays locked.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO

from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import transaction
from django.db.models import Exists, OuterRef

from informer.api.exceptions import NotFound
from library.models import LibraryFile, StoredContent

__all__ = [
    "CHUNK",
    "ContentTooLarge",
    "Spooled",
    "content_keep",
    "content_open",
    "content_spool",
    "content_store",
    "contents_collect",
    "contents_keep",
]

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024  # bytes read from a file-like content at a time


class ContentTooLarge(Exception):
    """The content went past ``max_bytes`` while it streamed; nothing of it was kept."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The file is larger than {limit} bytes.")
        self.limit = limit


@dataclass
class Spooled:
    """A content streamed into a temporary file: its sha256, its size, and the open file (at its start)."""

    sha256: str
    size: int
    file: IO[bytes]
    # A path naming the spooled file on the storage's filesystem, to link it into place; None to copy it.
    link_from: str | None = field(default=None, repr=False)


def _chunks(stream: Iterator[bytes] | Iterable[bytes] | IO[bytes]) -> Iterator[bytes]:
    read = getattr(stream, "read", None)
    if callable(read):
        return iter(lambda: read(CHUNK), b"")
    return iter(stream)


def _disk_storage() -> FileSystemStorage | None:
    """``default_storage`` when it is a FileSystemStorage that saves as FileSystemStorage does, else None."""
    storage = default_storage
    saves = getattr(storage.__class__, "_save", None)  # __class__: default_storage is a lazy proxy
    if isinstance(storage, FileSystemStorage) and saves is getattr(FileSystemStorage, "_save", None):
        return storage
    return None


def _makedirs(storage: FileSystemStorage, directory: str) -> None:
    """Create ``directory`` (and its parents) as FileSystemStorage does for the files it saves."""
    mode = storage.directory_permissions_mode
    if mode is None:
        os.makedirs(directory, exist_ok=True)
        return
    umask = os.umask(0o777 & ~mode)
    try:
        os.makedirs(directory, mode, exist_ok=True)
    finally:
        os.umask(umask)


@contextmanager
def _spool_file() -> Iterator[tuple[IO[bytes], str | None]]:
    """An empty temporary file, and a path to link it by when it lies on the storage's filesystem."""
    storage = _disk_storage()
    if storage is None:
        with tempfile.TemporaryFile(prefix="library-") as spool:
            yield spool, None
        return
    folder = storage.path("")
    _makedirs(storage, folder)
    try:
        # Without O_EXCL (which tempfile.TemporaryFile adds), so that the file can be given a name later.
        fd = os.open(folder, os.O_RDWR | os.O_TMPFILE, 0o600)
    except (AttributeError, OSError):  # not Linux, or a filesystem without unnamed files
        named = tempfile.NamedTemporaryFile(prefix=".library-spool-", dir=folder, delete=False)  # noqa: SIM115
        try:
            with named as spool:
                yield spool, named.name
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(named.name)
        return
    with os.fdopen(fd, "w+b") as spool:
        yield spool, f"/proc/self/fd/{fd}"


@contextmanager
def content_spool(
    stream: Iterator[bytes] | Iterable[bytes] | IO[bytes], *, max_bytes: int | None = None
) -> Iterator[Spooled]:
    """Stream ``stream`` into a temporary file with its sha256 and size; ContentTooLarge past ``max_bytes``.

    The temporary file is removed when the block ends, whatever happens; an error raised by ``stream``
    (a download that fails half-way) propagates after it is removed.
    """
    digest = hashlib.sha256()
    size = 0
    with _spool_file() as (spool, link_from):
        for chunk in _chunks(stream):
            if not chunk:
                continue
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise ContentTooLarge(max_bytes)
            digest.update(chunk)
            spool.write(chunk)
        spool.flush()
        spool.seek(0)
        yield Spooled(sha256=digest.hexdigest(), size=size, file=spool, link_from=link_from)


def storage_name_for(sha256: str) -> str:
    """Where a content with this sha256 is saved in ``default_storage``."""
    return f"library/{sha256[:2]}/{sha256}"


def contents_keep(spooled: Sequence[Spooled]) -> dict[str, StoredContent]:
    """The StoredContent of each spooled content by sha256: the existing ones (locked), the others saved.

    A few queries whatever the number of contents; call it inside the transaction that references them.
    """
    wanted = {item.sha256: item for item in spooled}
    if not wanted:
        return {}
    with transaction.atomic():
        kept = {row.sha256: row for row in StoredContent.objects.select_for_update().filter(pk__in=list(wanted))}
        saved: dict[str, str] = {}
        for sha256, item in wanted.items():
            if sha256 in kept:
                continue
            # The storage may give another name when the file is there already (left by a collection that
            # has not removed it yet, or by a crash): the row records whichever name it gave.
            saved[sha256] = _save(item, storage_name_for(sha256))
        if not saved:
            return kept
        # A concurrent transaction storing the same bytes makes the insert wait for it, then skip the row.
        StoredContent.objects.bulk_create(
            [StoredContent(sha256=sha, size=wanted[sha].size, storage_name=name) for sha, name in saved.items()],
            ignore_conflicts=True,
        )
        for row in StoredContent.objects.select_for_update().filter(pk__in=list(saved)):
            kept[row.sha256] = row
            if row.storage_name != saved[row.sha256]:
                default_storage.delete(saved[row.sha256])  # the other transaction's copy is the one kept
        return kept


def _save(item: Spooled, name: str) -> str:
    """Put the spooled content into ``default_storage`` at ``name`` (or the free name it gives); that name."""
    storage = _disk_storage()
    if storage is not None and item.link_from is not None:
        item.file.flush()
        linked = _link(storage, item.link_from, name)
        if linked is not None:
            return linked
    item.file.seek(0)
    return default_storage.save(name, File(item.file))


def _link(storage: FileSystemStorage, source: str, name: str) -> str | None:
    """Give the file at ``source`` the storage name ``name`` (or a free one) without copying it; None if refused."""
    _makedirs(storage, os.path.dirname(storage.path(name)))
    while True:
        name = storage.get_available_name(name)
        target = storage.path(name)
        try:
            _hard_link(source, target)
        except FileExistsError:
            continue  # taken since the storage looked: another name, as FileSystemStorage.save does
        except OSError as exc:
            logger.debug("Copying a library content into the storage, it cannot be linked there: %s", exc)
            return None
        break
    if storage.file_permissions_mode is not None:
        os.chmod(target, storage.file_permissions_mode)
    return name


def _hard_link(source: str, target: str) -> None:
    """``os.link`` that follows a ``/proc/self/fd`` link to the unnamed file it stands for.

    With its defaults ``os.link`` calls link(2), which on Linux links the magic link itself (and fails
    across devices); given a directory fd it calls linkat(2) with AT_SYMLINK_FOLLOW. The source is an
    absolute path, so which directory does not matter.
    """
    if os.link not in os.supports_dir_fd:
        os.link(source, target)
        return
    root = os.open("/", os.O_RDONLY)
    try:
        os.link(source, target, src_dir_fd=root, follow_symlinks=True)
    finally:
        os.close(root)


def content_keep(spooled: Spooled) -> StoredContent:
    """The StoredContent of ``spooled``: the existing one (locked) or a new one saved into storage."""
    return contents_keep([spooled])[spooled.sha256]


def content_store(
    stream: Iterator[bytes] | Iterable[bytes] | IO[bytes], *, max_bytes: int | None = None
) -> StoredContent:
    """Stream ``stream`` into storage once per sha256 (see ``content_spool`` and ``content_keep``)."""
    with content_spool(stream, max_bytes=max_bytes) as spooled, transaction.atomic():
        return content_keep(spooled)


def content_open(sha256: str) -> IO[bytes]:
    """The stored bytes of ``sha256``, open for reading; NotFound when no such content is stored."""
    content = StoredContent.objects.filter(pk=sha256).first()
    if content is None:
        raise NotFound("The file's content is not stored.")
    try:
        handle: IO[bytes] = default_storage.open(content.storage_name, "rb")
    except FileNotFoundError:
        raise NotFound("The file's content is missing from the storage.") from None
    return handle


def _unreferenced() -> Exists:
    return ~Exists(LibraryFile.objects.filter(sha256=OuterRef("pk")))  # type: ignore[return-value]


def contents_collect(*, candidates: Iterable[str] | None = None) -> int:
    """Delete the stored contents no LibraryFile references (of ``candidates`` only, when given); how many."""
    scope = StoredContent.objects.all()
    if candidates is not None:
        wanted = sorted(set(candidates) - {""})
        if not wanted:
            return 0
        scope = scope.filter(pk__in=wanted)
    names: list[str] = []
    with transaction.atomic():
        # Contents a transaction is keeping for a file are locked by it: skipped, it references them.
        locked = list(
            scope.select_for_update(skip_locked=True).filter(_unreferenced()).values_list("sha256", flat=True)
        )
        if not locked:
            return 0
        # Checked again now that they are locked: a reference committed after the first look counts.
        gone = StoredContent.objects.filter(pk__in=locked).filter(_unreferenced())
        names = list(gone.values_list("storage_name", flat=True))
        count, _ = gone.delete()
        transaction.on_commit(lambda: _delete_files(names))
    return count


def _delete_files(names: list[str]) -> None:
    """Remove the collected contents' files (their rows are gone; a file left behind is only disk space)."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.exception("Could not delete the stored library content %s", name)
