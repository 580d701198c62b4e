"""Execute one run: the job type's step, then the job's actions. The one error boundary of a run.

A worker executes a run only while it holds the run's lease: the process's lease keeper (a thread)
renews it, watches for cancellation and for the job's timeout, and, when the lease is lost or the run
must stop, ends the run itself and tells the executing thread to stop. Every write is fenced by the
lease token, so a worker that wakes up after its run was reaped changes nothing. A worker whose cluster
stops releases its run instead of ending it: the run goes back to the queue, for another worker.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

from informer import redaction
from jobs import conditions
from jobs.drivers.base import RunContext, StepFailed, StepProgress, StepResult
from jobs.drivers.registry import UnknownDriver, action_driver, job_driver
from jobs.services import dataset_runs
from runs import services, triggers
from runs.models import Run, RunStatus, Worker
from runs.workers import WorkerShutdown, current_worker, interruptible, stopping

logger = logging.getLogger(__name__)


PROGRESS_FLUSH_SECONDS = 0.5


class RunStopped(Exception):
    """The run must stop now (cancelled, timed out or its lease was lost)."""


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _entry(
    key: str, name: str, status: str, message: str, *, action_id: str | None = None, ended: bool = False
) -> dict[str, Any]:
    """A progress entry starting now (and ending now when ``ended``)."""
    now = iso(timezone.now())
    entry: dict[str, Any] = {
        "key": key,
        "name": name,
        "status": status,
        "message": message,
        "startedAt": now,
        "endedAt": now if ended else None,
    }
    if action_id is not None:
        entry["actionId"] = action_id
    return entry


@dataclass
class Execution:
    """The in-memory state of a run being executed; the lease keeper and the steps share it."""

    run_id: uuid.UUID
    token: uuid.UUID
    timeout_seconds: int
    started: float = field(default_factory=time.monotonic)
    progress: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    warnings: bool = False
    failed: bool = False
    errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ended: bool = False
    permanent: bool = False
    run: Run | None = None
    # Progress is written at most every PROGRESS_FLUSH_SECONDS from the steps; what is newer waits
    # for the lease keeper (which flushes it within a second) or for the final write. A run of quick
    # steps thus costs two writes (claim and finish), not two per step.
    dirty: bool = False
    last_flush: float = field(default_factory=time.monotonic)
    flush_lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
        with self.lock:
            return [dict(entry) for entry in self.progress], dict(self.data), self.warnings

    def save_progress(self) -> None:
        """Note new progress; write it now if the last write is old enough."""
        self.dirty = True
        if time.monotonic() - self.last_flush >= PROGRESS_FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write pending progress (fenced by the lease token); a lost lease stops the run."""
        with self.flush_lock:
            if not self.dirty or self.ended:
                return
            self.dirty = False
            self.last_flush = time.monotonic()
            progress, data, warnings = self.snapshot()
            written = services.run_write_progress(
                run_id=self.run_id, token=self.token, progress=progress, data=data, warnings=warnings
            )
        if not written:
            self.stop.set()
            raise RunStopped("The run's lease was lost.")

    def finish(self, status: str, error: str = "") -> bool:
        """Write the final status once, whoever (steps or the lease keeper) gets there first."""
        with self.lock:
            if self.ended:
                return False
            self.ended = True
            now = iso(timezone.now())
            for entry in self.progress:
                if entry["status"] == "running":
                    entry.update(status="error", endedAt=now, message=error or "Interrupted.")
        with self.flush_lock:
            progress, data, warnings = self.snapshot()
            return services.run_finish(
                run_id=self.run_id,
                token=self.token,
                status=status,
                error=error,
                progress=progress,
                data=data,
                warnings=warnings,
                retry=not self.permanent,
                run=self.run,
            )

    def release(self) -> bool:
        """Give the run back to the queue (its worker is stopping), unless it already ended."""
        with self.lock:
            if self.ended:
                return False
            self.ended = True
        with self.flush_lock:
            return services.run_release(run_id=self.run_id, token=self.token)

    def skip_step(self, key: str, name: str, message: str, *, action_id: str | None = None) -> None:
        """Record a step that did not run, with the reason."""
        if self.stop.is_set():
            raise RunStopped()
        entry = _entry(key, name, "skipped", message, action_id=action_id, ended=True)
        with self.lock:
            self.progress.append(entry)
        self.save_progress()

    def run_step(self, key: str, name: str, work: Any, *, action_id: str | None = None) -> StepResult | None:
        """Run one step with its progress entry; a failure is recorded and does not stop later steps."""
        if self.stop.is_set():
            raise RunStopped()
        with self.lock:
            # The claim already wrote the first step's entry; any other step starts a new one.
            started = next((e for e in self.progress if e["key"] == key and e["status"] == "running"), None)
        if started is not None:
            entry = started
        else:
            entry = _entry(key, name, "running", "", action_id=action_id)
            with self.lock:
                self.progress.append(entry)
            self.save_progress()
        result: StepResult | None = None
        failure_permanent = False
        try:
            result = work()
            status = "warning" if result.warning else "success"
            message = result.message
            step_data, extra = result.data, result.entry
        except StepFailed as failure:
            status, message, step_data, extra = "error", failure.message, failure.data, failure.entry
            failure_permanent = failure.permanent
        except RunStopped:
            raise
        except Exception as error:  # the error boundary: whatever a step raises becomes its error
            logger.exception("Step %s of run %s failed", key, self.run_id)
            status, message, step_data, extra = "error", f"{type(error).__name__}: {error}", {}, {}
        if self.stop.is_set():
            raise RunStopped()
        message = redaction.redact_text(message)  # whatever a step says, credentials stay out of history
        with self.lock:
            entry.update(extra)
            entry.update(status=status, message=message, endedAt=iso(timezone.now()))
            if step_data:
                self.data[key] = step_data
            if status == "warning":
                self.warnings = True
            if status == "error":
                self.failed = True
                self.permanent = self.permanent or failure_permanent
                self.errors.append(f"{name}: {message}")
        self.save_progress()
        return result


