"""A worker process's write-behind of jobs' last-run fields (``lastRunAt``, ``lastSuccess``).

These fields are for display and sorting; the run history is the record. Writing them at the end of
every run costs more than the run's own final write (the job row is wide and referenced by many
tables, so each update loads its constraint triggers). In a worker process they are therefore kept
in memory and written by the worker's heartbeat thread at most ``FLUSH_SECONDS`` later, one
transaction for all the jobs whose runs ended meanwhile, and once more when the process exits. A
worker killed outright loses at most that last second of them; the job's next run writes them again.

Elsewhere (the scheduler's reaper, ``run_job``, the web process, django-q2's sync mode) nothing is
deferred: the caller writes at once.

A job's ``lastRunAt`` never moves back: a report about an older run than the one recorded is ignored,
whichever process or order it comes from.
"""

from __future__ import annotations

import logging
import multiprocessing.util
import os
import threading
import uuid
from datetime import datetime

from django.db import transaction

from runs import statements

logger = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0

_lock = threading.Lock()
_pending: dict[uuid.UUID, tuple[datetime, bool]] = {}
_owner: int | None = None  # the process whose heartbeat thread flushes


def start() -> None:
    """Defer from now on in this process; its heartbeat thread calls ``flush``."""
    global _owner
    if _owner == os.getpid():
        return
    _owner = os.getpid()
    _pending.clear()  # what a parent process held before a fork is its own
    # django-q2 worker processes end through multiprocessing, which runs these finalizers (not atexit).
    multiprocessing.util.Finalize(None, flush, exitpriority=10)


def note(job_id: uuid.UUID, last_run_at: datetime, last_success: bool) -> None:
    """Record that a run of ``job_id`` started at ``last_run_at`` ended (successfully or not)."""
    if _owner != os.getpid():
        statements.job_last_run(job_id, last_run_at=last_run_at, last_success=last_success)
        return
    with _lock:
        _merge(job_id, last_run_at, last_success)


def _merge(job_id: uuid.UUID, last_run_at: datetime, last_success: bool) -> None:
    current = _pending.get(job_id)
    if current is None or current[0] <= last_run_at:
        _pending[job_id] = (last_run_at, last_success)


def flush() -> int:
    """Write what is pending, in one transaction; returns how many jobs were written."""
    with _lock:
        if not _pending:
            return 0
        items = list(_pending.items())
        _pending.clear()
    try:
        with transaction.atomic():
            for job_id, (last_run_at, last_success) in items:
                statements.job_last_run(job_id, last_run_at=last_run_at, last_success=last_success)
    except Exception:
        with _lock:  # try again at the next flush, unless something newer arrived meanwhile
            for job_id, (last_run_at, last_success) in items:
                _merge(job_id, last_run_at, last_success)
        raise
    return len(items)
