"""API representations of run history and workers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from informer import redaction
from informer.api.serializers import ApiModelSerializer, ApiSerializer, SelfLinkField
from runs.models import Run, Worker


class RunSerializer(ApiModelSerializer):
    """One history record (§6); credentials are redacted from it for everyone, the job's editors included.

    A record is history: what the job's headers and URLs held then is nobody's to read back now. Messages
    written before they were redacted at the source are redacted here as well.
    """

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