def heartbeat_interval() -> float:
    """Seconds between two renewals of a run's lease (``INFORMER_HEARTBEAT_SECONDS``, at least 0.2)."""
    return max(0.2, float(settings.INFORMER_HEARTBEAT_SECONDS))


class Lease:
    """Renews one run's lease and ends the run on cancellation, timeout or a lost lease.

    Leases are kept by one thread per process (``_Keeper``) rather than a thread per run: starting and
    joining a thread cost a no-op run about a fifth of its executor's CPU, and most runs end before
    their lease needs anything.
    """

    def __init__(self, execution: Execution, worker: Worker | None):
        self.execution = execution
        self.worker = worker
        self.interval = heartbeat_interval()
        self.last_beat = time.monotonic()
        self.busy = threading.Lock()  # held while the keeper works for this run
        self.released = False

    def tick(self) -> bool:
        """One look at the run; False once the lease is done with (the run ended or must stop)."""
        execution = self.execution
        try:
            if time.monotonic() - execution.started > execution.timeout_seconds:
                execution.stop.set()
                execution.finish(
                    RunStatus.TIMED_OUT, f"The run exceeded the job's timeout of {execution.timeout_seconds} s."
                )
                return False
            if services.run_cancel_requested(run_id=execution.run_id):
                execution.stop.set()
                execution.finish(RunStatus.CANCELLED, "Cancelled.")
                return False
            if execution.dirty:
                try:
                    execution.flush()
                except RunStopped:
                    return False
                self.last_beat = time.monotonic()  # a progress write renews the lease too
            if time.monotonic() - self.last_beat >= self.interval:
                self.last_beat = time.monotonic()
                if not services.run_heartbeat(run_id=execution.run_id, token=execution.token):
                    execution.stop.set()  # reaped or ended elsewhere: stop working for it
                    return False
                if self.worker is not None:
                    services.worker_heartbeat(worker_id=self.worker.pk)
        except Exception:
            logger.exception("Lease of run %s failed", execution.run_id)
            execution.stop.set()
            return False
        return True


