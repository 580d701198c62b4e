"""Jobs: ``/api/jobs[/{id}]`` (the job resource, with its actions embedded)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import ReturnDict

from informer.api.filters import INTEGER_MAX, INTEGER_MIN
from informer.api.permissions import ObjectPermission, object_codenames
from informer.api.schema import body_choices, error_responses
from informer.api.serializers import ApiModelSerializer, SelfLinkField
from informer.auth import request_user
from jobs import blueprints, schedule, selectors, timing
from jobs.api.actions import CredentialDataField, JobActionSerializer
from jobs.api.common import JobLookupMixin, as_form, choosable, form_body, reference_errors, tags_prefetch
from jobs.api.datasets import JobDatasetSerializer
from jobs.api.representation import PERMISSION_FLAGS, JobRepresentation, job_row, list_rows
from jobs.api.schedule_fields import ScheduleBoundField, resolve_naive_bound, spent_schedule_errors
from jobs.drivers.registry import JOB_DRIVERS, job_driver
from jobs.filters import JobFilter
from jobs.models import IntervalType, Job, JobDataset
from jobs.selectors import actions_with_attachments
from jobs.services import actions as action_services
from jobs.services import drafts as draft_services
from jobs.services import jobs as job_services
from jobs.services.jobs import SCHEDULE_FIELDS

JOB_SORT_FIELDS = {
    "name": "name",
    "type": "type",
    "slug": "slug",
    "enabled": "enabled",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "nextRunAt": "next_run_at",
    "lastRunAt": "last_run_at",
    "ownerId": "owner_id",
}


class JobSerializer(ApiModelSerializer):
    """A job as the API shows it; writes merge into the existing job (PUT and PATCH alike)."""

    _links = SelfLinkField()
    natural_id = serializers.CharField(read_only=True)
    owner_id = serializers.IntegerField(read_only=True, allow_null=True)
    owner_name = serializers.SerializerMethodField()
    editing_id = serializers.UUIDField(source="editing_of_id", read_only=True, allow_null=True)
    locked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    tags = serializers.ListField(
        child=serializers.RegexField(r"^[\w .:-]{1,64}$", max_length=64), required=False, max_length=50
    )
    start_on = ScheduleBoundField()
    end_on = ScheduleBoundField()
    type = serializers.CharField(max_length=40)
    # Header values and URL credentials are write-only to viewers.
    data = CredentialDataField(required=False)  # type: ignore[assignment]  # DRF moves declared fields off the class
    dst_policy = serializers.JSONField(required=False)
    permissions = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "_links",
            "id",
            "type",
            "name",
            "slug",
            "natural_id",
            "description",
            "owner_id",
            "owner_name",
            "tags",
            "data",
            "interval",
            "interval_type",
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
            "next_run_at",
            "last_run_at",
            "last_success",
            "locked_at",
            "editing_id",
            "created_at",
            "updated_at",
            "permissions",
        ]
        read_only_fields = [
            "id",
            "next_run_at",
            "last_run_at",
            "last_success",
            "locked_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"slug": {"required": False, "validators": []}, "timezone": {"required": False}}

    def self_path(self, job: Job) -> str:
        return reverse("job-detail", kwargs={"pk": job.pk})

    def get_owner_name(self, job: Job) -> str | None:
        return job.owner.display_name if job.owner else None

    def get_permissions(self, job: Job) -> dict[str, bool]:
        codenames = self.context.get("permissions", {}).get(job.pk, set())
        return {flag: codename in codenames for flag, codename in PERMISSION_FLAGS.items()}

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # The fields above, built directly (jobs/api/representation.py); anything but a job (a form's
        # validated values) goes DRF's way.
        if not isinstance(instance, Job):
            return super().to_representation(instance)
        # The context is the serializer's own dict (the stubs say Mapping); the representation caches in it.
        return JobRepresentation(cast(dict[str, Any], self.context))(job_row(instance))

    def validate_type(self, value: str) -> str:
        if value not in JOB_DRIVERS:
            known = ", ".join(JOB_DRIVERS)
            raise serializers.ValidationError(f"Unknown job type '{value}'; known types are: {known}.")
        return value

    def validate_timezone(self, value: str) -> str:
        try:
            schedule.validate_timezone(value)
        except schedule.ScheduleError as error:
            raise serializers.ValidationError(error.message) from None
        return value

    def validate_dst_policy(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        try:
            schedule.parse_dst_policy(value)
        except schedule.ScheduleError as error:
            raise serializers.ValidationError(error.message) from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        merged = self._merged(attrs)
        job_type = merged["type"]
        data = merged.get("data")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise serializers.ValidationError({"data": ["data must be a JSON object."]})
        driver = job_driver(job_type)
        errors = driver.validation_errors(data)
        if not errors:
            job = self.instance
            current = job.data if job is not None and job.type == job_type else None
            errors = reference_errors(self, driver, data, tenant_id=job.tenant_id if job else None, current=current)
        if errors:
            raise serializers.ValidationError({"data": errors})
        zone = merged.get("timezone") or self.context["default_timezone"]
        for name in ("start_on", "end_on"):
            if name in attrs:
                attrs[name] = resolve_naive_bound(attrs[name], zone)
        # §5's two spellings of a manual-only job, "intervalType": "none" and no interval, are stored alike.
        interval_type = schedule.interval_type_for(
            merged.get("interval", ""),
            given=attrs.get("interval_type"),
            current=self.instance.interval_type if self.instance is not None else None,
        )
        if interval_type != merged.get("interval_type"):
            attrs["interval_type"] = merged["interval_type"] = interval_type
        # Every schedule check goes through the engine the scheduler uses, so nothing accepted here can
        # fail later when it is fired.
        candidate = Job(
            interval=merged.get("interval", ""),
            interval_type=interval_type,
            timezone=zone,
            start_on=attrs.get("start_on", merged.get("start_on", "")),
            end_on=attrs.get("end_on", merged.get("end_on", "")),
            dst_policy=merged.get("dst_policy") or {},
        )
        try:
            parsed = timing.job_schedule(candidate)
        except schedule.ScheduleError as error:
            raise serializers.ValidationError({error.field: [error.message]}) from None
        enabled = attrs.get("enabled", self.instance.enabled if self.instance is not None else True)
        if enabled and self._schedule_is_written(attrs):
            spent = spent_schedule_errors(parsed, timezone.now())
            if spent:
                raise serializers.ValidationError(spent)
        return attrs

    def _schedule_is_written(self, attrs: dict[str, Any]) -> bool:
        """Whether this write sets the schedule: always on create, on update when it changes a schedule field.

        A schedule that has run its course is refused when it is set (``once`` in the past, ``endOn`` gone
        by), not when an unrelated field of a job that simply finished is edited: renaming last month's
        one-off job must not ask for a new date. Enabling it again, or changing its schedule, does.
        """
        if self.instance is None:
            return True
        return any(name in SCHEDULE_FIELDS and getattr(self.instance, name) != value for name, value in attrs.items())

    def _merged(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The job's fields after this write: the instance's values overlaid with ``attrs``."""
        merged: dict[str, Any] = {}
        if self.instance is not None:
            for name in (
                "type",
                "data",
                "interval",
                "interval_type",
                "timezone",
                "start_on",
                "end_on",
                "dst_policy",
            ):
                merged[name] = getattr(self.instance, name)
        elif "type" not in attrs:
            raise serializers.ValidationError({"type": ["This field is required."]})
        merged.update(attrs)
        return merged


