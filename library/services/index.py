"""Indexing a library for search (§9 "Index"): its files' text extracted, chunked, embedded and stored.

One indexing per library at a time: it claims ``Library.index_started_at`` (``library.services.claims``)
with a conditional UPDATE only one caller can win (``IndexBusy``, a 409, for the others), renews the claim
while it works and releases it at the end; a claim left by a process that died is taken over.

Incremental by sha256: the sync (and an upload) sets a file whose content changed to ``pending``, and only
pending files are read. ``force``, or an embedder other than the one the library was indexed with
(``Library.index_model``), makes every file with content pending. Each file to do ends in one of:

- ``indexed``: its chunks (``library.chunking``, at most MAX_TOKENS of the embedder's tokens) stored;
- ``no_text``: nothing to index in it (a scanned PDF, an empty file), with the reason;
- ``skipped``: a format that is not indexed, or larger than ``INFORMER_LIBRARY_MAX_INDEX_BYTES``, with
  the reason (it is not read at all then);
- ``error``: its extraction failed (a broken or encrypted file), with the reason.

None of these stops the rest. Chunks are embedded EMBED_BATCH texts at a time, gathered across files (the
embedder orders them by length into its own batches, so a batch pads little), then each file is written in
one transaction:
its old chunks deleted, the new ones created and handed to the vector store, its status set, the
library's ``index_version`` raised. That write happens only if the file's sha256 is still the one that
was read: a file changed meanwhile is left pending (with its old chunks) for the next indexing. A write
or an embedding that fails leaves the file as it was (pending, its old chunks kept) and makes the result
``success: false``; a file's own failure (``error``) does not, as indexing again would not change it.

Chunks of rows that no longer have content (a file that became a folder, or grew past the sync's size
limit) are deleted first. ``index_model`` is written only once every file the embedder change made
pending was written, so a library whose vectors mix two embedders is never taken for the new one's.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone

from informer.api.exceptions import Conflict, DomainError
from library.chunking import ChunkText, chunk_pages
from library.content import content_open
from library.embedding import Embedder, embedder_path, get_embedder
from library.extract import SUPPORTED_EXTENSIONS, ExtractionError, UnsupportedFormat, extract, format_of
from library.models import Chunk, IndexStatus, Library, LibraryFile
from library.services.claims import ClaimField, LibraryClaim, library_claim, library_claimed
from library.services.files import size_text
from library.services.sync_state import SyncResult
from library.vectors import VectorStore, refresh_vector_statistics, vector_bytes, vector_store

__all__ = [
    "INDEX_CLAIM",
    "IndexBusy",
    "IndexCancelled",
    "IndexProgress",
    "IndexResult",
    "index_after_sync",
    "index_claimed",
    "index_enqueue",
    "index_outdated",
    "library_index",
]

logger = logging.getLogger(__name__)

MAX_TOKENS = 200  # per chunk, in the embedder's own tokens (§9: "at most ~200 wordpieces")
OVERLAP_TOKENS = 32
# Texts per call of the embedder, gathered across files: the embedder orders them by length before it cuts
# its own batches, so a wide window pads little (with 64, padding cost about a fifth of the embedding time).
EMBED_BATCH = 256
# An indexing that stored at least this many chunks refreshes the vector table's statistics (pgvector).
ANALYZE_AFTER_CHUNKS = 1000
WRITE_BATCH = 500  # chunks per INSERT


class IndexBusy(Conflict):
    """Another indexing of this library is running: the 409."""

    def __init__(self, message: str = "The library is already being indexed.") -> None:
        super().__init__(message)


class IndexCancelled(Exception):
    """The indexing stopped because its ``cancelled`` callback said so; the files written so far are kept."""

    def __init__(self, result: IndexResult) -> None:
        self.message = "The indexing was cancelled; the files indexed so far are kept, the others stay pending."
        super().__init__(self.message)
        self.result = result


@dataclass
class IndexProgress:
    """How far an indexing is: files done of those to do, chunks stored, the file done last."""

    files_done: int
    files_total: int
    chunks: int
    path: str


@dataclass
class IndexResult:
    """What an indexing did. ``errors`` holds ``{path, error}`` per file that failed (``""`` for the library);
    ``duration`` is in seconds."""

    indexed: int = 0
    unchanged: int = 0
    no_text: int = 0
    skipped: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    chunks: int = 0
    duration: float = 0.0
    success: bool = True

    def error(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "error": message})

    def to_dict(self) -> dict[str, Any]:
        """The result in the API's camelCase."""
        return {
            "indexed": self.indexed,
            "unchanged": self.unchanged,
            "noText": self.no_text,
            "skipped": self.skipped,
            "errors": [dict(error) for error in self.errors],
            "chunks": self.chunks,
            "duration": self.duration,
            "success": self.success,
        }


