"""The admin's forms for jobs, actions, attachments and shares: validated by the API's serializers."""

from __future__ import annotations

from typing import Any

from django import forms

from informer.admin.forms import ServiceFormMixin
from jobs.api.actions import JobActionSerializer
from jobs.api.attachments import JobAttachmentSerializer
from jobs.api.jobs import JobSerializer
from jobs.drivers.registry import action_drivers, attachment_drivers, job_drivers
from jobs.models import Job, JobAction, JobAttachment
from jobs.services import shares as share_services

ACCESS_LEVEL_CHOICES = [
    (0, "None"),
    (1, "View"),
    (2, "Edit (view, edit, run)"),
    (3, "Admin (view, edit, run, delete, share)"),
]


def _choices(drivers: Any) -> Any:
    """Registered drivers as choices, read when a form is built (the registry is the one source)."""
    return lambda: [(driver.id, f"{driver.name} ({driver.id})") for driver in drivers()]


class JobForm(ServiceFormMixin, forms.ModelForm):
    """A job as the API validates it; tags are typed as a comma-separated list."""

    serializer_class = JobSerializer
    type = forms.ChoiceField(choices=_choices(job_drivers))
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. reports, nightly.")

    class Meta:
        model = Job
        fields = [
            "type",
            "name",
            "slug",
            "description",
            "data",
            "interval_type",
            "interval",
            "timezone",
            "start_on",
            "end_on",
            "dst_policy",
            "enabled",
            "timeout_seconds",
            "max_attempts",
            "misfire_policy",
            "max_catch_up",
            "overlap_policy",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "slug" in self.fields:
            # A new job's slug is made from its name when left empty, as in the API.
            self.fields["slug"].required = not self.is_new()
        if not self.is_new():
            self.fields["tags"].initial = ", ".join(self.instance.tags)

    def clean_tags(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data["tags"].split(",") if name.strip()]

    def serializer_context(self) -> dict[str, Any]:
        # As in the API: a job without a zone of its own takes its tenant's.
        tenant = self.request.user.tenant if self.is_new() else self.instance.tenant  # type: ignore[union-attr]
        return {**super().serializer_context(), "default_timezone": tenant.timezone}

    def serializer_payload(self, writable: set[str]) -> dict[str, Any]:
        payload = super().serializer_payload(writable)
        if not payload.get("slug"):
            payload.pop("slug", None)
        for name in ("data", "dstPolicy"):
            if name in payload and payload[name] is None:
                payload[name] = {}  # an emptied JSON box means no data, as the API's default
        return payload


class JobActionForm(ServiceFormMixin, forms.ModelForm):
    """An action as the API validates it."""

    serializer_class = JobActionSerializer
    type = forms.ChoiceField(choices=_choices(action_drivers))
    index = forms.IntegerField(required=False, min_value=0, help_text="Position in the job; empty means last.")

    class Meta:
        model = JobAction
        fields = ["job", "type", "name", "index", "enabled", "data", "run_condition"]

    def serializer_payload(self, writable: set[str]) -> dict[str, Any]:
        payload = super().serializer_payload(writable)
        if "data" in payload and payload["data"] is None:
            payload["data"] = {}
        if payload.get("index", 0) is None:
            payload.pop("index")  # placed last, as the API places an action sent without one
        return payload


class JobAttachmentForm(ServiceFormMixin, forms.ModelForm):
    """An attachment as the API validates it; a file is stored through ``attachment_upload``."""

    serializer_class = JobAttachmentSerializer
    type = forms.ChoiceField(choices=_choices(attachment_drivers))

    class Meta:
        model = JobAttachment
        fields = ["name", "type", "data", "file"]
        # No "clear" box: a file is replaced by uploading another, as through the API.
        widgets = {"file": forms.FileInput}

    def serializer_payload(self, writable: set[str]) -> dict[str, Any]:
        payload = super().serializer_payload(writable)
        if "data" in payload and payload["data"] is None:
            payload["data"] = {}
        return payload


class ShareLevelForm(ServiceFormMixin, forms.Form):
    """One principal's access level on a job, saved by ``share_set`` (guardian's pages call ``save_obj_perms``)."""

    access_level = forms.TypedChoiceField(choices=ACCESS_LEVEL_CHOICES, coerce=int)
    shows_domain_errors = True

    def __init__(self, principal: Any, obj: Job, data: Any = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.principal = principal
        self.obj = obj
        self.fields["access_level"].initial = share_services.share_get(job=obj, principal=principal)

    def is_new(self) -> bool:
        return False

    def save_obj_perms(self) -> None:
        """Give the principal exactly the chosen level, with the rules the API applies."""
        share_services.share_set(job=self.obj, principal=self.principal, level=self.cleaned_data["access_level"])
