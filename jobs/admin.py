"""Admin for jobs, with guardian's object-permission pages."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from guardian.admin import GuardedModelAdmin

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
