"""Actions of a job, in execution order: ``/api/jobs/{id}/actions[/{jobActionId}]`` and their ``…/_preview``."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from informer import redaction
from informer.api.filters import SearchFilter, SortFilter
from informer.api.pagination import HalPagination
from informer.api.permissions import object_codenames
from informer.api.schema import body_choices, hal_collection_schema
from informer.api.serializers import ApiModelSerializer, ApiSerializer, SelfLinkField
from jobs import conditions, previews
from jobs.api.attachments import JobAttachmentSerializer
from jobs.api.common import NestedJobMixin, choosable, reference_errors, uuid_or_404
from jobs.drivers.registry import ACTION_DRIVERS, action_driver
from jobs.models import Job, JobAction
from jobs.selectors import actions_with_attachments
from jobs.services import actions as action_services

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
        # The context is the root serializer's dict (the stubs say Mapping); may_read_secrets caches in it.
        context = cast(dict[str, Any], self.context)
        return value if may_read_secrets(context, _job_id(instance)) else redaction.mask_data(value)

    def to_internal_value(self, data: Any) -> Any:
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            return value  # the serializer's validate() names the problem
        instance = getattr(self.parent, "instance", None)
        restored, errors = redaction.restore_masked(value, getattr(instance, "data", None))
        if errors:
            raise serializers.ValidationError(errors)
        return restored


class JobActionSerializer(ApiModelSerializer):
    """An action of a job, with its attachments embedded."""

    _links = SelfLinkField()
    job_id = serializers.UUIDField(read_only=True)
    type = serializers.CharField(max_length=40)
    data = CredentialDataField(required=False)  # type: ignore[assignment]  # DRF moves declared fields off the class
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
        driver = action_driver(kind)
        errors = driver.errors(data)
        if not errors:
            action = self.instance
            current = action.data if action is not None and action.type == kind else None
            errors = reference_errors(self, driver, data, tenant_id=self._tenant_id(), current=current)
        if errors:
            raise serializers.ValidationError({"data": errors})
        attrs["data"] = data
        return attrs

    def _tenant_id(self) -> int | None:
        """The tenant of the action's job: the stored action's, else the job of the route (None: the caller's)."""
        if self.instance is not None:
            return self.instance.job.tenant_id
        view = self.context.get("view")
        return view.job().tenant_id if isinstance(view, NestedJobMixin) else None


class PreviewSerializer(ApiSerializer):
    """The optional body of ``…/_preview``: ``data`` overrides the action's, ``params`` stand in for a run's."""

    data = serializers.DictField(required=False)  # type: ignore[assignment]  # DRF moves declared fields off the class
    params = serializers.DictField(required=False, default=dict)


@extend_schema_view(
    list=extend_schema(
        summary="Actions of a job, in execution order (default sort `index`)",
        responses=hal_collection_schema(JobActionSerializer, "inf:job-action", "JobActionCollection"),
    ),
    create=extend_schema(
        summary="Add an action (at `index`, default last)", extensions=body_choices(type=choosable("action"))
    ),
    retrieve=extend_schema(summary="One action"),
    update=extend_schema(
        summary="Update an action (merges; a new `index` moves it)",
        request=JobActionSerializer(partial=True),
        extensions=body_choices(type=choosable("action")),
    ),
    partial_update=extend_schema(
        summary="Update an action (merges; a new `index` moves it)", extensions=body_choices(type=choosable("action"))
    ),
    destroy=extend_schema(summary="Delete an action"),
)
class JobActionViewSet(NestedJobMixin, viewsets.GenericViewSet):
    """``/api/jobs/{id}/actions[/{jobActionId}]`` and ``…/_preview``.

    The list follows §2's conventions (``q`` over the name, ``sort``, ``limit``, ``start``) with one
    difference: its default sort is ``index``, the order the actions run in, not ``name``.
    """

    serializer_class = JobActionSerializer
    hal_rel = "inf:job-action"
    filter_backends = [SearchFilter, SortFilter]
    pagination_class = HalPagination
    search_fields = ("name",)
    sort_fields = {
        "index": "index",
        "name": "name",
        "type": "type",
        "enabled": "enabled",
        "createdAt": "created_at",
        "updatedAt": "updated_at",
    }
    default_sort = "index"
    action_permissions = {
        "list": "view_job",
        "retrieve": "view_job",
        "create": "change_job",
        "update": "change_job",
        "partial_update": "change_job",
        "destroy": "change_job",
        "preview": "change_job",
    }

    def get_queryset(self) -> QuerySet[JobAction]:
        if getattr(self, "swagger_fake_view", False):
            return JobAction.objects.none()
        return actions_with_attachments().filter(job=self.job()).order_by("index", "created_at")

    def get_object(self) -> JobAction:
        action = self.get_queryset().filter(pk=uuid_or_404(self.kwargs["pk"])).first()
        if action is None:
            raise Http404
        return action

    def _item(self, action: JobAction, code: int = status.HTTP_200_OK) -> Response:
        action = actions_with_attachments().get(pk=action.pk)
        data = self.get_serializer(action).data
        headers = {"Location": data["_links"]["self"]["href"]} if code == status.HTTP_201_CREATED else None
        return Response(data, status=code, headers=headers)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._item(self.get_object())

    @transaction.atomic
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self.locked_job()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        action = action_services.action_create(job=job, fields=dict(body.validated_data))
        return self._item(action, status.HTTP_201_CREATED)

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.locked_job()
        action = self.get_object()
        body = self.get_serializer(action, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        action = action_services.action_update(action=action, fields=dict(body.validated_data))
        return self._item(action)

    partial_update = update

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.locked_job()
        action_services.action_delete(action=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Render the action as it would run now, delivering nothing",
        operation_id="jobs_actions_preview",
        request=PreviewSerializer,
        responses=OpenApiResponse(
            response=inline_serializer(
                "ActionPreview", {"type": serializers.CharField(), "preview": serializers.DictField()}
            ),
            description="Email: recipients, subject, body, attachments; webhook: request.",
        ),
    )
    def preview(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        action = self.get_object()
        body = PreviewSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        rendered = previews.action_preview(
            action=action,
            data=body.validated_data.get("data"),
            params=body.validated_data.get("params"),
            user=request.user,
        )
        return Response({"type": action.type, "preview": rendered})