class _Keeper(threading.Thread):
    """This process's lease keeper: every poll interval, one look at each run being executed.

    It touches the database only for runs that last longer than a poll (a no-op run never meets it),
    and closes its connection as soon as no run is left.
    """

    def __init__(self) -> None:
        super().__init__(name="lease-keeper", daemon=True)
        self.pid = os.getpid()
        self.leases: dict[uuid.UUID, Lease] = {}
        self.changed = threading.Condition()
        self.wake = threading.Event()
        self.connected = False  # whether this thread has a database connection open

    def hold(self, lease: Lease) -> None:
        with self.changed:
            self.leases[lease.execution.run_id] = lease
            self.changed.notify()

    def release(self, lease: Lease) -> None:
        """Stop keeping ``lease``; waits for a look the keeper is taking at it to finish."""
        with lease.busy:
            lease.released = True
        with self.changed:
            self.leases.pop(lease.execution.run_id, None)
            if not self.leases and self.connected:
                self.wake.set()  # so that it closes its connection now, not a poll later

    def run(self) -> None:
        while True:
            with self.changed:
                while not self.leases:
                    self.changed.wait()
            self.wake.wait(min(1.0, heartbeat_interval()))  # the poll: a look at least once a second
            self.wake.clear()
            with self.changed:
                leases = list(self.leases.values())
            for lease in leases:
                with lease.busy:
                    done = lease.released
                    if not done:
                        self.connected = True  # a look reads the database
                        done = not lease.tick()
                if done:
                    with self.changed:
                        self.leases.pop(lease.execution.run_id, None)
            with self.changed:
                idle = not self.leases
            if idle and self.connected:
                self.connected = False
                try:
                    connection.close()
                except Exception:  # the keeper must outlive a database that went away
                    logger.exception("The lease keeper could not close its database connection")


_keeper: _Keeper | None = None
_keeper_lock = threading.Lock()


def _lease_keeper() -> _Keeper:
    """This process's keeper, started on first use (and again in a forked child, where threads do not
    follow, or should it have died)."""
    global _keeper
    with _keeper_lock:
        if _keeper is None or _keeper.pid != os.getpid() or not _keeper.is_alive():
            _keeper = _Keeper()
            _keeper.start()
        return _keeper


def execute_run(run_id: str) -> str:
    """Claim and execute one run; returns its final status, or why nothing was done."""
    if not connection.in_atomic_block:
        # Inside a caller's transaction (django-q2 in sync mode) closing would abort that transaction.
        close_old_connections()
    worker = current_worker()
    if stopping():
        # The cluster is stopping: a run it had taken from the broker but not started goes back to the
        # broker for another worker rather than being started and then released.
        return "handed back" if services.run_hand_back(run_id=run_id) else "not claimed"
    run = services.run_claim(run_id=run_id, worker=worker)
    if run is None:
        return "not claimed"
    assert run.lease_token is not None  # the claim gave the run its lease
    execution = Execution(run_id=run.pk, token=run.lease_token, timeout_seconds=run.job.timeout_seconds, run=run)
    lease, keeper = Lease(execution, worker), _lease_keeper()
    keeper.hold(lease)
    status: str  # "" once the run was stopped: there is nothing to write
    status, error = RunStatus.SUCCEEDED, ""
    shutdown: WorkerShutdown | None = None  # the worker's cluster is stopping: release the run
    try:
        with interruptible():
            _execute_steps(run, execution)
        if execution.failed:
            status, error = RunStatus.FAILED, "; ".join(execution.errors)
    except RunStopped:
        status = ""
    except StepFailed as failure:
        status, error = RunStatus.FAILED, failure.message
        execution.permanent = failure.permanent
    except Exception as failure:  # the run's error boundary
        logger.exception("Run %s failed", run.pk)
        error = redaction.redact_text(
            f"{type(failure).__name__}: {failure}", redaction.definition_secrets(run.definition)
        )
        status = RunStatus.FAILED
    except WorkerShutdown as stop:
        shutdown = stop
    finally:
        keeper.release(lease)
    if shutdown is not None:
        return _release(execution)
    finished = bool(status) and execution.finish(status, error)
    if finished:
        return str(status)
    final = Run.objects.filter(pk=run.pk).values_list("status", flat=True).first()
    return str(final)


