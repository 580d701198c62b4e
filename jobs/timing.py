"""The bridge between a stored job and the pure schedule engine."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

from jobs import schedule
from jobs.models import Job


def parse_bound(value: str) -> date | datetime | None:
    """A stored ``startOn``/``endOn``: a bare date or an aware UTC datetime (or nothing)."""
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value)


def job_schedule(job: Job) -> schedule.Schedule:
    """The parsed schedule of a job; raises ``schedule.ScheduleError`` naming the field."""
    return schedule.parse_schedule(
        interval=job.interval or None,
        interval_type=job.interval_type,
        timezone=job.timezone,
        start_on=parse_bound(job.start_on),
        end_on=parse_bound(job.end_on),
        dst_policy=job.dst_policy or None,
        anchor=job.schedule_anchor,
    )


def job_next_run_at(job: Job, *, after: datetime | None = None) -> datetime | None:
    """When a committed, enabled job fires next strictly after ``after`` (default now); None otherwise.

    The scheduler passes the occurrence it just fired as ``after``, never "now", so a late tick does not
    shift the series.
    """
    if not job.enabled or job.is_draft:
        return None
    return schedule.next_fire_time(job_schedule(job), after or timezone.now())
