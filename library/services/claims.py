"""A library held by one piece of work at a time (§9): a claim on one of the library's timestamp fields.

A sync claims ``Library.sync_started_at``, an indexing ``Library.index_started_at`` (a ``ClaimField`` each):
the claim is a conditional UPDATE of that field that only one caller can win (the others get the field's
busy error, a 409), renewed while the work goes on and released at its end. A claim nobody renewed for
STALE_SECONDS belongs to a process that died and is taken over. The two fields are independent: a sync
and an indexing of one library may run at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import DatabaseError
from django.db.models import Q, QuerySet
from django.utils import timezone

from informer.api.exceptions import Conflict, DomainError
from library.models import Library

__all__ = ["ClaimField", "LibraryClaim", "claim_stale_before", "library_claim", "library_claimed"]

logger = logging.getLogger(__name__)

STALE_SECONDS = 3600  # a claim not renewed for this long belongs to work that died
RENEW_SECONDS = 30.0  # how often running work renews its claim


class Busy(Protocol):
    """The 409 of a claim already held: made with its default message, or with a message of its own."""

    def __call__(self, message: str = ...) -> Conflict: ...


@dataclass(frozen=True)
class ClaimField:
    """What one kind of work claims: the ``Library`` field, its 409, and the words its log and errors use."""

    name: str  # the Library's DateTimeField, e.g. "sync_started_at"
    busy: Busy
    taken_over: str  # the busy error's message when a renewal finds another caller took the claim over
    work: str  # names the claim in the log: "sync", "index"


def claim_stale_before(now: dt.datetime | None = None) -> dt.datetime:
    """Claims older than this are abandoned: their work died without releasing them."""
    return (now or timezone.now()) - dt.timedelta(seconds=STALE_SECONDS)


def library_claimed(library: Library, claim_field: ClaimField) -> bool:
    """Whether live work holds ``library``'s ``claim_field`` now (an abandoned claim does not count)."""
    started = getattr(library, claim_field.name)
    return started is not None and started >= claim_stale_before()


@dataclass
class LibraryClaim:
    """A library's ``claim_field`` held by one caller: ``token`` is the value it wrote there."""

    library_id: uuid.UUID
    claim_field: ClaimField
    token: dt.datetime
    renewed: float = field(default_factory=time.monotonic)

    def renew(self) -> None:
        """Keep the claim alive (at most every RENEW_SECONDS); the field's busy error if another caller took it over."""
        if time.monotonic() - self.renewed < RENEW_SECONDS:
            return
        now = timezone.now()
        if not self._held().update(**{self.claim_field.name: now}):
            raise self.claim_field.busy(self.claim_field.taken_over)
        self.token, self.renewed = now, time.monotonic()

    def release(self, **fields: Any) -> int:
        """Let the next caller in, writing ``fields`` with it (not when another caller took the claim over)."""
        return self._held().update(**{self.claim_field.name: None}, **fields)

    def _held(self) -> QuerySet[Library]:
        return Library.objects.filter(pk=self.library_id, **{self.claim_field.name: self.token})


@contextmanager
def library_claim(library_id: uuid.UUID, claim_field: ClaimField) -> Iterator[LibraryClaim]:
    """Hold the library's ``claim_field`` for the block; the field's busy error (409) when another caller holds it."""
    now = timezone.now()
    name = claim_field.name
    # One conditional UPDATE: of two callers only one matches the row.
    free = Q(**{f"{name}__isnull": True}) | Q(**{f"{name}__lt": claim_stale_before(now)})
    if not Library.objects.filter(free, pk=library_id).update(**{name: now}):
        if not Library.objects.filter(pk=library_id).exists():
            raise DomainError("The library no longer exists.")
        raise claim_field.busy()
    claim = LibraryClaim(library_id=library_id, claim_field=claim_field, token=now)
    try:
        yield claim
    finally:
        try:
            claim.release()  # a no-op once the work released it itself, with fields of its own
        except DatabaseError:  # the database went away: the claim goes stale and is taken over
            logger.exception("Could not release the %s claim of library %s", claim_field.work, library_id)
