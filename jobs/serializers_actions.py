"""API representations of actions and attachments."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Model
from django.urls import reverse
from rest_framework import serializers

from informer import redaction
from informer.api.permissions import object_codenames
from informer.api.serializers import ApiModelSerializer, ApiSerializer, SelfLinkField
from jobs import conditions
from jobs.drivers.registry import ACTION_DRIVERS, ATTACHMENT_DRIVERS, action_driver, attachment_driver
from jobs.models import Job, JobAction, JobAttachment

_SECRETS_VISIBLE = "_secrets_visible"  # per-serialization cache in the context: job id -> may read


def may_read_secrets(context: dict[str, Any], job_id: uuid.UUID) -> bool:
    """Whether the caller holds ``job:edit`` on the job: header values and URL credentials are write-only to others."""
    known = context.get("permissions")
    if known is not None and job_id in known:
        return "change_job" in known[job_id]
    cache: dict[uuid.UUID, bool] = context.setdefault(_SECRETS_VISIBLE, {})
    if job_id not in cache:
        request = context.get("request")
        if request is None or not request.user.is_authenticated:
            cache[job_id] = False  # nobody to vouch for: show the masked form
        else:
            view_job = getattr(context.get("view"), "job", None)  # the nested views' already-checked job
            job = view_job() if callable(view_job) else None
            if job is None or job.pk != job_id:
                job = Job.objects.select_related("editing_of").filter(pk=job_id).first()
            cache[job_id] = job is not None and "change_job" in object_codenames(request, job)
    return cache[job_id]


def _job_id(instance: Model) -> uuid.UUID:
    return instance.pk if isinstance(instance, Job) else instance.job_id  # type: ignore[attr-defined]


class CredentialDataField(serializers.JSONField):
    """A driver's ``data``: header values and URL credentials masked for callers without ``job:edit``.

    On a write, a mask sent back (by anyone) stands for the stored value and keeps it.
    """

    def get_attribute(self, instance: Model) -> Any:
        value = super().get_attribute(instance)
        return value if may_read_secrets(self.context, _job_id(instance)) else redaction.mask_data(value)

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            return value  # the serializer's validate() names the problem
        instance = getattr(self.parent, "instance", None)
        restored, errors = redaction.restore_masked(value, getattr(instance, "data", None))
        if errors:
            raise serializers.ValidationError(errors)
        return restored


class JobAttachmentSerializer(ApiModelSerializer):
    """An attachment of an action; a ``file`` attachment's bytes go through ``…/action-attachment-file-contents``."""

    _links = SelfLinkField()
    job_action_id = serializers.UUIDField(source="action_id", read_only=True)
    type = serializers.CharField(max_length=40)
    data = serializers.JSONField(required=False)
    has_file = serializers.SerializerMethodField()

    class Meta:
        model = JobAttachment
        fields = [
            "_links",
            "id",
            "job_action_id",
            "type",
            "name",
            "data",
            "content_type",
            "size",
            "sha256",
            "has_file",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "content_type", "size", "sha256", "created_at", "updated_at"]

    def self_path(self, attachment: JobAttachment) -> str:
        return reverse(
            "job-attachment-detail",
            kwargs={"job_pk": attachment.action.job_id, "action_pk": attachment.action_id, "pk": attachment.pk},
        )

    def get_has_file(self, attachment: JobAttachment) -> bool:
        return bool(attachment.file)

    def validate_type(self, value: str) -> str:
        if self.instance is not None and value != self.instance.type:
            raise serializers.ValidationError("The type of an attachment cannot change; delete it and add another.")
        if value not in ATTACHMENT_DRIVERS:
            known = ", ".join(ATTACHMENT_DRIVERS)
            raise serializers.ValidationError(f"Unknown attachment type '{value}'; known types are: {known}.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("type") or (self.instance.type if self.instance else None)
        if kind is None:
            raise serializers.ValidationError({"type": ["This field is required."]})
        data = attrs.get("data", self.instance.data if self.instance else {}) or {}
        errors = attachment_driver(kind).validation_errors(data)
        if errors:
            raise serializers.ValidationError({"data": errors})
        attrs["data"] = data
        return attrs


class JobActionSerializer(ApiModelSerializer):
    """An action of a job, with its attachments embedded."""

    _links = SelfLinkField()
    job_id = serializers.UUIDField(read_only=True)
    type = serializers.CharField(max_length=40)
    data = CredentialDataField(required=False)
    run_condition = serializers.JSONField(required=False, allow_null=True)
    index = serializers.IntegerField(required=False, min_value=0, max_value=10_000)
    attachments = JobAttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = JobAction
        fields = [
            "_links",
            "id",
            "job_id",
            "type",
            "name",
            "index",
            "enabled",
            "data",
            "run_condition",
            "attachments",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def self_path(self, action: JobAction) -> str:
        return reverse("job-action-detail", kwargs={"job_pk": action.job_id, "pk": action.pk})

    def validate_type(self, value: str) -> str:
        if value not in ACTION_DRIVERS:
            known = ", ".join(ACTION_DRIVERS)
            raise serializers.ValidationError(f"Unknown action type '{value}'; known types are: {known}.")
        return value

    def validate_run_condition(self, value: Any) -> Any:
        if value in (None, {}):
            return None
        try:
            conditions.validate_condition(value)
        except conditions.ConditionError as error:
            raise serializers.ValidationError(str(error)) from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs.get("type") or (self.instance.type if self.instance else None)
        if kind is None:
            raise serializers.ValidationError({"type": ["This field is required."]})
        if self.instance is None and "name" not in attrs:
            raise serializers.ValidationError({"name": ["This field is required."]})
        data = attrs.get("data", self.instance.data if self.instance else {}) or {}
        if not isinstance(data, dict):
            raise serializers.ValidationError({"data": ["data must be a JSON object."]})
        errors = action_driver(kind).errors(data)
        if errors:
            raise serializers.ValidationError({"data": errors})
        attrs["data"] = data
        return attrs


class PreviewSerializer(ApiSerializer):
    """The optional body of ``…/_preview``: ``data`` overrides the action's, ``params`` stand in for a run's."""

    data = serializers.DictField(required=False)
    params = serializers.DictField(required=False, default=dict)
