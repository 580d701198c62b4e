"""Admin for jobs, with guardian's object-permission pages."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from guardian.admin import GuardedModelAdmin

from informer.api.exceptions import DomainError
from jobs import previews, schedule, timing
from jobs.models import Job, JobAction, JobAttachment, JobTag
from jobs.selectors import with_locked_at


class JobTagInline(admin.TabularInline):
    model = JobTag
    extra = 0


class JobActionInline(admin.TabularInline):
    """The job's actions in order; attachments and previews are on each action's own page."""

    model = JobAction
    extra = 0
    ordering = ["index"]
    fields = ["index", "name", "type", "enabled", "data", "run_condition", "attachment_count", "preview_link"]
    readonly_fields = ["attachment_count", "preview_link"]
    show_change_link = True

    @admin.display(description="Attachments")
    def attachment_count(self, action: JobAction) -> int:
        return action.attachments.count() if action.pk else 0

    @admin.display(description="Preview")
    def preview_link(self, action: JobAction) -> str:
        if not action.pk:
            return "-"
        return format_html('<a href="{}">Preview</a>', reverse("admin:jobs_jobaction_preview", args=[action.pk]))


class DraftFilter(admin.SimpleListFilter):
    """Committed jobs or drafts."""

    title = "draft"
    parameter_name = "draft"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Committed jobs"), ("yes", "Drafts")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> QuerySet[Job]:
        if self.value() == "yes":
            return queryset.filter(editing_of__isnull=False)
        if self.value() == "no":
            return queryset.filter(editing_of__isnull=True)
        return queryset


@admin.register(Job)
class JobAdmin(GuardedModelAdmin):
    list_display = [
        "name",
        "type",
        "tenant",
        "owner",
        "enabled",
        "interval_type",
        "interval",
        "next_run_at",
        "last_run_at",
        "is_draft",
    ]
    list_filter = [DraftFilter, "type", "enabled", "interval_type", "tenant"]
    list_select_related = ["tenant", "owner"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = [
        "upcoming_fire_times",
        "id",
        "next_run_at",
        "last_run_at",
        "last_success",
        "locked_at",
        "editing_of",
        "created_at",
        "updated_at",
    ]
    inlines = [JobTagInline, JobActionInline]
    actions = ["enable", "disable"]
    fieldsets = [
        (None, {"fields": ["id", "tenant", "owner", "type", "name", "slug", "description", "data"]}),
        (
            "Schedule",
            {
                "fields": [
                    "interval_type",
                    "interval",
                    "timezone",
                    "start_on",
                    "end_on",
                    "dst_policy",
                    "enabled",
                    # A read-only field shows only if a fieldset names it.
                    "upcoming_fire_times",
                ]
            },
        ),
        (
            "Execution",
            {
                "fields": [
                    "timeout_seconds",
                    "max_attempts",
                    "misfire_policy",
                    "max_catch_up",
                    "overlap_policy",
                ]
            },
        ),
        (
            "State",
            {
                "fields": [
                    "next_run_at",
                    "last_run_at",
                    "last_success",
                    "locked_at",
                    "editing_of",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        jobs = with_locked_at(super().get_queryset(request))
        return jobs if request.user.is_superuser else jobs.filter(tenant_id=request.user.tenant_id)

    @admin.display(description="Draft", boolean=True)
    def is_draft(self, job: Job) -> bool:
        return job.is_draft

    @admin.display(description="Next fire times")
    def upcoming_fire_times(self, job: Job) -> str:
        """The next five fire times, local and UTC, from the scheduler's own engine."""
        if job.pk is None:
            return "-"
        try:
            fires = schedule.fire_times(timing.job_schedule(job), timezone.now(), 5)
        except schedule.ScheduleError as error:
            return f"Invalid schedule: {error.message}"
        if not fires:
            return "No upcoming fire times."
        rows = format_html_join(
            "",
            "<li>{} &nbsp;({} UTC){}</li>",
            (
                (
                    fire.local.strftime("%Y-%m-%d %H:%M %Z"),
                    fire.at.strftime("%Y-%m-%d %H:%M"),
                    " (moved by DST)" if fire.shifted else "",
                )
                for fire in fires
            ),
        )
        note = "" if job.enabled else format_html("<p>{}</p>", "Disabled: these are shown but will not fire.")
        return format_html("<ul>{}</ul>{}", rows, note)

    @admin.action(description="Enable the selected jobs")
    def enable(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        from jobs import services

        for job in queryset:
            services.job_update(job=job, fields={"enabled": True})
        self.message_user(request, f"Enabled {queryset.count()} job(s).")

    @admin.action(description="Disable the selected jobs")
    def disable(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        from jobs import services

        for job in queryset:
            services.job_update(job=job, fields={"enabled": False})
        self.message_user(request, f"Disabled {queryset.count()} job(s).")


class JobAttachmentInline(admin.TabularInline):
    model = JobAttachment
    extra = 0
    fields = ["name", "type", "data", "file", "content_type", "size", "sha256"]
    readonly_fields = ["content_type", "size", "sha256"]


@admin.register(JobAction)
class JobActionAdmin(admin.ModelAdmin):
    """An action with its attachments, and a page that previews it without delivering anything."""

    list_display = ["name", "type", "job", "index", "enabled"]
    list_filter = ["type", "enabled"]
    list_select_related = ["job"]
    search_fields = ["name", "job__name"]
    inlines = [JobAttachmentInline]
    readonly_fields = ["preview_link"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobAction]:
        actions = super().get_queryset(request)
        return actions if request.user.is_superuser else actions.filter(job__tenant_id=request.user.tenant_id)

    @admin.display(description="Preview")
    def preview_link(self, action: JobAction) -> str:
        if not action.pk:
            return "-"
        return format_html(
            '<a href="{}">Preview this action</a>', reverse("admin:jobs_jobaction_preview", args=[action.pk])
        )

    def get_urls(self) -> list[Any]:
        extra = [
            path(
                "<uuid:action_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="jobs_jobaction_preview",
            )
        ]
        return extra + super().get_urls()

    def preview_view(self, request: HttpRequest, action_id: Any) -> HttpResponse:
        """Render the action as a run would now; nothing is sent."""
        action = self.get_queryset(request).select_related("job", "job__tenant").filter(pk=action_id).first()
        if action is None or not self.has_view_or_change_permission(request, action):
            raise Http404
        try:
            rendered: dict[str, Any] | None = previews.action_preview(action=action)
            error = ""
        except DomainError as failure:
            rendered, error = None, failure.message
        return TemplateResponse(
            request,
            "admin/jobs/jobaction/preview.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Preview of {action.name}",
                "action": action,
                "opts": self.model._meta,
                "rendered": rendered,
                "error": error,
            },
        )