# --- The claim ----------------------------------------------------------------------------------------------


INDEX_CLAIM = ClaimField(
    name="index_started_at",
    busy=IndexBusy,
    taken_over="Another indexing took this library over (this one had stalled); it stopped.",
    work="index",
)


def index_claimed(library: Library) -> bool:
    """Whether a live indexing holds ``library`` now (an abandoned claim does not count)."""
    return library_claimed(library, INDEX_CLAIM)


# --- Indexing -----------------------------------------------------------------------------------------------


def library_index(
    library: Library,
    *,
    force: bool = False,
    progress: Callable[[IndexProgress], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> IndexResult:
    """Index ``library``'s new and changed files (every file with ``force``); IndexBusy when one runs already.

    ``progress`` is called at the start and after every file; ``cancelled`` is asked before every file, and
    when it says so the files read so far are written and IndexCancelled is raised (with the result).
    """
    started = time.monotonic()
    embedder = get_embedder()
    with library_claim(library.pk, INDEX_CLAIM) as claim:
        indexing = _Indexing(library, claim, embedder, progress=progress, cancelled=cancelled)
        try:
            indexing.run(force=force)
        finally:
            indexing.result.duration = round(time.monotonic() - started, 3)
    return indexing.result


@dataclass
class _File:
    """A file to index, as it was read from its row."""

    id: uuid.UUID
    path: str
    filename: str
    content_type: str
    size: int
    sha256: str


_FILE_FIELDS = ("id", "path", "filename", "content_type", "size", "sha256")


@dataclass
class _Outcome:
    """What became of one file: its status and reason, and its chunks with their vectors as they are embedded."""

    file: _File
    status: str
    reason: str = ""
    chunks: list[ChunkText] = field(default_factory=list)
    vectors: np.ndarray | None = None
    waiting: int = 0  # chunks not embedded yet
    failed: str = ""  # why it could not be embedded: it is left as it was


class _Indexing:
    """One indexing's state: the files to do, the chunks waiting for the embedder, the counts."""

    def __init__(
        self,
        library: Library,
        claim: LibraryClaim,
        embedder: Embedder,
        *,
        progress: Callable[[IndexProgress], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        self.library = library
        self.claim = claim
        self.embedder = embedder
        self.progress = progress
        self.cancelled = cancelled
        self.result = IndexResult()
        self.store: VectorStore = vector_store(embedder.dimensions)
        self.max_bytes = int(settings.INFORMER_LIBRARY_MAX_INDEX_BYTES)
        self.files_total = 0
        self.files_done = 0
        self.left_undone = 0  # files whose write or embedding failed: still pending
        self.texts: deque[tuple[_Outcome, int]] = deque()  # chunks waiting for the embedder, in file order
        self.outcomes: deque[_Outcome] = deque()  # files waiting to be written, in order

    def run(self, *, force: bool) -> None:
        indexed_with = Library.objects.filter(pk=self.library.pk).values_list("index_model", flat=True).first()
        everything = force or indexed_with != self.embedder.name
        self._drop_strays()
        with_content = LibraryFile.objects.filter(library_id=self.library.pk, directory=False).exclude(sha256="")
        todo = with_content if everything else with_content.filter(index_status=IndexStatus.PENDING)
        files = [_File(*row) for row in todo.order_by("path").values_list(*_FILE_FIELDS)]
        self.result.unchanged = with_content.count() - len(files)
        self.files_total = len(files)
        self._report("")
        try:
            for file in files:
                self._check()
                self._queue(self._extract(file))
                while len(self.texts) >= EMBED_BATCH:
                    self._embed()
                self._write_ready()
        except IndexCancelled:
            self._flush()
            self.result.success = False
            raise
        self._flush()
        if self.result.chunks >= ANALYZE_AFTER_CHUNKS:
            refresh_vector_statistics()
        self.result.success = self.left_undone == 0
        fields: dict[str, Any] = {"indexed_at": timezone.now()}
        if not (everything and self.left_undone):
            fields["index_model"] = self.embedder.name
        self.claim.release(**fields)
        for name, value in fields.items():
            setattr(self.library, name, value)
        self.library.index_started_at = None
        version = Library.objects.filter(pk=self.library.pk).values_list("index_version", flat=True).first()
        self.library.index_version = version or 0

    def _drop_strays(self) -> None:
        """Delete the chunks of rows that have no content any more (a file now a folder, or over the sync's limit)."""
        strays = Chunk.objects.filter(library_id=self.library.pk).filter(Q(file__directory=True) | Q(file__sha256=""))
        with transaction.atomic():
            deleted, _ = strays.delete()
            if deleted:
                self._bump()

    # Per file

    def _extract(self, file: _File) -> _Outcome:
        """Read and chunk ``file``, or say why not; its failures are its own (the next file goes on)."""
        if file.size > self.max_bytes:
            reason = (
                f"The file is larger than the {size_text(self.max_bytes)} limit for indexing "
                "(INFORMER_LIBRARY_MAX_INDEX_BYTES); it is not indexed."
            )
            return _Outcome(file, IndexStatus.SKIPPED, reason)
        if format_of(file.filename, file.content_type) is None:
            reason = f"Not a format that is indexed ({', '.join(SUPPORTED_EXTENSIONS)}); it is not read."
            return _Outcome(file, IndexStatus.SKIPPED, reason)
        try:
            with content_open(file.sha256) as handle:
                extracted = extract(handle, filename=file.filename, content_type=file.content_type)
        except UnsupportedFormat as error:
            return _Outcome(file, IndexStatus.SKIPPED, str(error))
        except ExtractionError as error:
            return _Outcome(file, IndexStatus.ERROR, str(error))
        except DomainError as error:  # the stored content is gone
            return _Outcome(file, IndexStatus.ERROR, error.message)
        except Exception as error:
            # Parsers of files from anywhere raise what they raise on a malformed one: that file fails, the
            # library's indexing goes on.
            logger.exception("Extracting the text of %s (library %s) failed", file.path, self.library.pk)
            return _Outcome(
                file, IndexStatus.ERROR, f"The text could not be extracted: {type(error).__name__}: {error}"
            )
        if not extracted.has_text:
            return _Outcome(file, IndexStatus.NO_TEXT, _NO_TEXT)
        chunks = chunk_pages(
            extracted.pages, self.embedder.token_counts, max_tokens=MAX_TOKENS, overlap_tokens=OVERLAP_TOKENS
        )
        if not chunks:
            return _Outcome(file, IndexStatus.NO_TEXT, _NO_TEXT)
        return _Outcome(file, IndexStatus.INDEXED, chunks=chunks)

    def _queue(self, outcome: _Outcome) -> None:
        self.outcomes.append(outcome)
        if outcome.chunks:
            count = len(outcome.chunks)
            outcome.vectors = np.empty((count, self.embedder.dimensions), dtype=np.float32)
            outcome.waiting = count
            self.texts.extend((outcome, ordinal) for ordinal in range(count))

    def _embed(self) -> None:
        """Embed the next EMBED_BATCH waiting chunks (by length within the batch) and hand back their vectors."""
        batch: list[tuple[_Outcome, int]] = []
        while self.texts and len(batch) < EMBED_BATCH:
            item = self.texts.popleft()
            if not item[0].failed:
                batch.append(item)
        if not batch:
            return
        batch.sort(key=lambda item: len(item[0].chunks[item[1]].text))
        try:
            vectors = self.embedder.embed([outcome.chunks[ordinal].text for outcome, ordinal in batch])
            if vectors.shape != (len(batch), self.embedder.dimensions):
                raise ValueError(f"it gave vectors of shape {vectors.shape} for {len(batch)} texts")
        except Exception as error:
            # The embedder failing (out of memory, a model file gone) fails the files of this batch, which
            # stay as they were for the next indexing; the others go on.
            logger.exception("Embedding chunks of library %s failed", self.library.pk)
            for outcome, _ in batch:
                outcome.failed = f"Embedding its text failed, it stays pending: {type(error).__name__}: {error}"
            return
        for row, (outcome, ordinal) in enumerate(batch):
            assert outcome.vectors is not None
            outcome.vectors[ordinal] = vectors[row]
            outcome.waiting -= 1

    def _flush(self) -> None:
        while self.texts:
            self._embed()
        self._write_ready()

    def _write_ready(self) -> None:
        """Write the files, in order, whose chunks are all embedded (or that have none)."""
        while self.outcomes and (self.outcomes[0].waiting == 0 or self.outcomes[0].failed):
            outcome = self.outcomes.popleft()
            if outcome.failed:
                self.result.error(outcome.file.path, outcome.failed)
                self.left_undone += 1
            else:
                self._write(outcome)
            self.files_done += 1
            self._report(outcome.file.path)

    def _write(self, outcome: _Outcome) -> None:
        """Replace the file's chunks and set its status, in one transaction, if its content is still the one read."""
        file = outcome.file
        try:
            with transaction.atomic():
                now = timezone.now()
                written = LibraryFile.objects.filter(pk=file.id, sha256=file.sha256).update(
                    index_status=outcome.status,
                    index_error=outcome.reason,
                    indexed_at=now,
                    chunks=len(outcome.chunks),
                    updated_at=now,
                )
                if not written:
                    return  # changed (or deleted) since it was read: the next indexing takes it, pending
                deleted, _ = Chunk.objects.filter(file_id=file.id).delete()
                created = Chunk.objects.bulk_create(self._chunks(outcome), batch_size=WRITE_BATCH)
                if created:
                    self.store.add(created)
                if deleted or created:
                    self._bump()
        except DatabaseError as error:
            logger.exception("Writing the index of %s (library %s) failed", file.path, self.library.pk)
            self.result.error(file.path, f"Writing its index failed, it stays pending with its old chunks: {error}")
            self.left_undone += 1
            return
        self.result.chunks += len(outcome.chunks)
        if outcome.status == IndexStatus.INDEXED:
            self.result.indexed += 1
        elif outcome.status == IndexStatus.NO_TEXT:
            self.result.no_text += 1
        elif outcome.status == IndexStatus.SKIPPED:
            self.result.skipped += 1
        else:
            self.result.error(file.path, outcome.reason)

    def _chunks(self, outcome: _Outcome) -> list[Chunk]:
        assert outcome.vectors is not None or not outcome.chunks
        return [
            Chunk(
                library_id=self.library.pk,
                file_id=outcome.file.id,
                ordinal=chunk.ordinal,
                page=chunk.page,
                start=chunk.start,
                end=chunk.end,
                text=_storable(chunk.text),
                vector=vector_bytes(outcome.vectors[row]),  # type: ignore[index]
            )
            for row, chunk in enumerate(outcome.chunks)
        ]

    def _bump(self) -> None:
        """Tell in-process vector caches that this library's chunks changed."""
        Library.objects.filter(pk=self.library.pk).update(index_version=F("index_version") + 1)

    # Progress and cancellation

    def _check(self) -> None:
        self.claim.renew()
        if self.cancelled is not None and self.cancelled():
            raise IndexCancelled(self.result)

    def _report(self, path: str) -> None:
        if self.progress is not None:
            self.progress(IndexProgress(self.files_done, self.files_total, self.result.chunks, path))


_NO_TEXT = "No text was found in the file (a scanned document or an image has none to index)."


def _storable(text: str) -> str:
    """``text`` as every database stores it, its length kept (offsets stay true): no NUL, no lone surrogate."""
    text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def index_enqueue(library: Library) -> None:
    """Index ``library`` on a worker (``library.tasks.index_library``) once the current transaction commits."""
    from django_q.tasks import async_task

    library_id = str(library.pk)
    transaction.on_commit(
        lambda: async_task("library.tasks.index_library", library_id, task_name=f"index-library-{library_id}")
    )


def index_after_sync(library: Library, result: SyncResult) -> bool:
    """Whether a sync of ``library`` is followed by indexing: it is ``embedded`` and the sync did not fail as a whole.

    A listing that failed changed nothing, and refused deletions leave the mirror unlike the remote: neither
    indexes. Files that could not be fetched keep their previous copy, so the others are indexed.
    """
    return library.embedded and not (result.listing_failed or result.mass_delete_refused)


def _embedder_name() -> str:
    """The configured embedder's name, read off its class when it says it there (no model loaded for that)."""
    from django.utils.module_loading import import_string

    name = getattr(import_string(embedder_path()), "name", None)
    return name if isinstance(name, str) else get_embedder().name


def index_outdated(library: Library) -> bool:
    """Whether indexing ``library`` would do anything: files pending, or chunks of another embedder (or none yet)."""
    if library.index_model != _embedder_name():
        return True
    pending = LibraryFile.objects.filter(library_id=library.pk, directory=False, index_status=IndexStatus.PENDING)
    return pending.exclude(sha256="").exists()
