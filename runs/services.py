"""State changes of runs. Every transition is a conditional UPDATE whose row count says who won."""

from __future__ import annotations

import logging
import uuid
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from informer.api.exceptions import Conflict
from jobs.drivers.registry import UnknownDriver, job_driver
from jobs.models import Job, OverlapPolicy
from jobs.selectors import job_definition
from runs import bookkeeping, statements, triggers
from runs.models import ACTIVE_STATUSES, Run, RunStatus, Trigger, Worker

logger = logging.getLogger(__name__)

# Retry backoff: 10 s, 20 s, 40 s... capped at 10 minutes.
RETRY_BASE_SECONDS = 10
RETRY_MAX_SECONDS = 600
# Runs the reaper looks at in one pass (the runs going are at most the concurrency limit).
REAP_BATCH = 5000


def run_enqueue(run_ids: list[uuid.UUID], *, mark: bool = True) -> None:
    """Hand runs to django-q2; call it after the transaction that made them commits.

    ``mark`` notes the time in ``enqueued_at``; runs recorded to be enqueued on commit already carry
    it from their insert (see ``enqueue_on_commit``), so only the dispatcher's runs need it.
    """
    if not run_ids:
        return
    from django_q.brokers import get_broker
    from django_q.conf import Conf
    from django_q.tasks import async_task

    # One broker for the whole batch (django-q2 otherwise builds one per task: a new Redis connection
    # pool each time). With the ORM broker, one transaction for the batch: outside a transaction the
    # broker closes and reopens the database connection for every task (DB_CONN_MAX_AGE=0).
    broker = get_broker()
    batch = transaction.atomic(using=Conf.ORM) if Conf.ORM and not Conf.SYNC else nullcontext()
    with batch:
        if mark:
            Run.objects.filter(pk__in=run_ids, status=RunStatus.QUEUED).update(enqueued_at=timezone.now())
        for run_id in run_ids:
            async_task(
                "runs.tasks.execute_run",
                str(run_id),
                task_name=f"run-{run_id}",
                q_options={"ack_failure": True, "broker": broker},
            )


def enqueue_on_commit(runs: list[Run]) -> None:
    """Enqueue runs once the current transaction commits (never a run the database lost).

    The runs were recorded with ``enqueued_at`` set in this transaction: from the commit on they
    count as handed to the broker, so the dispatcher (which sends runs whose ``enqueued_at`` is
    empty) does not send them a second time in the moment before this enqueue. Should the process
    die between the commit and the enqueue, the dispatcher sends them again once the broker is idle
    and they are ``INFORMER_REDELIVER_AFTER`` seconds old.
    """
    ids = [run.pk for run in runs]
    if ids:
        transaction.on_commit(lambda: run_enqueue(ids, mark=False))


def _new_run(job: Job, **fields: Any) -> Run:
    return Run(job=job, tenant_id=job.tenant_id, owner_id=job.owner_id, **fields)


@transaction.atomic
def run_create_manual(
    *,
    job: Job,
    params: dict[str, Any] | None = None,
    enqueue: bool = True,
    triggered_by: dict[str, Any] | None = None,
) -> Run:
    """Record a "run now" of ``job`` (enabled or not) and enqueue it after commit.

    ``triggered_by`` says who asked (``triggers.by_user(request.user)``, ``triggers.by_command(...)``).
    """
    if job.is_draft:
        raise Conflict("A draft cannot be run; commit it first.", field="id")
    run = _new_run(
        job, trigger=Trigger.MANUAL, params=params or {}, triggered_by=triggered_by or dict(triggers.UNKNOWN)
    )
    if enqueue:
        run.enqueued_at = timezone.now()
    run.save(force_insert=True)
    if enqueue:
        enqueue_on_commit([run])
    return run


