"""The scheduler's work: claim due jobs, record their occurrences, advance ``next_run_at``, enqueue.

One tick is cheap when nothing is due: a single index range scan on ``job_due_idx``. Several
schedulers may tick at once: on PostgreSQL they skip each other's locked rows; on every database a
job is claimed with a conditional UPDATE on the ``next_run_at`` it was read with, which only one
process can win; and ``(job, scheduled_for)`` is unique, so an occurrence can never be recorded twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from jobs import schedule, timing
from jobs.models import Job, MisfirePolicy, OverlapPolicy
from runs import services, triggers
from runs.models import ACTIVE_STATUSES, Run, RunStatus, Trigger

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Bounded work per job per tick: an outage of years on an every-minute job is walked through in
# chunks over several ticks instead of one giant transaction.
MAX_OCCURRENCES_PER_TICK = 1000


@dataclass
class TickResult:
    """What one tick did."""

    claimed: int = 0
    runs: int = 0
    skipped: int = 0
    missed: int = 0
    reaped: int = 0
    dispatched: int = 0
    run_ids: list = field(default_factory=list)


@dataclass
class Plan:
    """What to record for one due job."""

    records: list[Run]
    next_run_at: datetime | None


def plan_job(job: Job, now: datetime, active: list[str], grace: timedelta) -> Plan:
    """Decide the records of every occurrence of ``job`` due by ``now`` and its next fire time.

    ``active`` lists the statuses of the job's queued/running runs before this tick.
    """
    try:
        parsed = timing.job_schedule(job)
    except schedule.ScheduleError as error:
        logger.error("Job %s has an invalid schedule and will not fire: %s", job.pk, error.message)
        return Plan(records=[], next_run_at=None)

    occurrences: list[datetime] = []
    cursor: datetime | None = job.next_run_at
    while cursor is not None and cursor <= now and len(occurrences) < MAX_OCCURRENCES_PER_TICK:
        occurrences.append(cursor)
        cursor = schedule.next_fire_time(parsed, cursor)
    more_pending = cursor is not None and cursor <= now
    # Fire the next series from the occurrence itself, never from "now", so a late tick does not
    # shift the series (cursor is the first occurrence not handled in this tick).
    next_run_at = cursor

    on_time = [moment for moment in occurrences if now - moment <= grace]
    late = [moment for moment in occurrences if now - moment > grace]
    to_run: list[tuple[datetime, str]] = [(moment, Trigger.SCHEDULE) for moment in on_time]
    missed = list(late)
    if late and not more_pending:
        # Only the chunk holding the newest occurrences applies the misfire policy.
        if job.misfire_policy == MisfirePolicy.RUN_ONCE and not on_time:
            to_run.insert(0, (late[-1], Trigger.CATCH_UP))
            missed = late[:-1]
        elif job.misfire_policy == MisfirePolicy.RUN_ALL:
            keep = late[-job.max_catch_up :]
            to_run = [(moment, Trigger.CATCH_UP) for moment in keep] + to_run
            missed = late[: len(late) - len(keep)]

    records = [
        Run(
            job=job,
            tenant_id=job.tenant_id,
            owner_id=job.owner_id,
            trigger=Trigger.SCHEDULE,
            triggered_by=triggers.by_scheduler(Trigger.SCHEDULE),
            scheduled_for=moment,
            status=RunStatus.MISSED,
            success=False,
            ended_at=now,
            error=f"Missed: the scheduler was not running within {int(grace.total_seconds())} s of this occurrence.",
        )
        for moment in missed
    ]
    # Overlap is judged against the runs that existed before this tick; the runs a tick records
    # together (a runAll catch-up) then run one after another, as the claim serialises them.
    waiting = active.count(RunStatus.QUEUED)
    skip_reason = None
    if job.overlap_policy == OverlapPolicy.SKIP and active:
        skip_reason = "Skipped: the previous run was still going."
    elif job.overlap_policy == OverlapPolicy.QUEUE and waiting:
        skip_reason = "Skipped: a run is already waiting for the current one to finish."
    for moment, trigger in to_run:
        run = Run(
            job=job,
            tenant_id=job.tenant_id,
            owner_id=job.owner_id,
            trigger=trigger,
            triggered_by=triggers.by_scheduler(trigger),
            scheduled_for=moment,
            # A queued run is enqueued when the tick commits (see services.enqueue_on_commit).
            enqueued_at=None if skip_reason else now,
        )
        if skip_reason:
            run.status, run.success, run.ended_at, run.error = RunStatus.SKIPPED, False, now, skip_reason
        records.append(run)
    return Plan(records=records, next_run_at=next_run_at)


def _claim(plans: list[tuple[Job, Plan]]) -> set[object]:
    """Advance each job's ``next_run_at``; returns the ids of the jobs this process won.

    The claim: only the process that still sees the ``next_run_at`` it read may fire a job. Jobs that
    move from the same ``next_run_at`` to the same next one (a burst of jobs sharing a schedule) are
    claimed with one UPDATE; if it does not win them all, it is undone and they are claimed one by one.
    """
    groups: dict[tuple[datetime | None, datetime | None], list[Job]] = {}
    for job, plan in plans:
        groups.setdefault((job.next_run_at, plan.next_run_at), []).append(job)
    won: set[object] = set()
    for (current, following), members in groups.items():
        if len(members) > 1:
            ids = [job.pk for job in members]
            savepoint = transaction.savepoint()
            if Job.objects.filter(pk__in=ids, next_run_at=current).update(next_run_at=following) == len(ids):
                transaction.savepoint_commit(savepoint)
                won.update(ids)
                continue
            transaction.savepoint_rollback(savepoint)
        for job in members:
            if Job.objects.filter(pk=job.pk, next_run_at=current).update(next_run_at=following):
                won.add(job.pk)
    return won


def _firing() -> QuerySet[Job]:
    """Jobs that fire: enabled and committed (the rows ``job_due_idx`` covers)."""
    return Job.objects.filter(enabled=True, editing_of__isnull=True)


def due_jobs(now: datetime) -> QuerySet[Job]:
    """Jobs due by ``now``, oldest first; on PostgreSQL locked, skipping rows another scheduler holds."""
    due = _firing().filter(next_run_at__lte=now).select_related("tenant").order_by("next_run_at")
    if connection.features.has_select_for_update_skip_locked:
        due = due.select_for_update(skip_locked=True, of=("self",))
    return due


def fire_due(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> TickResult:
    """Record every due occurrence of every due job, in batches, and enqueue the runs after commit."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.INFORMER_MISFIRE_GRACE)
    result = TickResult()
    # A read first: on SQLite the transaction below takes the write lock, which an idle pass (the
    # common case) has no reason to hold.
    if not _firing().filter(next_run_at__lte=now).exists():
        return result
    while True:
        with transaction.atomic():
            jobs = list(due_jobs(now)[:batch_size])
            if not jobs:
                break
            active: dict[object, list[str]] = {job.pk: [] for job in jobs}
            for job_id, status in Run.objects.filter(job_id__in=list(active), status__in=ACTIVE_STATUSES).values_list(
                "job_id", "status"
            ):
                active[job_id].append(status)
            plans = [(job, plan_job(job, now, active[job.pk], grace)) for job in jobs]
            won = _claim(plans)
            records: list[Run] = []
            for job, plan in plans:
                if job.pk not in won:
                    continue
                result.claimed += 1
                records.extend(plan.records)
            Run.objects.bulk_create(records, ignore_conflicts=True, batch_size=500)
            queued = [run for run in records if run.status == RunStatus.QUEUED]
            result.runs += len(queued)
            result.skipped += sum(run.status == RunStatus.SKIPPED for run in records)
            result.missed += sum(run.status == RunStatus.MISSED for run in records)
            result.run_ids.extend(run.pk for run in queued)
            services.enqueue_on_commit(queued)
        if len(jobs) < batch_size:
            break
    return result


def tick(*, now: datetime | None = None) -> TickResult:
    """One scheduler pass: fire what is due, reap lost runs, dispatch waiting ones."""
    now = now or timezone.now()
    result = fire_due(now=now)
    result.reaped = len(services.runs_reap(now=now))
    result.dispatched = services.runs_dispatch(now=now)
    return result


def seconds_until_next_due(*, now: datetime | None = None, cap: float = 1.0) -> float:
    """How long the scheduler may sleep: until the next due job, at most ``cap`` seconds."""
    now = now or timezone.now()
    upcoming = (
        _firing()
        .filter(next_run_at__isnull=False)
        .order_by("next_run_at")
        .values_list("next_run_at", flat=True)
        .first()
    )
    if upcoming is None:
        return cap
    return max(0.0, min(cap, (upcoming - now).total_seconds()))
