"""What a library sync holds and reports: its claim on the library, its progress and its result (§9).

One sync per library at a time: a sync claims the library's ``sync_started_at`` (``library.services.claims``)
with a conditional UPDATE that only one caller can win (a second one gets ``SyncInProgress``, a 409), renews
the claim while it works and releases it when done; a claim left by a process that died is taken over.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from informer.api.exceptions import Conflict
from library.models import Library
from library.services.claims import ClaimField, LibraryClaim, library_claim, library_claimed

__all__ = [
    "SYNC_CLAIM",
    "SyncCancelled",
    "SyncInProgress",
    "SyncProgress",
    "SyncResult",
    "sync_claim",
    "sync_claimed",
]


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


SYNC_CLAIM = ClaimField(
    name="sync_started_at",
    busy=SyncInProgress,
    taken_over="Another sync took this library over (this one had stalled); it stopped.",
    work="sync",
)


def sync_claimed(library: Library) -> bool:
    """Whether a live sync holds ``library`` now (an abandoned claim does not count)."""
    return library_claimed(library, SYNC_CLAIM)


def sync_claim(library_id: uuid.UUID) -> AbstractContextManager[LibraryClaim]:
    """Hold the library's sync claim for the block; SyncInProgress (409) when another sync holds it."""
    return library_claim(library_id, SYNC_CLAIM)