def _wait_reason(run: Run, job: Job) -> str | None:
    """Why ``run`` may not start yet, or None when it may (asked when its claim did not win)."""
    counts = Run.objects.filter(status=RunStatus.RUNNING).aggregate(
        cluster=Count("pk"),
        tenant=Count("pk", filter=Q(tenant_id=run.tenant_id)),
        job=Count("pk", filter=Q(job_id=run.job_id)),
    )
    in_cluster, in_tenant, of_job = counts["cluster"], counts["tenant"], counts["job"]
    if in_cluster >= settings.INFORMER_MAX_CONCURRENT_RUNS:
        return "cluster limit"
    if in_tenant >= job.tenant.max_concurrent_jobs:
        return "tenant limit"
    # Only "allow" lets runs of one job overlap; otherwise a run waits for the one going.
    if job.overlap_policy != OverlapPolicy.ALLOW and of_job:
        return "previous run still going"
    return None


def run_claim(*, run_id: uuid.UUID | str, worker: Worker | None) -> Run | None:
    """Take a queued run for execution; None when it is not (or no longer, or not yet) startable.

    A second delivery of the same run finds it no longer queued and does nothing. A run over a
    concurrency limit stays queued, un-enqueued, and the dispatcher enqueues it when a slot frees.
    """
    now = timezone.now()
    # Read and prepare outside the claim's transaction: on SQLite that transaction holds the one
    # write lock every worker and the scheduler queue for, so it should hold it as briefly as it can.
    # What is read here is re-checked by the conditional UPDATE below.
    read = statements.run_for_claim(run_id)
    if read is None:
        return None
    run, actions = read
    if run.status != RunStatus.QUEUED or run.not_before > now:
        return None
    job = run.job
    definition = job_definition(job, actions)
    claimed = {
        "definition": definition,
        # The first step's entry goes in with the claim, so a client sees the run start at once
        # without a write of its own.
        "progress": [first_step_entry(definition, now)],
        "status": RunStatus.RUNNING,
        "started_at": now,
        "heartbeat_at": now,
        "lease_token": uuid.uuid4(),
        "worker": worker.pk if worker is not None else None,
    }
    # The limits are checked by the claim itself, under the claims lock: no other claim changes the
    # counts before this one commits. Only "allow" lets runs of one job overlap; otherwise a run waits
    # for the one going.
    limits: dict[str, Any] = {
        "cluster_limit": settings.INFORMER_MAX_CONCURRENT_RUNS,
        "tenant_limit": job.tenant.max_concurrent_jobs,
        "exclusive": job.overlap_policy != OverlapPolicy.ALLOW,
    }
    # On PostgreSQL the usual case (the run starts) is one round trip; when it does not start, the
    # transaction below tries again and, if a limit still holds, marks the run waiting under the lock.
    if not (statements.one_message() and statements.run_claim(run, claimed, take_lock=True, **limits)):
        with transaction.atomic():
            statements.lock_claims()
            if not statements.run_claim(run, claimed, **limits):
                reason = _wait_reason(run, job)
                # Un-enqueued (while still queued) in the same transaction, so the dispatch that
                # follows the end of a running run sees it waiting.
                waits = Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED)
                if reason is not None and waits.update(enqueued_at=None):
                    logger.info("Run %s waits: %s", run.pk, reason)
                return None
    # The row now holds exactly what was written: no need to read it back.
    for name, value in claimed.items():
        if name != "worker":
            setattr(run, name, value)
    run.worker = worker
    return run


