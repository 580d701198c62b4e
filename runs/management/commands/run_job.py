"""``manage.py run_job <id|naturalId>``: run a job now, optionally following its steps as they advance."""

from __future__ import annotations

import threading
import uuid
from time import monotonic, sleep
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from informer import redaction
from informer.api import parsers
from informer.api.exceptions import DomainError
from informer.progress import Progress, logging_silenced, progress
from jobs.models import Job
from jobs.selectors import job_lookup
from runs import services, triggers, workers
from runs.executor import execute_run
from runs.models import FINAL_STATUSES, Run, RunStatus

SYMBOLS = {"running": "…", "success": "✓", "warning": "!", "error": "✗", "skipped": "-"}
POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = (
        "Run a job now (as 'Run now' does). With --wait, follow the run's steps as they advance (a progress "
        "bar on a terminal, plain lines otherwise) and exit non-zero unless it succeeded: failed, timedOut, "
        "cancelled or skipped, or it could not start. While it follows, nothing is logged in between "
        "(django-q2's and every other logger are silenced; --verbosity 2 keeps them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", help="The job's UUID or natural id (<tenant-slug>:<slug>).")
        parser.add_argument("--wait", action="store_true", help="Follow the run until it ends.")
        parser.add_argument(
            "--inline",
            action="store_true",
            help=(
                "Execute the run in this process instead of on a worker (implies --wait). This process is not "
                "a worker: it registers none, so the workers list never shows it (nor, once it exits, a lost "
                "worker). If a concurrency limit keeps the run from starting here, it is cancelled and the "
                "command fails."
            ),
        )
        parser.add_argument("--param", action="append", default=[], help="key=value (JSON values allowed).")
        parser.add_argument(
            "--timeout",
            type=float,
            default=0,
            help="Give up waiting after N seconds (0: never); a run executing here (--inline) is cancelled then.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        job = job_lookup(Job.objects.select_related("tenant"), options["job"])
        if job is None:
            raise CommandError(f"No job '{options['job']}'.")
        params = dict(_param(raw) for raw in options["param"])
        follow = options["wait"] or options["inline"]
        with logging_silenced(follow and options["verbosity"] < 2):
            if options["inline"]:
                self._inline(job, params, options["timeout"])
                return
            run = _create(job, params, enqueue=True)
            self.stdout.write(f"Run {run.pk} of '{job.name}' queued.")
            if follow:
                self._follow(run.pk, options["timeout"])

    def _inline(self, job: Job, params: dict[str, Any], timeout: float) -> None:
        with transaction.atomic():
            run = _create(job, params, enqueue=False)
        self.stdout.write(f"Run {run.pk} of '{job.name}' executing here.")
        execution = _Execution(run.pk)
        with workers.not_a_worker():
            if connection.in_atomic_block:
                # Inside a caller's transaction, another connection would not see the run: execute it, then
                # report what it did.
                execution.run()
            else:
                # The steps execute in a thread of their own, so that this one shows them as they advance.
                execution.start()
            self._follow(run.pk, timeout, execution=execution)

    def _follow(self, run_id: uuid.UUID, timeout: float, *, execution: _Execution | None = None) -> None:
        shown: dict[str, str] = {}
        started = monotonic()
        last_status = ""
        cancelling = False
        with progress(self.stdout, description="queued", unit="steps") as report:
            while True:
                # Read before the run, so that a run seen queued after the execution is over never started.
                executed = execution is not None and execution.over
                run = Run.objects.get(pk=run_id)
                if run.status != last_status:
                    last_status = run.status
                    report.line(f"status: {run.status}")
                    report.describe(run.status)
                if run.definition and report.total is None:
                    report.set_total(1 + len(run.definition.get("actions", [])))
                _show_steps(run, shown, report)
                if run.status in FINAL_STATUSES:
                    break
                if executed:
                    self._executed(run, execution)  # type: ignore[arg-type]
                if timeout and monotonic() - started > timeout and not cancelling:
                    if execution is None:
                        raise CommandError(f"Gave up waiting after {timeout:g} s; the run is still {run.status}.")
                    # Nothing else would end a run this process executes: it ends cancelled, as the
                    # executor stops it at its next look (within a second).
                    report.line(f"Gave up waiting after {timeout:g} s: cancelling the run.")
                    cancelling = True
                    _cancel(run)
                sleep(POLL_SECONDS)
        if run.status != RunStatus.SUCCEEDED:
            error = redaction.redact_text(run.error, redaction.definition_secrets(run.definition))
            raise CommandError(f"Run {run.pk} ended {run.status}: {error or 'no error message'}")
        self.stdout.write(self.style.SUCCESS(f"Run {run.pk} succeeded."))

    def _executed(self, run: Run, execution: _Execution) -> None:
        """The execution here is over and the run has not ended: say why, unless a worker has it."""
        if run.status == RunStatus.QUEUED:
            # Its claim found no slot; left queued, it would be handed to a worker later, which is not
            # what was asked.
            if _cancel(run):
                raise CommandError(
                    f"Run {run.pk} could not start: a concurrency limit holds it back (INFORMER_MAX_CONCURRENT_RUNS, "
                    "the tenant's maxConcurrentJobs, or a run of this job still going); it was cancelled."
                )
        elif execution.error is not None and run.status == RunStatus.RUNNING and run.worker_id is None:
            failure = execution.error
            raise CommandError(f"Run {run.pk} could not be executed here: {type(failure).__name__}: {failure}")
        # Otherwise a worker's dispatch took it first (the claim is won once): follow it there.


class _Execution(threading.Thread):
    """``execute_run`` of one run: in a thread of its own (``start``), or in the caller's (``run``)."""

    def __init__(self, run_id: uuid.UUID) -> None:
        super().__init__(name="run-job-inline", daemon=True)
        self.run_id = run_id
        self.outcome = ""
        self.error: BaseException | None = None
        self.over = False

    def run(self) -> None:
        try:
            self.outcome = execute_run(str(self.run_id))
        except Exception as error:  # the executor's own boundary let it through: the command reports it
            self.error = error
        finally:
            self.over = True
            if threading.current_thread() is self:
                connection.close()


def _create(job: Job, params: dict[str, Any], *, enqueue: bool) -> Run:
    try:
        return services.run_create_manual(
            job=job, params=params, enqueue=enqueue, triggered_by=triggers.by_command("run_job")
        )
    except DomainError as error:  # a draft cannot run
        raise CommandError(f"Run of '{job.name}' could not be made: {error.message}") from None


def _cancel(run: Run) -> bool:
    """Cancel ``run`` (at once when queued); False when it ended meanwhile."""
    try:
        services.run_cancel(run=run)
    except DomainError:
        return False
    return True


def _show_steps(run: Run, shown: dict[str, str], report: Progress) -> None:
    """A line per step as it starts (plain output; the bar names it instead) and as it ends."""
    secrets = redaction.definition_secrets(run.definition)
    for entry in run.progress:
        key, status = f"{entry['key']}", entry["status"]
        previous = shown.get(key)
        if previous == status:
            continue
        shown[key] = status
        # Records written before messages were redacted at the source may still hold credentials.
        text = redaction.redact_text(entry.get("message") or "", secrets)
        line = f"  {SYMBOLS.get(status, '?')} {entry['name']}" + (f" — {text}" if text else "")
        if status == "running":
            if report.bar:
                report.describe(f"{run.status}: {entry['name']}")
            else:
                report.line(line)
        elif previous in (None, "running"):
            report.advance(line=line)
        else:
            report.line(line)


def _param(raw: str) -> tuple[str, Any]:
    key, sep, value = raw.partition("=")
    if not sep or not key:
        raise CommandError(f"--param '{raw}' must be key=value.")
    try:
        # The API's decoder and depth limit: a deeply nested value would be a RecursionError traceback.
        return key, parsers.loads(value)
    except parsers.JsonTooDeep as error:
        raise CommandError(f"--param '{key}': {error}") from None
    except ValueError:
        return key, value  # not JSON: the text itself
