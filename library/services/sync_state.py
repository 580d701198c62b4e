"""What a library sync holds and reports: its claim on the library, its progress and its result (§9).

One sync per library at a time: a sync claims the library with a conditional UPDATE of
``sync_started_at`` that only one caller can win (a second one gets ``SyncInProgress``, a 409), renews
the claim while it works and releases it when done. A claim nobody renewed for STALE_SECONDS belongs to a
process that died and is taken over.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from informer.api.exceptions import Conflict, DomainError
from library.models import Library

__all__ = [
    "Claim",
    "SyncCancelled",
    "SyncInProgress",
    "SyncProgress",
    "SyncResult",
    "sync_claim",
    "sync_claimed",
    "sync_stale_before",
]

logger = logging.getLogger(__name__)

STALE_SECONDS = 3600  # a claim not renewed for this long belongs to a sync that died
RENEW_SECONDS = 30.0  # how often a running sync renews its claim


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
    # Why the library as a whole failed, for callers that act on it (not in the §9 answer): the listing
    # failed (nothing was changed; trying again may help), or deletions were refused as too many at once.
    listing_failed: bool = False
    mass_delete_refused: bool = False

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
