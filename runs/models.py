"""What did run: run history with step-by-step progress, and the workers that execute runs."""

from __future__ import annotations

import uuid
from datetime import UTC

from django.db import models
from django.db.models import Q
from django.utils import timezone as django_timezone

from informer.models import Tenant
from jobs.models import Job


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timedOut"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    MISSED = "missed"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
FINAL_STATUSES = tuple(status for status in RunStatus if status not in ACTIVE_STATUSES)


class Trigger(models.TextChoices):
    SCHEDULE = "schedule"
    MANUAL = "manual"
    RETRY = "retry"
    CATCH_UP = "catchUp"


class Run(models.Model):
    """One execution (or one recorded non-execution) of a job: the history record of §6."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No single-column indexes on job, tenant or worker: the composite indexes below lead with job and
    # tenant, and runs are never looked up by worker alone. Every index is opened and maintained on each
    # status change of a run, so each one that answers no query is a cost on every run.
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="runs", db_index=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="runs", db_index=False)
    owner_id = models.BigIntegerField(null=True, blank=True, help_text="The job's owner when the run was made.")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    success = models.BooleanField(null=True, blank=True)
    warnings = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    # Who or what started it, as recorded then (runs/triggers.py lists the forms): {"type": "user", ...}.
    triggered_by = models.JSONField(default=dict, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    retry_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries")
    params = models.JSONField(default=dict, blank=True)
    data = models.JSONField(default=dict, blank=True)
    progress = models.JSONField(default=list, blank=True)
    definition = models.JSONField(default=dict, blank=True, help_text="The job and actions this run executes.")

    created_at = models.DateTimeField(default=django_timezone.now)
    not_before = models.DateTimeField(default=django_timezone.now, help_text="Earliest start (retry backoff).")
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    # The lease: whoever holds lease_token may write to the run; a reaped or cancelled run gets a new
    # token (or none), which fences out a worker that wakes up late.
    # Without a database constraint: its check would run on every claim, and worker records are never
    # deleted (a stopped worker keeps its row as history); Django still nulls the reference if one is.
    worker = models.ForeignKey(
        "runs.Worker",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runs",
        db_index=False,
        db_constraint=False,
    )
    lease_token = models.UUIDField(null=True, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # An occurrence is recorded once, whatever it became (run, skipped or missed): this is what
            # makes several schedulers safe.
            models.UniqueConstraint(
                fields=["job", "scheduled_for"],
                condition=Q(trigger__in=["schedule", "catchUp"]),
                name="run_unique_occurrence",
            ),
        ]
        # Indexes on status are partial: each holds only the row versions in one state, so the claim,
        # the end of a run and the dispatcher read a few entries, not one for every run that ever was
        # queued or ran (a whole-table index on status kept those until vacuum, and a burst of runs
        # made every claim and every end scan them all).
        indexes = [
            models.Index(fields=["job", "-created_at"], name="run_job_created_idx"),
            # The runs going: the claim's limits, the reaper, a job's lockedAt.
            models.Index(fields=["job", "tenant"], condition=Q(status="running"), name="run_running_idx"),
            # The queue, in the order the dispatcher hands it out.
            models.Index(fields=["not_before", "created_at"], condition=Q(status="queued"), name="run_queued_idx"),
            # The runs waiting for a slot (queued, not with the broker): asked at the end of every run,
            # and usually empty.
            models.Index(
                fields=["not_before"], condition=Q(status="queued", enqueued_at__isnull=True), name="run_waiting_idx"
            ),
        ]

    def __str__(self) -> str:
        # How an operator names a run (the admin's titles, links and log): its job and when it was due.
        due = (self.scheduled_for or self.created_at).astimezone(UTC)
        return f"{self.job.name}, {due:%Y-%m-%d %H:%M:%S} UTC"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.ended_at:
            return (self.ended_at - self.started_at).total_seconds()
        return None


class Worker(models.Model):
    """A django-q2 worker process that executes runs; it registers itself and heartbeats."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    cluster = models.CharField(max_length=200, blank=True)
    concurrency = models.PositiveSmallIntegerField(default=1)
    started_at = models.DateTimeField(default=django_timezone.now)
    last_heartbeat_at = models.DateTimeField(default=django_timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_heartbeat_at"]
        constraints = [models.UniqueConstraint(fields=["host", "pid", "started_at"], name="worker_unique_process")]

    def __str__(self) -> str:
        return self.name
