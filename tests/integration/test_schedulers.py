"""Real ``manage.py scheduler`` processes: on-time firing, several schedulers at once, misfires after an outage."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from jobs.models import Job
from runs.models import Run, RunStatus, Trigger
from tests.factories import JobFactory
from tests.integration.conftest import hold_for, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OCCURRENCE_TRIGGERS = [Trigger.SCHEDULE, Trigger.CATCH_UP]


def floor_minute(moment):
    return moment.replace(second=0, microsecond=0)


def occurrences(job: Job) -> list:
    return list(
        Run.objects.filter(job=job, trigger__in=OCCURRENCE_TRIGGERS)
        .order_by("scheduled_for")
        .values_list("scheduled_for", flat=True)
    )


def test_a_cron_job_fires_on_time_exactly_once(stack, owner):
    # given
    scheduler = stack.scheduler()
    first = (timezone.now() + timedelta(seconds=2)).replace(microsecond=0)
    job = JobFactory(owner=owner, interval="* * * * *", next_run_at=first)

    # when
    run = wait_for(
        lambda: Run.objects.filter(job=job, scheduled_for=first).first(), timeout=10, message="the occurrence fired"
    )

    # then
    lateness = (run.created_at - run.scheduled_for).total_seconds()
    assert 0 <= lateness < 2, f"fired {lateness:.3f} s after its time"
    assert run.trigger == Trigger.SCHEDULE

    def once_per_occurrence() -> bool:
        # Later minute boundaries may legitimately fire while we watch; each occurrence exactly once.
        fired = occurrences(job)
        return fired == due_occurrences(first, until=timezone.now())[: len(fired)]

    hold_for(once_per_occurrence, seconds=2.5, message="each occurrence recorded exactly once")
    assert scheduler.terminate() == 0
    assert once_per_occurrence()
    job.refresh_from_db()
    assert job.next_run_at == floor_minute(first) + timedelta(minutes=len(occurrences(job)))


def due_occurrences(first, *, until) -> list:
    """``first``, then every minute boundary after it up to ``until``."""
    moments = [first]
    step = floor_minute(first) + timedelta(minutes=1)
    while step <= until:
        moments.append(step)
        step += timedelta(minutes=1)
    return moments


POLICIES = ["runAll", "skip", "runOnce"]
WAVE = 600  # more than one scheduler batch (500), so that on PostgreSQL both schedulers get a share


def add_wave(owner, wave: int) -> dict:
    """``WAVE`` every-minute jobs due 0 to 4 minutes ago, with mixed misfire policies; returns their starts."""
    now = timezone.now()
    jobs = [
        Job(
            tenant=owner.tenant,
            owner=owner,
            type="email",
            name=f"Every minute {wave}-{index:03d}",
            slug=f"every-minute-{wave}-{index:03d}",
            interval="* * * * *",
            interval_type="cron",
            timezone="UTC",
            misfire_policy=POLICIES[index % 3],
            max_catch_up=1000,
            next_run_at=floor_minute(now) - timedelta(minutes=index % 5),
        )
        for index in range(WAVE)
    ]
    Job.objects.bulk_create(jobs)
    return {job.pk: job.next_run_at for job in jobs}


def caught_up() -> bool:
    return not Job.objects.filter(next_run_at__lte=timezone.now()).exists()


def test_schedulers_fire_every_occurrence_exactly_once(stack, owner):
    # given
    schedulers = [stack.scheduler(), stack.scheduler()]
    start_of: dict = {}

    # when: waves of due jobs arrive while two schedulers run; one of them dies during the second wave
    start_of |= add_wave(owner, 1)
    wait_for(caught_up, timeout=60, message="wave 1 caught up")
    start_of |= add_wave(owner, 2)
    time.sleep(0.3)  # most likely in the middle of a pass
    os.kill(schedulers[0].pid, signal.SIGKILL)
    wait_for(caught_up, timeout=60, message="wave 2 caught up by the survivor")
    start_of |= add_wave(owner, 3)
    wait_for(caught_up, timeout=60, message="wave 3 caught up")
    assert schedulers[1].terminate() == 0

    # then: per job, every minute from its first due occurrence up to its next one, each recorded once
    recorded: dict = {}
    for job_id, scheduled_for, trigger, status in Run.objects.filter(trigger__in=OCCURRENCE_TRIGGERS).values_list(
        "job_id", "scheduled_for", "trigger", "status"
    ):
        recorded.setdefault(job_id, []).append((scheduled_for, trigger, status))
    duplicates, gaps, extra = [], [], []
    for job_id, next_run_at in Job.objects.values_list("pk", "next_run_at"):
        start = start_of[job_id]
        expected = [start + timedelta(minutes=k) for k in range(int((next_run_at - start).total_seconds() // 60))]
        moments = Counter(moment for moment, _, _ in recorded.get(job_id, []))
        duplicates += [(job_id, moment) for moment, count in moments.items() if count > 1]
        gaps += [(job_id, moment) for moment in expected if moment not in moments]
        extra += [(job_id, moment) for moment in moments if moment not in expected]
    assert len(start_of) == 3 * WAVE
    assert (duplicates, gaps, extra) == ([], [], [])
    outcomes = Counter(
        (policy, trigger, status)
        for job_id, policy in Job.objects.values_list("pk", "misfire_policy")
        for _, trigger, status in recorded[job_id]
    )
    assert outcomes[("runAll", Trigger.SCHEDULE, RunStatus.MISSED)] == 0  # every late one caught up
    assert outcomes[("skip", Trigger.CATCH_UP, RunStatus.QUEUED)] == 0  # no late one ran


def test_misfire_policies_after_an_outage(stack, owner):
    # given: hourly jobs whose next fire time is half an hour from now
    now = timezone.now().replace(microsecond=0)
    anchor = now - timedelta(hours=5, minutes=30)
    cases = {
        "runOnce": {"misfire_policy": "runOnce"},
        "skip": {"misfire_policy": "skip"},
        "runAll": {"misfire_policy": "runAll", "max_catch_up": 3},
    }
    jobs = {
        name: JobFactory(
            owner=owner,
            interval="1 hours",
            interval_type="simple",
            schedule_anchor=anchor,
            next_run_at=anchor + timedelta(hours=6),
            **fields,
        )
        for name, fields in cases.items()
    }
    scheduler = stack.scheduler()
    assert scheduler.terminate() == 0
    assert "Scheduler stopped." in scheduler.output()
    assert Run.objects.count() == 0

    # when: the service was down for six occurrences (moved back while no scheduler ran), then starts
    Job.objects.filter(pk__in=[job.pk for job in jobs.values()]).update(next_run_at=anchor)
    stack.scheduler()
    wait_for(lambda: Run.objects.count() == 18, timeout=15, message="six records per job")

    # then
    late = [anchor + timedelta(hours=hour) for hour in range(6)]
    missed, catch_up = (Trigger.SCHEDULE, RunStatus.MISSED), (Trigger.CATCH_UP, RunStatus.QUEUED)
    expected = {
        "runOnce": [missed] * 5 + [catch_up],
        "skip": [missed] * 6,
        "runAll": [missed] * 3 + [catch_up] * 3,
    }
    for name, job in jobs.items():
        rows = list(
            Run.objects.filter(job=job).order_by("scheduled_for").values_list("scheduled_for", "trigger", "status")
        )
        assert rows == [(moment, *outcome) for moment, outcome in zip(late, expected[name], strict=True)], name
        assert Job.objects.get(pk=job.pk).next_run_at == anchor + timedelta(hours=6)
