"""Admin for run history (progress step by step) and workers (liveness); "Run now" on jobs.

A run is seen by whoever may see its job, cancelled by whoever may run it and deleted by whoever may edit
it, as in the API; workers and django-q2's queue are the installation's, for superusers only.
"""

from __future__ import annotations

import json

import django_q.admin  # noqa: F401 - registers the admins restricted below (runs comes first in INSTALLED_APPS)
from django.conf import settings
from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_q.models import Failure, OrmQ, Schedule, Success

from informer import redaction
from informer.admin.tenancy import SuperuserOnlyAdminMixin, TenantScopedAdminMixin, restrict_to_superusers
from jobs.admin import JobAdmin
from jobs.admin.access import JobPermissionMixin, job_codenames, visible_jobs
from jobs.models import Job
from runs import services
from runs.models import Run, Worker

STATUS_MARKS = {"running": "…", "success": "✓", "warning": "!", "error": "✗", "skipped": "-"}


def redacted_error(run: Run) -> str:
    """The run's error with credentials masked, as the API shows it (history, so for everyone)."""
    return redaction.redact_text(run.error, redaction.definition_secrets(run.definition))


class RunInline(admin.TabularInline):
    """The last runs of a job, on the job's page."""

    model = Run
    fk_name = "job"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = readonly_fields = ("created_at", "trigger", "scheduled_for", "status", "attempt", "shown_error")
    ordering = ["-created_at"]

    @admin.display(description="Error")
    def shown_error(self, run: Run) -> str:
        return redacted_error(run)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        return super().get_queryset(request).order_by("-created_at")


class RunnableJobAdmin(JobAdmin):
    """The job admin with "Run now" and the latest runs."""

    actions = [*JobAdmin.actions, "run_now"]
    inlines = [*JobAdmin.inlines, RunInline]

    def has_run_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        """The model's run permission, then job:run on the job."""
        if not request.user.has_perm("jobs.run_job"):
            return False
        return obj is None or "run_job" in job_codenames(request, obj)

    @admin.action(description="Run the selected jobs now", permissions=["run"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        jobs = self.each_permitted(request, queryset.filter(editing_of__isnull=True), self.has_run_permission)
        for job in jobs:
            services.run_create_manual(job=job)
        self.message_user(request, f"Queued {len(jobs)} run(s); follow them in the run history.")


admin.site.unregister(Job)
admin.site.register(Job, RunnableJobAdmin)


@admin.register(Run)
class RunAdmin(JobPermissionMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "job", "trigger", "status", "attempt", "scheduled_for", "started_at", "ended_at"]
    list_filter = ["status", "trigger", "tenant"]
    list_select_related = ["job"]
    search_fields = ["job__name", "error"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "id",
        "job",
        "tenant",
        "status",
        "success",
        "warnings",
        "shown_error",
        "trigger",
        "scheduled_for",
        "attempt",
        "retry_of",
        "params",
        "data",
        "steps",
        "shown_definition",
        "created_at",
        "not_before",
        "enqueued_at",
        "started_at",
        "ended_at",
        "worker",
        "heartbeat_at",
        "cancel_requested",
    ]
    # Shown redacted instead (shown_error, steps, shown_definition): what a job's headers and URLs held then is
    # nobody's to read back now, as in the API.
    exclude = ["progress", "error", "definition", "lease_token", "owner_id"]
    actions = ["cancel"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # History is written by runs alone: saving the form would put back columns a worker moved on.
        return False

    def has_cancel_permission(self, request: HttpRequest, obj: Run | None = None) -> bool:
        """The model's change permission, then job:run on the run's job (as POST …/_cancel)."""
        if not request.user.has_perm("runs.change_run"):
            return False
        return obj is None or "run_job" in job_codenames(request, obj.job)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        return super().get_queryset(request).filter(job__in=visible_jobs(request).values("pk"))

    def delete_model(self, request: HttpRequest, obj: Run) -> None:
        services.run_delete(run=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        for run in self.each_permitted(request, queryset, self.has_delete_permission):
            services.run_delete(run=run)

    @admin.display(description="Error")
    def shown_error(self, run: Run) -> str:
        return redacted_error(run)

    @admin.display(description="Definition")
    def shown_definition(self, run: Run) -> str:
        """The frozen job definition with the job's, actions' and attachments' credentials masked."""
        return format_html(
            '<pre style="white-space: pre-wrap;">{}</pre>',
            json.dumps(redaction.redact_definition(run.definition), ensure_ascii=False, indent=2),
        )

    @admin.display(description="Progress")
    def steps(self, run: Run) -> str:
        """The progress entries, one line per step, their messages with credentials masked."""
        if not run.progress:
            return "No steps yet."
        secrets = redaction.definition_secrets(run.definition)
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    STATUS_MARKS.get(entry.get("status", ""), "?") + " " + entry.get("status", ""),
                    entry.get("name", entry.get("key", "")),
                    redaction.redact_text(str(entry.get("message") or ""), secrets),
                    entry.get("startedAt") or "",
                    entry.get("endedAt") or "",
                )
                for entry in run.progress
            ),
        )
        return format_html(
            "<table><tr><th>Status</th><th>Step</th><th>Message</th><th>Started</th><th>Ended</th></tr>{}</table>",
            rows,
        )

    @admin.action(description="Cancel the selected runs", permissions=["cancel"])
    def cancel(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        going = queryset.filter(status__in=["queued", "running"]).select_related("job")
        runs = self.each_permitted(request, going, self.has_cancel_permission)
        for run in runs:
            services.run_cancel(run=run)
        self.message_user(request, f"Cancelled {len(runs)} run(s).")


@admin.register(Worker)
class WorkerAdmin(SuperuserOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "host", "pid", "cluster", "started_at", "last_heartbeat_at", "liveness", "stopped_at"]
    list_filter = ["cluster", "host"]
    readonly_fields = [field.name for field in Worker._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="Alive")
    def liveness(self, worker: Worker) -> str:
        """Alive while the last heartbeat is younger than the worker timeout."""
        if worker.stopped_at:
            return "stopped"
        age = (timezone.now() - worker.last_heartbeat_at).total_seconds()
        if age <= settings.INFORMER_WORKER_TIMEOUT:
            return f"alive ({int(age)} s ago)"
        return f"lost ({int(age)} s without heartbeat)"


# django-q2's queue runs whatever a schedule names: installation-wide, like the workers.
for model in (Schedule, Success, Failure, OrmQ):
    restrict_to_superusers(model)