def _release(execution: Execution) -> str:
    """The worker is stopping: its run goes back to the queue, or ends cancelled if that was asked."""
    if not connection.in_atomic_block:
        # The signal that interrupted the steps may have cut a query short: start on a new connection.
        connection.close()
    if services.run_cancel_requested(run_id=execution.run_id):
        if execution.finish(RunStatus.CANCELLED, "Cancelled."):
            return str(RunStatus.CANCELLED)
    elif execution.release():
        logger.info("Run %s released: its worker is stopping; it goes back to the queue", execution.run_id)
        return "released"
    final = Run.objects.filter(pk=execution.run_id).values_list("status", flat=True).first()
    return str(final)


def _execute_steps(run: Run, execution: Execution) -> None:
    """The job type's step, then each action in order, each behind its run condition."""
    definition = run.definition
    context = RunContext(
        run_id=str(run.pk),
        job=definition,
        params=run.params,
        results=execution.data,
        should_stop=execution.stop.is_set,
        delivery_id=str(triggers.original_run_id(run)),
        # Entries a step adds (one per dataset a refresh reads) join the run's progress and are written with it.
        progress=StepProgress(execution.progress, lock=execution.lock, changed=execution.save_progress),
        # What templates see as ``run`` (README, "Template context"); previews imagine the same keys.
        run={
            "id": str(run.pk),
            "status": RunStatus.RUNNING.value,
            "trigger": run.trigger,
            "triggeredBy": run.triggered_by or dict(triggers.UNKNOWN),
            "attempt": run.attempt,
            "scheduledFor": iso(run.scheduled_for) if run.scheduled_for else None,
            "startedAt": iso(run.started_at) if run.started_at else None,
        },
    )
    try:
        driver = job_driver(definition["type"])
    except UnknownDriver:
        raise StepFailed(f"Unknown job type '{definition['type']}'.", permanent=True) from None
    # The job's datasets as templates and conditions see them, re-read (with the owner's rights) before each step.
    datasets = dataset_runs.RunDatasets(definition)
    context.datasets = datasets.entries
    # While the steps run, messages and log records mask the definition's header values and URL userinfo.
    with redaction.hiding(redaction.definition_secrets(definition)):
        _take_snapshots("before", run, execution)
        datasets.refresh()
        execution.run_step("type", driver.name, lambda: driver.execute(context))
        for action in definition.get("actions", []):
            datasets.refresh()
            _execute_action(action, context, execution, run)
        _take_snapshots("after", run, execution)


def _take_snapshots(when: str, run: Run, execution: Execution) -> None:
    """The snapshots the job's datasets ask for before the run's first step or after its last, one step each."""
    planned = dataset_runs.snapshot_plan(run.definition, when)
    if planned and when == "before":
        # The claim wrote the type step's entry as running; that step starts after these now.
        with execution.lock:
            execution.progress[:] = [e for e in execution.progress if (e["key"], e["status"]) != ("type", "running")]
    for item in planned:
        execution.run_step(
            item.key,
            item.name,
            lambda item=item: dataset_runs.snapshot_take(
                definition=run.definition, run_id=str(run.pk), planned=item, when=when
            ),
        )


def _execute_action(action: dict[str, Any], context: RunContext, execution: Execution, run: Run) -> None:
    key = f"action:{action['id']}"
    if not action.get("enabled", True):
        execution.skip_step(key, action["name"], "The action is disabled.", action_id=action["id"])
        return
    # The run's state so far, as a {"status": ...} condition reads it: its final status is not known yet.
    context.run["status"] = (RunStatus.FAILED if execution.failed else RunStatus.RUNNING).value
    counts = dataset_runs.record_counts(context.datasets)  # as the refreshes so far left them
    state = conditions.RunState(failed=execution.failed, params=run.params, dataset_counts=counts)
    condition = action.get("runCondition")
    if not conditions.evaluate(condition, state):
        reason = conditions.explain(condition, state)
        execution.skip_step(
            key, action["name"], f"Skipped: its run condition is false ({reason}).", action_id=action["id"]
        )
        return
    try:
        driver = action_driver(action["type"])
    except UnknownDriver:
        driver = None

    def work() -> StepResult:
        if driver is None:
            raise StepFailed(f"Unknown action type '{action['type']}'.", permanent=True)
        return driver.execute(context, action)

    execution.run_step(key, action["name"], work, action_id=action["id"])
