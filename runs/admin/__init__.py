"""Admin for run history (progress step by step, "Cancel", "Re-run") and workers (liveness); jobs' runs in ``jobs``.

A run is seen by whoever may see its job, cancelled and run again by whoever may run it and deleted by whoever
may edit it, as in the API; workers and django-q2's queue are the installation's, for superusers only.
"""

from __future__ import annotations

import json
from typing import Any

import django_q.admin  # noqa: F401 - registers the admins restricted below (runs comes first in INSTALLED_APPS)
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_q.models import Failure, OrmQ, Schedule, Success

from informer import redaction
from informer.admin.display import admin_time, admin_time_cell
from informer.admin.tenancy import SuperuserOnlyAdminMixin, TenantScopedAdminMixin, restrict_to_superusers
from informer.api.exceptions import DomainError
from jobs.admin.access import JobPermissionMixin, job_codenames, visible_jobs
from runs import services, triggers
from runs.admin import jobs as job_pages  # noqa: F401 - registers the job admin with its runs
from runs.admin.common import (
    STATUS_MARKS,
    may_run,
    posted_only,
    redacted_error,
    run_link,
    short_error,
    shown_duration,
    shown_status,
)
from runs.models import ACTIVE_STATUSES, Run, RunStatus, Worker


@admin.register(Run)
class RunAdmin(JobPermissionMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    # Narrow enough for 1440 px: when it ended is in the duration, when it was due on its page, a retry's attempt
    # in its status.
    list_display = [
        "created",
        "job",
        "trigger",
        "triggered",
        "shown_status",
        "started",
        "duration",
        "short_error",
    ]
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
        "duration",
        "trigger",
        "triggered",
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
    # nobody's to read back now, as in the API. triggered_by is shown by its label (triggered), not as JSON.
    exclude = ["progress", "error", "definition", "lease_token", "owner_id", "triggered_by"]
    actions = ["cancel"]
    change_form_template = "admin/runs/run/change_form.html"

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

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Run | None = None,
    ) -> HttpResponse:
        run = obj
        if run is not None:
            if run.status in ACTIVE_STATUSES and self.has_cancel_permission(request, run):
                context["cancel_url"] = reverse("admin:runs_run_cancel", args=[run.pk])
            if may_run(request, run.job):
                context["rerun_url"] = reverse("admin:runs_run_rerun", args=[run.pk])
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[Any]:
        buttons = [
            path("<path:object_id>/cancel/", self.admin_site.admin_view(self.cancel_view), name="runs_run_cancel"),
            path("<path:object_id>/rerun/", self.admin_site.admin_view(self.rerun_view), name="runs_run_rerun"),
        ]
        return [*buttons, *super().get_urls()]

    def _posted_run(self, request: HttpRequest, object_id: str) -> Run:
        run = self.get_object(request, unquote(object_id))
        if run is None or not self.has_view_permission(request, run):
            raise Http404
        return run

    def cancel_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The run page's "Cancel" button: a queued run ends at once, a running one is asked to stop."""
        refused = posted_only(request)
        if refused:
            return refused
        run = self._posted_run(request, object_id)
        if not self.has_cancel_permission(request, run):
            raise PermissionDenied
        try:
            run = services.run_cancel(run=run)
        except DomainError as error:  # it ended meanwhile
            self.message_user(request, error.message, messages.ERROR)
        else:
            done = "Cancelled." if run.status == RunStatus.CANCELLED else "Asked the run to stop; it ends cancelled."
            self.message_user(request, done, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:runs_run_change", args=[run.pk]))

    def rerun_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The run page's "Re-run" button: a new manual run of the job with the same params; shows the new run."""
        refused = posted_only(request)
        if refused:
            return refused
        run = self._posted_run(request, object_id)
        if not may_run(request, run.job):
            raise PermissionDenied
        again = services.run_create_manual(job=run.job, params=run.params, triggered_by=triggers.by_user(request.user))
        self.message_user(request, format_html("Queued {}, with the same params.", run_link(again)), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:runs_run_change", args=[again.pk]))

    def delete_model(self, request: HttpRequest, obj: Run) -> None:
        services.run_delete(run=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        for run in self.each_permitted(request, queryset, self.has_delete_permission):
            services.run_delete(run=run)

    @admin.display(description="Error")
    def shown_error(self, run: Run) -> str:
        return redacted_error(run)

    @admin.display(description="Created", ordering="created_at")
    def created(self, run: Run) -> str:
        return admin_time_cell(run.created_at)

    @admin.display(description="Started", ordering="started_at")
    def started(self, run: Run) -> str:
        return admin_time_cell(run.started_at)

    @admin.display(description="Status", ordering="status")
    def shown_status(self, run: Run) -> str:
        return shown_status(run)

    @admin.display(description="Duration")
    def duration(self, run: Run) -> str:
        return shown_duration(run)

    @admin.display(description="Error")
    def short_error(self, run: Run) -> str:
        return short_error(run)

    @admin.display(description="Triggered by")
    def triggered(self, run: Run) -> str:
        """Who or what started the run (``triggeredBy``), its username as the tooltip for a user."""
        shown = triggers.label(run.triggered_by)
        username = (run.triggered_by or {}).get("username")
        if username and username != shown:
            return format_html('<span title="{}">{}</span>', username, shown)
        return shown

    @admin.display(description="Definition")
    def shown_definition(self, run: Run) -> str:
        """The frozen job definition with the job's, actions' and attachments' credentials masked."""
        return format_html(
            '<pre class="wrapped">{}</pre>',
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
                    admin_time(entry.get("startedAt")),
                    admin_time(entry.get("endedAt")),
                )
                for entry in run.progress
            ),
        )
        return format_html(
            '<table class="steps"><tr><th>Status</th><th>Step</th><th>Message</th><th>Started</th><th>Ended</th></tr>'
            "{}</table>",
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

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Workers write their own rows; the page is for reading (and no Save button offers otherwise).
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


# django-q2's queue runs whatever a schedule names: installation-wide, like the workers. Its results are its
# history: read, never edited.
for model in (Schedule, OrmQ):
    restrict_to_superusers(model)
for model in (Success, Failure):
    restrict_to_superusers(model, view_only=True)