@extend_schema_view(
    list=extend_schema(
        summary="List jobs",
        parameters=[
            OpenApiParameter("tag", str, many=True),
            OpenApiParameter("enabled", bool),
            OpenApiParameter("ownerId", {"type": "integer", "minimum": INTEGER_MIN, "maximum": INTEGER_MAX}),
            OpenApiParameter("type", str, enum=list(JOB_DRIVERS)),
            OpenApiParameter("intervalType", str, enum=IntervalType.values),
        ],
    ),
    create=extend_schema(
        summary="Create a job",
        responses={201: JobSerializer, **error_responses(409)},
        extensions=body_choices(type=choosable("job")),
    ),
    retrieve=extend_schema(summary="Get a job by id or natural id"),
    # PUT merges like PATCH (SPEC §2), so both take the partial body.
    update=extend_schema(
        summary="Update a job (merges the given fields)",
        request=JobSerializer(partial=True),
        responses={200: JobSerializer, **error_responses(409)},
        extensions=body_choices(type=choosable("job")),
    ),
    partial_update=extend_schema(
        summary="Update a job (merges the given fields)",
        responses={200: JobSerializer, **error_responses(409)},
        extensions=body_choices(type=choosable("job")),
    ),
    destroy=extend_schema(summary="Delete a job"),
)
class JobViewSet(JobLookupMixin, viewsets.ModelViewSet):
    """``/api/jobs`` and ``/api/jobs/{id}``."""

    serializer_class = JobSerializer
    permission_classes = [ObjectPermission]
    action_permissions = {
        "retrieve": "view_job",
        "update": "change_job",
        "partial_update": "change_job",
        "destroy": "delete_job",
        "run": "run_job",
    }
    filterset_class = JobFilter
    sort_fields = JOB_SORT_FIELDS
    hal_rel = "inf:job"
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Job]:
        if getattr(self, "swagger_fake_view", False):
            return Job.objects.none()
        return selectors.job_list_for_user(self.request.user)

    def get_object(self) -> Job:
        return self.get_job(self.kwargs["pk"])

    def get_serializer_context(self) -> dict[str, Any]:
        context = dict(super().get_serializer_context())
        user = self.request.user
        if user.is_authenticated:
            context["default_timezone"] = user.tenant.timezone
        return context

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Rows, not jobs: the paginator reads the page through page_rows() below.
        page = cast("list[dict[str, Any]] | None", self.paginate_queryset(self.filter_queryset(self.get_queryset())))
        assert page is not None  # the view has a paginator
        ids = [row["id"] for row in page]
        context = {
            "request": request,
            "view": self,
            "permissions": selectors.job_permissions_for_user(request.user, ids),
        }
        represent = JobRepresentation(context)
        data = [represent(row) for row in list_rows(page, selectors.job_tags(ids))]
        return self.get_paginated_response(data)

    def page_rows(self, page: QuerySet[Job]) -> QuerySet[Any]:
        """The list's page as rows of the columns the representation reads, not as models (docs/benchmarks.md)."""
        return page.values(*selectors.JOB_ROW_FIELDS)

    def _respond(
        self,
        job: Job,
        status_code: int = status.HTTP_200_OK,
        headers: dict[str, str] | None = None,
        *,
        reload: bool = True,
    ) -> Response:
        return job_response(self, job, status_code, headers, reload=reload)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._respond(self.get_object(), reload=False)

    @transaction.atomic
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        received = form_body(request.data, cast(JobSerializer, self.get_serializer()).fields, partial=False)
        form = isinstance(received, QueryDict)
        body = received.dict() if form else dict(received) if isinstance(received, dict) else received
        template = None
        if isinstance(body, dict) and "templateId" in body:
            template_id = body.pop("templateId")
            template = blueprints.blueprint(str(template_id))
            if template is None:
                raise ValidationError({"templateId": [f"Unknown job template '{template_id}'."]})
            unavailable = blueprints.blueprint_unavailable_message(str(template_id), template)
            if unavailable is not None:
                raise ValidationError({"templateId": [unavailable]})
            body = blueprints.apply_blueprint(template, body)
        if form:
            body = as_form(body)  # the rest of a form's values are still text, read as form text
        serializer = self.get_serializer(data=body)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        tags = fields.pop("tags", None)
        job = job_services.job_create(user=request_user(request), fields=fields, tags=tags)
        if template is not None:
            self._create_template_actions(job, template["actions"])
        location = request.build_absolute_uri(JobSerializer().self_path(job))
        return self._respond(job, status.HTTP_201_CREATED, {"Location": location})

    def _create_template_actions(self, job: Job, actions: Sequence[dict[str, Any]]) -> None:
        for index, spec in enumerate(actions):
            body = JobActionSerializer(data={**spec, "index": index})
            body.is_valid(raise_exception=True)
            action_services.action_create(job=job, fields=dict(body.validated_data))

    def required_permission(self, job: Job) -> str:
        """Deleting a draft discards an edit: it needs ``job:edit``, not ``job:delete``."""
        if self.action == "destroy" and job.is_draft:
            return "change_job"
        return self.action_permissions.get(self.action, self.read_permission)

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Informer clients send partial bodies on PUT: both verbs merge.
        job = self.lock_for_write(self.get_object())
        body = form_body(request.data, cast(JobSerializer, self.get_serializer()).fields, partial=True)
        serializer = self.get_serializer(job, data=body, partial=True)
        serializer.is_valid(raise_exception=True)
        fields = dict(serializer.validated_data)
        tags = fields.pop("tags", None)
        job = job_services.job_update(job=job, fields=fields, tags=tags)
        return self._respond(job)

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self.lock_for_write(self.get_object())
        if job.is_draft:
            draft_services.draft_discard(draft=job)
        else:
            job_services.job_delete(job=job)
        return Response(status=status.HTTP_204_NO_CONTENT)


