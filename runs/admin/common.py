"""What the run pages and the job pages' run columns share: how a run is shown, who may run a job, POST-only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import Truncator

from informer import redaction
from informer.admin.display import EMPTY, admin_duration
from jobs.admin.access import job_codenames
from jobs.models import Job
from runs.models import Run, RunStatus

STATUS_MARKS = {"running": "…", "success": "✓", "warning": "!", "error": "✗", "skipped": "-"}
RUN_MARKS: dict[str, str] = {
    RunStatus.QUEUED: "⧗",
    RunStatus.RUNNING: "…",
    RunStatus.SUCCEEDED: "✓",
    RunStatus.FAILED: "✗",
    RunStatus.TIMED_OUT: "✗",
    RunStatus.CANCELLED: "-",
    RunStatus.SKIPPED: "-",
    RunStatus.MISSED: "-",
}
# A list cell shows this much of an error; the whole of it is the cell's tooltip and on the run's page.
ERROR_CHARACTERS = 90


def redacted_error(run: Run) -> str:
    """The run's error with credentials masked, as the API shows it (history, so for everyone)."""
    return redaction.redact_text(run.error, redaction.definition_secrets(run.definition))


def run_link(run: Run) -> SafeString:
    """A link to the run's page, named as ``str(Run)`` names it: its job and when it was due."""
    return format_html('<a href="{}">{}</a>', reverse("admin:runs_run_change", args=[run.pk]), run)


def shown_status(run: Run) -> str:
    """The status with its mark, and the attempt when it is a retry: ``✗ Failed, attempt 2``."""
    shown = f"{RUN_MARKS.get(run.status, '?')} {run.get_status_display()}"
    return f"{shown}, attempt {run.attempt}" if run.attempt > 1 else shown


def short_error(run: Run) -> str:
    """The start of the run's error (redacted), the whole of it as the tooltip."""
    error = redacted_error(run)
    if not error:
        return EMPTY
    return format_html('<span title="{}">{}</span>', error, Truncator(error).chars(ERROR_CHARACTERS))


def shown_duration(run: Run) -> str:
    if run.status == RunStatus.RUNNING:
        return "running"
    return admin_duration(run.duration_seconds)


def may_run(request: HttpRequest, job: Job) -> bool:
    """The model's run permission, then job:run on the job (as ``POST /api/jobs/{id}``)."""
    return request.user.has_perm("jobs.run_job") and "run_job" in job_codenames(request, job)


def posted_only(request: HttpRequest) -> HttpResponse | None:
    """A 405 unless the request is a POST: the buttons change state, so a link or a reload must not."""
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])
