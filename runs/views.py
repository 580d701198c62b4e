"""Run-now, run history and workers."""

from __future__ import annotations

import uuid
from typing import Any

import django_filters
from django.db import transaction
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response

from informer.api.filters import StrictBooleanFilter
from informer.api.permissions import ObjectPermission
from informer.api.schema import error_responses
from jobs.models import Job
from jobs.views import JobLookupMixin, JobViewSet
from runs import services
from runs.models import Run, RunStatus, Trigger, Worker
from runs.serializers import RunNowSerializer, RunSerializer, WorkerSerializer


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
        run = services.run_create_manual(job=job, params=body.validated_data.get("params") or {})
        data = RunSerializer(run, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["_links"]["self"]["href"]})


class RunFilter(django_filters.FilterSet):
    """``?status=&trigger=&success=``."""

    status = django_filters.MultipleChoiceFilter(choices=RunStatus.choices)
    trigger = django_filters.MultipleChoiceFilter(choices=Trigger.choices)
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
        run = self.get_queryset().filter(pk=_uuid_or_404(self.kwargs["pk"])).first()
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


def _uuid_or_404(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise Http404 from None


@extend_schema_view(
    list=extend_schema(summary="Registered workers (staff)"),
    retrieve=extend_schema(summary="One worker (staff)"),
)
class WorkerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """``/api/job-workers[/{id}]``: worker processes with liveness; staff only."""

    serializer_class = WorkerSerializer
    permission_classes = [IsAdminUser]
    hal_rel = "inf:job-worker"
    sort_fields = {"name": "name", "startedAt": "started_at", "lastHeartbeatAt": "last_heartbeat_at"}
    default_sort = "-lastHeartbeatAt"
    search_fields = ("name", "host", "cluster")

    def get_queryset(self) -> QuerySet[Worker]:
        # Counted over the running runs alone (a partial index), not over every run a worker ever had.
        running = (
            Run.objects.filter(worker=OuterRef("pk"), status=RunStatus.RUNNING)
            .order_by()
            .values("worker")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return Worker.objects.annotate(running_runs=Coalesce(Subquery(running), 0))

    def get_object(self) -> Worker:
        worker = self.get_queryset().filter(pk=_uuid_or_404(self.kwargs["pk"])).first()
        if worker is None:
            raise Http404
        return worker
