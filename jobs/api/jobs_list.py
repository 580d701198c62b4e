"""The flat, unpaginated ``/api/jobs-list``: every job the caller can read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import selectors
from jobs.api.common import tags_prefetch
from jobs.api.representation import PERMISSION_FLAGS
from jobs.models import Job


class JobListItemSerializer(serializers.Serializer):
    """One row of ``GET /api/jobs-list``: a flat, unpaginated summary."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.CharField()
    enabled = serializers.BooleanField()
    ownerId = serializers.IntegerField(source="owner_id", allow_null=True)
    ownerName = serializers.SerializerMethodField()
    naturalId = serializers.CharField(source="natural_id")
    tags = serializers.ListField(child=serializers.CharField())
    sharing = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()

    def get_ownerName(self, job: Job) -> str | None:
        return job.owner.display_name if job.owner else None

    def get_sharing(self, job: Job) -> bool:
        """Whether anyone besides the owner has access."""
        return job.pk in self.context.get("shared", set())

    def get_permissions(self, job: Job) -> dict[str, bool]:
        codenames = self.context.get("permissions", {}).get(job.pk, set())
        return {flag: codename in codenames for flag, codename in PERMISSION_FLAGS.items()}


class JobsListView(APIView):
    """``GET /api/jobs-list``: every job the caller can read, flat and unpaginated."""

    @extend_schema(summary="All readable jobs, flat", responses=JobListItemSerializer(many=True))
    def get(self, request: Request) -> Response:
        jobs = list(selectors.job_list_for_user(request.user).prefetch_related(tags_prefetch()).order_by("name", "pk"))
        ids = [job.pk for job in jobs]
        context = {
            "request": request,
            "permissions": selectors.job_permissions_for_user(request.user, ids),
            "shared": selectors.job_shared_ids(ids),
        }
        return Response(JobListItemSerializer(jobs, many=True, context=context).data)
