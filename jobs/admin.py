"""Admin for jobs, with guardian's object-permission pages."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from guardian.admin import GuardedModelAdmin

from jobs import schedule, timing
from jobs.models import Job, JobTag


class JobTagInline(admin.TabularInline):
    model = JobTag
    extra = 0


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
    ]
    list_filter = ["type", "enabled", "interval_type", "tenant"]
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
    inlines = [JobTagInline]
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
        jobs = super().get_queryset(request)
        return jobs if request.user.is_superuser else jobs.filter(tenant_id=request.user.tenant_id)

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
