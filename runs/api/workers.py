"""Worker processes with their liveness (``/api/job-workers[/{id}]``); staff only."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.permissions import IsAdminUser

from informer.api.serializers import ApiModelSerializer, SelfLinkField
from jobs.api.common import uuid_or_404
from runs.models import Run, RunStatus, Worker


class WorkerSerializer(ApiModelSerializer):
    """A registered worker process and its liveness."""

    _links = SelfLinkField()
    running_runs = serializers.IntegerField(read_only=True)
    alive = serializers.SerializerMethodField()

    class Meta:
        model = Worker
        fields = [
            "_links",
            "id",
            "name",
            "host",
            "pid",
            "cluster",
            "concurrency",
            "started_at",
            "last_heartbeat_at",
            "stopped_at",
            "running_runs",
            "alive",
        ]
        read_only_fields = fields

    def self_path(self, worker: Worker) -> str:
        return reverse("job-worker-detail", kwargs={"pk": worker.pk})

    def get_alive(self, worker: Worker) -> bool:
        """Heartbeat within the worker timeout and not stopped."""
        if worker.stopped_at is not None:
            return False
        age = (timezone.now() - worker.last_heartbeat_at).total_seconds()
        return age <= settings.INFORMER_WORKER_TIMEOUT


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
        worker = self.get_queryset().filter(pk=uuid_or_404(self.kwargs["pk"])).first()
        if worker is None:
            raise Http404
        return worker
