"""API representations of run history and workers."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from informer.api.serializers import ApiModelSerializer, ApiSerializer, SelfLinkField
from runs.models import Run, Worker


class RunSerializer(ApiModelSerializer):
    """One history record (§6)."""

    _links = SelfLinkField()
    job_id = serializers.UUIDField(read_only=True)
    worker_id = serializers.UUIDField(read_only=True, allow_null=True)
    duration = serializers.SerializerMethodField()

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
