"""The job admin with its runs: the last run in the list (one query for the page), "Run now", the latest runs."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Model, OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html

from informer.admin.display import EMPTY, admin_time_cell
from informer.api.exceptions import DomainError
from jobs.admin import JobAdmin
from jobs.models import Job
from runs import services, triggers
from runs.admin.common import may_run, posted_only, run_link, short_error, shown_duration, shown_status
from runs.models import Run

# Jobs' pages list this many of their latest runs; the run list filtered by the job has them all.
LATEST_RUNS_SHOWN = 10


def latest_run() -> Prefetch:
    """Each job's latest run as ``job.latest_runs`` (a list of one or none): one query for a whole page of jobs."""
    latest = Run.objects.filter(job_id=OuterRef("job_id")).order_by("-created_at", "-pk").values("pk")[:1]
    runs = Run.objects.filter(pk=Subquery(latest)).defer("progress", "data", "params")
    return Prefetch("runs", queryset=runs, to_attr="latest_runs")


class RunInline(admin.TabularInline):
    """The latest runs of a job, on the job's page: history, so never edited from there."""

    model = Run
    fk_name = "job"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    # shown_error, not error: a model field wins over an admin method of the same name, unredacted.
    fields = readonly_fields = (
        "created_at",
        "trigger",
        "scheduled_for",
        "status",
        "attempt",
        "duration",
        "shown_error",
    )
    ordering = ["-created_at"]
    verbose_name_plural = "latest runs"

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Otherwise a staff user holding runs.change_run would see a Save button on a job they may only view.
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.display(description="Duration")
    def duration(self, run: Run) -> str:
        return shown_duration(run)

    @admin.display(description="Error")
    def shown_error(self, run: Run) -> str:
        return short_error(run)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Run]:
        return super().get_queryset(request).order_by("-created_at")


class JobChangeList(ChangeList):
    """The job list, each job with its latest run fetched for the whole page in one query."""

    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet[Job]:
        return super().get_queryset(request, exclude_parameters).prefetch_related(latest_run())


class RunnableJobAdmin(JobAdmin):
    """The job admin with its last run in the list, "Run now" (a button and an action) and the latest runs."""

    list_display = [*JobAdmin.list_display, "last_run", "last_duration", "last_error"]
    actions = [*JobAdmin.actions, "run_now"]
    inlines = [*JobAdmin.inlines, RunInline]
    # guardian declares change_form_template as an instance attribute, the stubs' ModelAdmin as a class variable.
    change_form_template = "admin/jobs/job/change_form.html"  # type: ignore[misc]

    def has_run_permission(self, request: HttpRequest, obj: Job | None = None) -> bool:
        """The model's run permission, then job:run on the job."""
        if obj is None:
            return request.user.has_perm("jobs.run_job")
        return may_run(request, obj)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return JobChangeList

    def get_formset_kwargs(self, request: HttpRequest, obj: Any, inline: Any, prefix: str) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if isinstance(inline, RunInline) and obj is not None and not obj._state.adding:
            # The latest few, not every run the job ever had; an inline's queryset cannot be sliced.
            latest = Run.objects.filter(job=obj).order_by("-created_at").values_list("pk", flat=True)
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=list(latest[:LATEST_RUNS_SHOWN]))
        return kwargs

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Job | None = None,
    ) -> HttpResponse:
        job = obj
        if job is not None and not job.is_draft:
            if may_run(request, job):
                context["run_now_url"] = reverse("admin:jobs_job_run", args=[job.pk])
            if request.user.has_perm("runs.view_run"):
                context["runs_url"] = f"{reverse('admin:runs_run_changelist')}?job={job.pk}"
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self) -> list[Any]:
        run = path("<path:object_id>/run/", self.admin_site.admin_view(self.run_now_view), name="jobs_job_run")
        return [run, *super().get_urls()]

    def run_now_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The job page's "Run now" button: queue a run, then show the page again with a link to the run."""
        refused = posted_only(request)
        if refused:
            return refused
        job = self.get_object(request, unquote(object_id))
        if job is None or not self.has_view_permission(request, job):
            raise Http404
        if not may_run(request, job):
            raise PermissionDenied
        try:
            run = services.run_create_manual(job=job, triggered_by=triggers.by_user(request.user))
        except DomainError as error:  # a draft: it is committed first
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(request, format_html("Queued {}.", run_link(run)), messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:jobs_job_change", args=[job.pk]))

    def _latest(self, job: Job) -> Run | None:
        runs = getattr(job, "latest_runs", None)
        if runs is None:  # not from the list's prefetch
            return job.runs.order_by("-created_at").first()
        return runs[0] if runs else None

    @admin.display(description="Last run")
    def last_run(self, job: Job) -> str:
        """The latest run's status, linked to it, and when it started (or was queued)."""
        run = self._latest(job)
        if run is None:
            return EMPTY
        return format_html(
            '<a href="{}">{}</a><br>{}',
            reverse("admin:runs_run_change", args=[run.pk]),
            shown_status(run),
            admin_time_cell(run.started_at or run.created_at),
        )

    @admin.display(description="Last duration")
    def last_duration(self, job: Job) -> str:
        run = self._latest(job)
        return EMPTY if run is None else shown_duration(run)

    @admin.display(description="Last error")
    def last_error(self, job: Job) -> str:
        run = self._latest(job)
        return EMPTY if run is None else short_error(run)

    @admin.action(description="Run the selected jobs now", permissions=["run"])
    def run_now(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        jobs = self.each_permitted(request, queryset.filter(editing_of__isnull=True), self.has_run_permission)
        runs = [services.run_create_manual(job=job, triggered_by=triggers.by_user(request.user)) for job in jobs]
        if len(runs) == 1:
            self.message_user(request, format_html("Queued {}.", run_link(runs[0])), messages.SUCCESS)
            return
        history = reverse("admin:runs_run_changelist")
        self.message_user(
            request,
            format_html('Queued {} runs; follow them in the <a href="{}">run history</a>.', len(runs), history),
            messages.SUCCESS,
        )


admin.site.unregister(Job)
admin.site.register(Job, RunnableJobAdmin)