def job_response(
    view: Any,
    job: Job,
    status_code: int = status.HTTP_200_OK,
    headers: dict[str, str] | None = None,
    *,
    reload: bool = True,
) -> Response:
    """A job as ``GET /api/jobs/{id}`` shows it: with its actions (and their attachments) embedded.

    ``reload`` reads the job again (after a write); a job fresh from ``get_job`` needs no second read.
    """
    request = view.request
    # What the representations read, and no more (a serializer context for writes also reads the tenant).
    load = getattr(view, "load_object_codenames", None)
    context = {"request": request, "view": view, "permissions": {job.pk: object_codenames(request, job, load=load)}}
    if reload:
        jobs = selectors.with_locked_at(Job.objects.select_related("tenant", "owner"))
        job = jobs.prefetch_related(tags_prefetch()).get(pk=job.pk)
    # The serializer's data field hides the data property from the type checker.
    data = cast(ReturnDict, JobSerializer(job, context=context).data)
    actions = actions_with_attachments().filter(job=job).order_by("index", "created_at")
    data["_embedded"] = {
        "inf:job-action": JobActionSerializer(actions, many=True, context=context).data,
        "inf:job-dataset": JobDatasetSerializer(
            JobDataset.objects.filter(job=job).order_by("index", "alias"), many=True, context=context
        ).data,
    }
    return Response(data, status=status_code, headers=headers)
