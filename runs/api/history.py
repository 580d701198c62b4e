"""Run now (``POST /api/jobs/{id}``) and a job's run history (``/api/jobs/{id}/history[/{historyId}]``)."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from informer import redaction
from informer.api.filters import StrictBooleanFilter
from informer.api.permissions import ObjectPermission
from informer.api.schema import error_responses
from informer.api.serializers import ApiModelSerializer, ApiSerializer, SelfLinkField
from jobs.api.common import JobLookupMixin, uuid_or_404
from jobs.api.jobs import JobViewSet
from jobs.filters import MultipleChoiceFilter
from jobs.models import Job
from runs import services, triggers
from runs.models import Run, RunStatus, Trigger


@extend_schema_field(
    {
        "type": "object",
        "description": "Who or what started the run, as recorded then: a user (Run now, re-run), a management "
        "command, the schedule, a catch-up or a retry. Every form has type and name (a label to show).",
        "required": ["type", "name"],
        "properties": {
            "type": {"type": "string", "enum": list(triggers.TYPES)},
            "name": {
                "type": "string",
                "description": "A label to show: the user's full name (else username), the command and where "
                "it ran, or schedule, catch-up, retry, unknown",
            },
            "id": {"type": "integer", "description": "type user: the user's id"},
            "username": {"type": "string", "description": "type user"},
            "command": {"type": "string", "description": "type command: e.g. run_job"},
            "osUser": {"type": "string", "description": "type command: the operating-system account"},
            "host": {"type": "string", "description": "type command: the host it ran on"},
            "originalRunId": {
                "type": "string",
                "format": "uuid",
                "description": "type retry: the first attempt's id, the same for every attempt",
            },
        },
    }
)
class TriggeredByField(serializers.JSONField):
    """``triggeredBy``: the recorded object (runs/triggers.py); a run recorded without one is unknown."""

    def to_representation(self, value: Any) -> Any:
        return super().to_representation(value or dict(triggers.UNKNOWN))


class RunSerializer(ApiModelSerializer):
    """One history record (§6); credentials are redacted from it for everyone, the job's editors included.

    A record is history: what the job's headers and URLs held then is nobody's to read back now. Messages
    written before they were redacted at the source are redacted here as well.
    """

    _links = SelfLinkField()
    job_id = serializers.UUIDField(read_only=True)
    worker_id = serializers.UUIDField(read_only=True, allow_null=True)
    duration = serializers.SerializerMethodField()
    triggered_by = TriggeredByField(read_only=True)

    class Meta:
        model = Run
        fields = [
            "_links",
            "id",
            "job_id",
            "owner_id",
            "status",
            "success",
            "warnings",
            "error",
            "duration",
            "trigger",
            "triggered_by",
            "scheduled_for",
            "attempt",
            "worker_id",
            "params",
            "data",
            "progress",
            "definition",
            "created_at",
        ]
        read_only_fields = fields

    def self_path(self, run: Run) -> str:
        return reverse("job-history-detail", kwargs={"job_pk": run.job_id, "pk": run.pk})

    def to_representation(self, run: Run) -> dict[str, Any]:
        data = super().to_representation(run)
        secrets = redaction.definition_secrets(run.definition)
        data["definition"] = redaction.redact_definition(run.definition)
        data["error"] = redaction.redact_text(run.error, secrets)
        data["progress"] = [
            {**entry, "message": redaction.redact_text(entry["message"], secrets)}
            if isinstance(entry, dict) and isinstance(entry.get("message"), str)
            else entry
            for entry in data["progress"] or []
        ]
        return data

    @extend_schema_field(
        {"type": "array", "items": {"type": "string", "format": "date-time", "nullable": True}, "maxItems": 2}
    )
    def get_duration(self, run: Run) -> list[str | None]:
        """``[startedAt, endedAt]``."""
        field = serializers.DateTimeField()
        return [
            field.to_representation(run.started_at) if run.started_at else None,
            field.to_representation(run.ended_at) if run.ended_at else None,
        ]


class RunNowSerializer(ApiSerializer):
    """The optional body of ``POST /api/jobs/{id}``."""

    params = serializers.DictField(required=False, default=dict)


class RunnableJobViewSet(JobViewSet):
    """The job resource with ``POST /api/jobs/{id}`` = run now (§6)."""

    @extend_schema(
        summary="Run a job now",
        operation_id="jobs_run",
        request=RunNowSerializer,
        responses={202: RunSerializer, **error_responses(409)},
    )
    @transaction.atomic
    def run(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        job = self.get_object()
        body = RunNowSerializer(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        run = services.run_create_manual(
            job=job, params=body.validated_data.get("params") or {}, triggered_by=triggers.by_user(request.user)
        )
        data = RunSerializer(run, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["_links"]["self"]["href"]})


class RunFilter(django_filters.FilterSet):
    """``?status=&trigger=&success=``."""

    # An unknown value is a 400 naming it and the values there are (not Django's bare "Select a valid choice").
    status = MultipleChoiceFilter(choices=RunStatus.choices, noun="run status", plural="statuses")
    trigger = MultipleChoiceFilter(choices=Trigger.choices, noun="trigger", plural="triggers")
    # Strict: "?success=maybe" is a 400 (a BooleanFilter would ignore it and list every run).
    success = StrictBooleanFilter()

    class Meta:
        model = Run
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(summary="Run history of a job", parameters=[OpenApiParameter("success", bool)]),
    retrieve=extend_schema(summary="One run"),
    destroy=extend_schema(summary="Delete one run from the history", responses={204: None, **error_responses(409)}),
    clear=extend_schema(
        summary="Clear a job's history (finished runs)",
        operation_id="jobs_history_clear",
        request=None,
        responses={204: None},
    ),
    cancel=extend_schema(
        summary="Cancel a queued or running run", request=None, responses={200: RunSerializer, **error_responses(409)}
    ),
)
class JobHistoryViewSet(JobLookupMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """``/api/jobs/{id}/history[/{historyId}]``."""

    serializer_class = RunSerializer
    permission_classes = [ObjectPermission]
    action_permissions = {
        "list": "view_job",
        "retrieve": "view_job",
        "destroy": "change_job",
        "clear": "change_job",
        "cancel": "run_job",
    }
    filterset_class = RunFilter
    hal_rel = "inf:job-history"
    sort_fields = {
        "createdAt": "created_at",
        "scheduledFor": "scheduled_for",
        "status": "status",
        "attempt": "attempt",
    }
    default_sort = "-createdAt"
    search_fields = ("error",)

    def job(self) -> Job:
        if not hasattr(self, "_job"):
            self._job = self.get_job(self.kwargs["job_pk"])
        return self._job

    def get_queryset(self) -> QuerySet[Run]:
        if getattr(self, "swagger_fake_view", False):
            return Run.objects.none()
        return Run.objects.filter(job=self.job())

    def get_object(self) -> Run:
        run = self.get_queryset().filter(pk=uuid_or_404(self.kwargs["pk"])).first()
        if run is None:
            raise Http404
        return run

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(self.get_serializer(self.get_object()).data)

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.run_delete(run=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=False, methods=["delete"], url_path="", url_name="clear")
    @transaction.atomic
    def clear(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.history_clear(job=self.job())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path="_cancel", url_name="cancel")
    @transaction.atomic
    def cancel(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        run = services.run_cancel(run=self.get_object())
        return Response(self.get_serializer(run).data)
