"""Admin for jobs, their actions and attachments, and their shares.

Everything is limited as the API limits it: the staff user's tenant, then the object permissions they hold on
each job (read through ``jobs.selectors``), on top of Django's model permissions. Every write goes through the
services the API uses, after the API's serializers validated it.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from guardian.admin import GuardedModelAdmin

from informer.admin.display import EMPTY, admin_time, admin_time_cell
from informer.admin.forms import ServiceAdminMixin, ServiceInlineMixin, adopt
from informer.admin.tenancy import TenantScopedAdminMixin
from informer.api.exceptions import DomainError
from informer.auth import request_user
from jobs import previews, schedule, timing
from jobs.admin.access import JobPermissionMixin, MaskedDataMixin, save_inline, visible_jobs
from jobs.admin.forms import JobActionForm, JobAttachmentForm, JobForm
from jobs.admin.shares import JobSharesMixin
from jobs.models import Job, JobAction, JobAttachment
from jobs.services import actions as action_services
from jobs.services import drafts as draft_services
from jobs.services import jobs as job_services


class JobActionInline(MaskedDataMixin, ServiceInlineMixin, JobPermissionMixin, admin.TabularInline):
    """The job's actions in order; attachments and previews are on each action's own page."""

    model = JobAction
    form = JobActionForm
    extra = 0
    ordering = ["index"]
    fields = ["index", "name", "type", "enabled", "data", "run_condition", "attachment_count", "preview_link"]
    readonly_fields = ["attachment_count", "preview_link"]
    show_change_link = True

    def job_of(self, obj: Job) -> Job | None:
        return obj  # the inline's object is the job itself

    @admin.display(description="Attachments")
    def attachment_count(self, action: JobAction) -> int:
        return 0 if action._state.adding else action.attachments.count()

    @admin.display(description="Preview")
    def preview_link(self, action: JobAction) -> str:
        if action._state.adding:
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
# guardian declares change_form_template as an instance attribute, the stubs' ModelAdmin as a class variable.
class JobAdmin(  # type: ignore[misc]
    MaskedDataMixin, ServiceAdminMixin, JobSharesMixin, JobPermissionMixin, TenantScopedAdminMixin, GuardedModelAdmin
):
    form = JobForm
    job_permissions = {"view": "view_job", "change": "change_job", "delete": "delete_job"}
    # Few, narrow columns, so that the list fits 1440 px with the run columns ``runs.admin`` adds: a draft is
    # marked in its name, a disabled job in its next run; the tenant is for superusers (TenantScopedAdminMixin).
    list_display = ["title", "type", "owner", "tenant", "schedule", "next_run"]
    list_filter = [DraftFilter, "type", "enabled", "interval_type", "tenant"]
    list_select_related = ["tenant", "owner"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = [
        "tenant",
        "owner",
        "upcoming_fire_times",
        "id",
        "next_run_at",
        "last_run_at",
        "last_success",
        "locked",
        "editing_of",
        "created_at",
        "updated_at",
    ]
    inlines = [JobActionInline]
    actions = ["enable", "disable"]
    fieldsets = [
        (None, {"fields": ["id", "tenant", "owner", "type", "name", "slug", "description", "tags", "data"]}),
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
                    "locked",
                    "editing_of",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    def job_of(self, obj: Job) -> Job | None:
        return obj

    def job_permission(self, job: Job, verb: str) -> str:
        # Deleting a draft discards an edit: it needs job:edit, not job:delete (as in the API).
        if verb == "delete" and job.is_draft:
            return "change_job"
        return super().job_permission(job, verb)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Job]:
        return visible_jobs(request)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        # A new job runs in its owner's tenant's zone unless told otherwise, as through the API.
        return {"timezone": request_user(request).tenant.timezone, **super().get_changeform_initial_data(request)}

    def save_model(self, request: HttpRequest, obj: Job, form: JobForm, change: bool) -> None:
        fields = dict(form.service_fields)
        tags = fields.pop("tags", None)
        if change:
            stored = Job.objects.select_for_update().get(pk=obj.pk)
            job = job_services.job_update(job=stored, fields=fields, tags=tags)
        else:
            job = job_services.job_create(user=request_user(request), fields=fields, tags=tags)
        adopt(obj, job)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not JobAction:
            super().save_formset(request, form, formset, change)
            return
        job = form.instance
        save_inline(
            formset,
            create=lambda fields: action_services.action_create(job=job, fields=fields),
            update=lambda action, fields: action_services.action_update(action=action, fields=fields),
            delete=lambda action: action_services.action_delete(action=action),
        )

    def delete_model(self, request: HttpRequest, obj: Job) -> None:
        if obj.is_draft:
            draft_services.draft_discard(draft=obj)
        else:
            job_services.job_delete(job=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        for job in self.each_permitted(request, queryset, self.has_delete_permission):
            self.delete_model(request, job)

    @admin.display(description="Name", ordering="name")
    def title(self, job: Job) -> str:
        return f"{job.name} (draft)" if job.is_draft else job.name

    @admin.display(description="Locked at")
    def locked(self, job: Job) -> str:
        """When the oldest run still going started (the annotation may come back as text, on SQLite)."""
        return admin_time(job.locked_at)

    @admin.display(description="Next run", ordering="next_run_at")
    def next_run(self, job: Job) -> str:
        return admin_time_cell(job.next_run_at) if job.enabled else "disabled"

    @admin.display(description="Schedule", ordering="interval")
    def schedule(self, job: Job) -> str:
        """The interval with its kind, e.g. ``0 8 * * mon (cron)``; a once shows its moment."""
        if job.interval_type == "none":
            return "manual only"
        if job.interval_type == "once":
            return f"once at {job.start_on or EMPTY}"
        return f"{job.interval} ({job.get_interval_type_display().lower()})"

    @admin.display(description="Next fire times")
    def upcoming_fire_times(self, job: Job) -> str:
        """The next five fire times, local and UTC, from the scheduler's own engine."""
        if job._state.adding:
            return "-"
        try:
            fires = schedule.fire_times(timing.job_schedule(job), timezone.now(), 5)
        except schedule.ScheduleError as error:
            return f"Invalid schedule: {error.message}"
        if not fires:
            return "No upcoming fire times."
        rows = format_html_join(
            "",
            "<li>{} &nbsp;({}){}</li>",
            (
                (
                    admin_time(fire.local, fire.local.tzinfo),
                    admin_time(fire.at),
                    " (moved by DST)" if fire.shifted else "",
                )
                for fire in fires
            ),
        )
        note = "" if job.enabled else format_html("<p>{}</p>", "Disabled: these are shown but will not fire.")
        return format_html("<ul>{}</ul>{}", rows, note)

    @admin.action(description="Enable the selected jobs", permissions=["change"])
    def enable(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        jobs = self.each_permitted(request, queryset, self.has_change_permission)
        for job in jobs:
            job_services.job_update(job=job, fields={"enabled": True})
        self.message_user(request, f"Enabled {len(jobs)} job(s).")

    @admin.action(description="Disable the selected jobs", permissions=["change"])
    def disable(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        jobs = self.each_permitted(request, queryset, self.has_change_permission)
        for job in jobs:
            job_services.job_update(job=job, fields={"enabled": False})
        self.message_user(request, f"Disabled {len(jobs)} job(s).")


class JobAttachmentInline(MaskedDataMixin, ServiceInlineMixin, JobPermissionMixin, admin.TabularInline):
    model = JobAttachment
    form = JobAttachmentForm
    extra = 0
    fields = ["name", "type", "data", "file", "content_type", "size", "sha256"]
    readonly_fields = ["content_type", "size", "sha256"]

    def job_of(self, obj: JobAction) -> Job | None:
        return obj.job  # the inline's object is the action


@admin.register(JobAction)
class JobActionAdmin(MaskedDataMixin, ServiceAdminMixin, JobPermissionMixin, TenantScopedAdminMixin, admin.ModelAdmin):
    """An action with its attachments, and a page that previews it without delivering anything."""

    form = JobActionForm
    tenant_lookup = "job__tenant_id"
    list_display = ["name", "type", "job", "index", "enabled"]
    list_filter = ["type", "enabled"]
    list_select_related = ["job"]
    search_fields = ["name", "job__name"]
    inlines = [JobAttachmentInline]
    readonly_fields = ["preview_link"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobAction]:
        return super().get_queryset(request).filter(job__in=visible_jobs(request).values("pk"))

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "job"] if obj is not None else fields  # an action does not move between jobs

    def related_choices(self, request: HttpRequest, model: type[Model], queryset: QuerySet) -> QuerySet:
        if model is Job:
            # An action is added to a job the staff user may edit, as POST /api/jobs/{id}/actions requires.
            return queryset.filter(pk__in=visible_jobs(request, "change_job").values("pk"))
        return super().related_choices(request, model, queryset)

    def save_model(self, request: HttpRequest, obj: JobAction, form: JobActionForm, change: bool) -> None:
        if change:
            action = action_services.action_update(
                action=JobAction.objects.select_related("job").get(pk=obj.pk), fields=dict(form.service_fields)
            )
        else:
            action = action_services.action_create(job=form.cleaned_data["job"], fields=dict(form.service_fields))
        adopt(obj, action)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        action = form.instance

        def create(fields: dict[str, Any]) -> JobAttachment:
            return action_services.attachment_create(action=action, fields=fields)

        def update(attachment: JobAttachment, fields: dict[str, Any]) -> JobAttachment:
            return action_services.attachment_update(attachment=attachment, fields=fields)

        save_inline(
            formset,
            create=create,
            update=update,
            delete=lambda attachment: action_services.attachment_delete(attachment=attachment),
        )
        for inline_form in formset.forms:
            upload = inline_form.cleaned_data.get("file") if hasattr(inline_form, "cleaned_data") else None
            if upload and "file" in inline_form.changed_data and inline_form not in formset.deleted_forms:
                stored = JobAttachment.objects.select_related("action__job").get(pk=inline_form.instance.pk)
                action_services.attachment_upload(
                    attachment=stored,
                    stream=upload,
                    filename=upload.name,
                    content_type=getattr(upload, "content_type", "") or "",
                )

    def delete_model(self, request: HttpRequest, obj: JobAction) -> None:
        action_services.action_delete(action=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[JobAction]) -> None:
        for action in self.each_permitted(request, queryset, self.has_delete_permission):
            action_services.action_delete(action=action)

    @admin.display(description="Preview")
    def preview_link(self, action: JobAction) -> str:
        if action._state.adding:
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
        # A preview renders with the job's data: it needs job:edit, as POST …/_preview does.
        if action is None or not self.has_change_permission(request, action):
            raise Http404
        try:
            rendered: dict[str, Any] | None = previews.action_preview(action=action, user=request.user)
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