def first_step_entry(definition: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The progress entry of the job type's step, as it starts."""
    try:
        name = job_driver(definition["type"]).name
    except UnknownDriver:
        name = definition["type"]
    stamp = now.isoformat().replace("+00:00", "Z")
    return {"key": "type", "name": name, "status": "running", "message": "", "startedAt": stamp, "endedAt": None}


def run_heartbeat(*, run_id: uuid.UUID, token: uuid.UUID) -> bool:
    """Renew the lease; False means the run is no longer ours (reaped, cancelled, timed out)."""
    return bool(statements.run_update_fenced(run_id, token, {"heartbeat_at": timezone.now()}))


def run_cancel_requested(*, run_id: uuid.UUID) -> bool:
    """Whether someone asked to cancel the run."""
    return Run.objects.filter(pk=run_id, cancel_requested=True).exists()


def run_write_progress(
    *,
    run_id: uuid.UUID,
    token: uuid.UUID,
    progress: list[dict[str, Any]],
    data: dict[str, Any],
    warnings: bool,
) -> bool:
    """Save the progress so far (fenced by the lease token)."""
    values = {"progress": progress, "data": data, "warnings": warnings, "heartbeat_at": timezone.now()}
    return bool(statements.run_update_fenced(run_id, token, values))


def run_finish(
    *,
    run_id: uuid.UUID,
    token: uuid.UUID,
    status: str,
    error: str = "",
    progress: list[dict[str, Any]],
    data: dict[str, Any],
    warnings: bool,
    retry: bool = True,
    run: Run | None = None,
) -> bool:
    """Close a running run with a final status; returns False when the lease was lost (fenced out).

    A failed or timed-out run is retried while attempts remain, unless ``retry`` is False (a
    permanent failure, such as a refused URL, would fail the same way again). ``run``, when the
    caller holds it (with its job), spares reading it again.
    """
    now = timezone.now()
    # A failure that will be retried commits together with its next attempt, so a failed run is never
    # left without it. Any other end is one statement, and needs no transaction of its own.
    retrying = retry and status in (RunStatus.FAILED, RunStatus.TIMED_OUT)
    with transaction.atomic() if retrying else nullcontext():
        final = {
            "status": status,
            "success": status == RunStatus.SUCCEEDED,
            "error": error,
            "progress": progress,
            "data": data,
            "warnings": warnings,
            "ended_at": now,
            "lease_token": None,
        }
        waiting = statements.run_end(run_id, token, final, now)
        if waiting is None:
            return False
        if run is None or run.pk != run_id:
            run = Run.objects.select_related("job").get(pk=run_id)
        else:
            for name in ("status", "success", "error", "ended_at", "lease_token"):
                setattr(run, name, final[name])
        if retrying:
            run_retry(run=run, now=now)
        _after_final(run, now, waiting=waiting)
    return True


def _after_final(run: Run, now: datetime, *, waiting: bool | None = None) -> None:
    """Once a run ended: the job's last-run fields (see ``bookkeeping``), then the runs waiting for a slot.

    ``waiting`` is whether runs wait, when the caller already knows; otherwise it is asked.
    """
    bookkeeping.note(run.job_id, run.started_at or now, run.status == RunStatus.SUCCEEDED)
    # A slot just freed: start whatever waits for one (after the commit, when in a transaction).
    if waiting is None:
        transaction.on_commit(dispatch_waiting)
    elif waiting:
        transaction.on_commit(runs_dispatch)


def dispatch_waiting() -> int:
    """Enqueue runs that wait for a slot, if any; one indexed probe when none does (the usual case).

    Runs the broker may have lost are the scheduler's concern (``runs_dispatch`` at every tick).
    """
    if not statements.runs_waiting(timezone.now()):
        return 0
    return runs_dispatch()


def _released(now: datetime) -> dict[str, Any]:
    """A released run's fields: queued again as before its claim, and counted as handed to the broker."""
    return {
        "status": RunStatus.QUEUED,
        "lease_token": None,
        "worker": None,
        "started_at": None,
        "heartbeat_at": None,
        "progress": [],
        "data": {},
        "warnings": False,
        "enqueued_at": now,
    }


def _send_on_commit(run_ids: list[uuid.UUID]) -> None:
    # Robust: a broker that cannot take them now must not undo the release; the runs carry
    # enqueued_at, so the dispatcher sends them again once they are INFORMER_REDELIVER_AFTER old.
    if run_ids:
        transaction.on_commit(lambda: run_enqueue(run_ids, mark=False), robust=True)


def run_release(*, run_id: uuid.UUID, token: uuid.UUID) -> bool:
    """Give a running run back to the queue because its worker is stopping; False when the lease was lost.

    The run goes back to ``queued`` as it was before its claim (same id, same attempt: a stop is not
    the run's failure) and is enqueued at once, so another worker starts it again from its first step.
    A run whose cancellation was asked is not released (the caller ends it ``cancelled``).
    """
    with transaction.atomic():
        released = Run.objects.filter(
            pk=run_id, status=RunStatus.RUNNING, lease_token=token, cancel_requested=False
        ).update(**_released(timezone.now()))
        if released:
            _send_on_commit([run_id])
    return bool(released)


def run_hand_back(*, run_id: uuid.UUID | str) -> bool:
    """Send a delivered but unstarted run back to the broker for another worker (this one is stopping)."""
    if not Run.objects.filter(pk=run_id, status=RunStatus.QUEUED).exists():
        return False  # ended or started elsewhere meanwhile: nothing to hand back
    run_enqueue([uuid.UUID(str(run_id))])
    return True


def worker_release(*, host: str, pid: int) -> list[uuid.UUID]:
    """Release the runs of a worker process that had to be killed, and record it stopped.

    Only for a process known to be dead (its cluster killed it while stopping): its lease is taken
    from it without a token. Runs whose cancellation was asked end ``cancelled`` instead.
    """
    worker = Worker.objects.filter(host=host, pid=pid, stopped_at__isnull=True).order_by("-started_at").first()
    if worker is None:
        return []
    now = timezone.now()
    going = Run.objects.filter(status=RunStatus.RUNNING, worker=worker).order_by()
    for run in going.filter(cancel_requested=True).select_related("job"):
        _force_final(run, RunStatus.CANCELLED, "Cancelled.", now)
    with transaction.atomic():
        released = list(going.filter(cancel_requested=False).values_list("pk", flat=True))
        Run.objects.filter(pk__in=released, status=RunStatus.RUNNING, worker=worker).update(**_released(now))
        Worker.objects.filter(pk=worker.pk).update(stopped_at=now)
        _send_on_commit(released)
    return released


def run_retry(*, run: Run, now: datetime | None = None) -> Run | None:
    """Schedule the next attempt of a failed run while ``attempt < maxAttempts``, with backoff."""
    now = now or timezone.now()
    job = run.job
    if run.attempt >= job.max_attempts or run.cancel_requested:
        return None
    delay = min(RETRY_BASE_SECONDS * 2 ** (run.attempt - 1), RETRY_MAX_SECONDS)
    retry = _new_run(
        job,
        trigger=Trigger.RETRY,
        triggered_by=triggers.by_retry(run),
        scheduled_for=run.scheduled_for,
        attempt=run.attempt + 1,
        retry_of=run,
        params=run.params,
        not_before=now + timedelta(seconds=delay),
    )
    retry.save(force_insert=True)
    # Not enqueued now: the dispatcher enqueues it once not_before has passed.
    return retry


@transaction.atomic
def run_cancel(*, run: Run) -> Run:
    """Cancel a queued run at once, or ask a running one to stop (it ends ``cancelled``)."""
    now = timezone.now()
    if run.status == RunStatus.QUEUED:
        if Run.objects.filter(pk=run.pk, status=RunStatus.QUEUED).update(
            status=RunStatus.CANCELLED, success=False, ended_at=now, cancel_requested=True, error="Cancelled."
        ):
            run.refresh_from_db()
            return run
        run.refresh_from_db()
    if run.status == RunStatus.RUNNING:
        Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(cancel_requested=True)
        run.refresh_from_db()
        return run
    raise Conflict(f"The run is already {run.status}; only queued or running runs can be cancelled.", field="status")


@transaction.atomic
def run_delete(*, run: Run) -> None:
    """Delete one history record; a running run must be cancelled first."""
    if run.status == RunStatus.RUNNING:
        raise Conflict("The run is still running; cancel it first.", field="status")
    run.delete()


@transaction.atomic
def history_clear(*, job: Job) -> int:
    """Delete every finished history record of ``job``; queued and running runs stay."""
    deleted, _ = Run.objects.filter(job=job).exclude(status__in=ACTIVE_STATUSES).delete()
    return deleted


def runs_reap(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Fail runs whose worker stopped heartbeating, time out runs past their job's timeout; retry them.

    It runs at every scheduler pass, so it first reads only a few columns of the runs going (there are
    few: at most the concurrency limit) and loads whole only the runs it ends.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.INFORMER_WORKER_TIMEOUT)
    stale: dict[uuid.UUID, int] = {}  # run id: seconds without a heartbeat
    overdue: set[uuid.UUID] = set()  # a backstop for a step that never yields to the executor's own check
    going = Run.objects.filter(status=RunStatus.RUNNING).order_by()
    for pk, heartbeat_at, started_at, timeout in going.values_list(
        "pk", "heartbeat_at", "started_at", "job__timeout_seconds"
    )[:REAP_BATCH]:
        last_sign = heartbeat_at or started_at  # a run that never sent a heartbeat counts from its start
        if last_sign is not None and last_sign < stale_before:
            stale[pk] = int((now - last_sign).total_seconds())
        elif (
            started_at is not None
            and (now - started_at).total_seconds() > timeout + settings.INFORMER_HEARTBEAT_SECONDS
        ):
            overdue.add(pk)
    reaped: list[uuid.UUID] = []
    if not (stale or overdue):
        return reaped
    for run in Run.objects.filter(pk__in=[*stale, *overdue]).select_related("job").order_by("created_at"):
        if run.pk in stale:
            status = RunStatus.FAILED
            message = f"The worker stopped responding: no heartbeat for {stale[run.pk]} s (worker lost or hung)."
        else:
            status = RunStatus.TIMED_OUT
            message = f"The run exceeded the job's timeout of {run.job.timeout_seconds} s."
        if _force_final(run, status, message, now):
            reaped.append(run.pk)
    return reaped


def _force_final(run: Run, status: str, error: str, now: datetime) -> bool:
    """End a run without its worker: the token is cleared, so the worker's later writes are rejected."""
    with transaction.atomic():
        done = Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING, lease_token=run.lease_token).update(
            status=status, success=False, error=error, ended_at=now, lease_token=None
        )
        if done:
            run.status = status
            run_retry(run=run, now=now)
            _after_final(run, now)
    return bool(done)


def runs_dispatch(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Enqueue queued runs that are due and not enqueued (or lost by the broker); returns how many."""
    now = now or timezone.now()
    most = min(limit, settings.INFORMER_MAX_CONCURRENT_RUNS)
    if most <= 0:
        return 0
    # A run enqueued this long ago and still queued may have been lost with the broker or with a
    # cluster that died holding it; sending it again is safe, as a second delivery's claim does nothing.
    redeliver_before = now - timedelta(seconds=settings.INFORMER_REDELIVER_AFTER)
    # What waits first (usually nothing: then the count of running runs is not needed), then as many
    # of them as there are free slots.
    candidates = list(
        Run.objects.filter(status=RunStatus.QUEUED, not_before__lte=now)
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=redeliver_before))
        .order_by("not_before", "created_at")
        .values_list("pk", "enqueued_at")[:most]
    )
    waiting = [pk for pk, enqueued_at in candidates if enqueued_at is None]
    if not waiting and candidates and _broker_idle():
        # Runs enqueued long ago but still queued while the broker holds nothing were lost on the
        # way (a crash between commit and enqueue, a flushed broker): send them again. While the
        # broker still holds work they are only behind it, and sending them again would pile up.
        waiting = [pk for pk, _ in candidates]
    if not waiting:
        return 0
    free = settings.INFORMER_MAX_CONCURRENT_RUNS - Run.objects.filter(status=RunStatus.RUNNING).count()
    if free <= 0:
        return 0
    ids = waiting[: min(limit, free)]
    run_enqueue(ids)
    return len(ids)


def _broker_idle() -> bool:
    """Whether django-q2's broker holds no task at all (in sync mode there is no broker)."""
    from django_q.brokers import get_broker
    from django_q.conf import Conf

    if Conf.SYNC:
        return True
    try:
        return get_broker().queue_size() == 0
    except Exception:  # a broker that cannot answer is not known to be idle
        logger.exception("Could not read the broker's queue size")
        return False


def worker_register(*, name: str, host: str, pid: int, cluster: str, concurrency: int) -> Worker:
    """Record a worker process when it starts."""
    return Worker.objects.create(name=name, host=host, pid=pid, cluster=cluster, concurrency=concurrency)


def worker_heartbeat(*, worker_id: uuid.UUID) -> None:
    """Note that a worker process is alive."""
    Worker.objects.filter(pk=worker_id).update(last_heartbeat_at=timezone.now())


def worker_stopped(*, worker_id: uuid.UUID) -> None:
    """Note that a worker process stopped cleanly."""
    Worker.objects.filter(pk=worker_id).update(stopped_at=timezone.now())
