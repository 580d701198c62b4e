"""The project's URLs plus a bare DRF list and detail of jobs, the baseline of ``bench/api_http.py``.

The bare views are what DRF costs with nothing of ours: a plain ``ModelSerializer`` of the same columns
(with the tenant, owner and tags read as plain DRF would, so that ``natural_id``, ``owner_name`` and
``tags`` are there too), ``LimitOffsetPagination``, no authentication, permissions, filters, masking or
links. Mounted only under the benchmark's settings (``bench._http_settings``), never in the project.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.urls import include, path
from rest_framework import generics, serializers
from rest_framework.pagination import LimitOffsetPagination

from jobs.models import Job, JobTag


class BareJobSerializer(serializers.ModelSerializer):
    """The columns of a job the API shows, serialized by DRF alone."""

    natural_id = serializers.ReadOnlyField()
    owner_name = serializers.ReadOnlyField(source="owner.display_name", default=None)
    tags = serializers.ReadOnlyField()

    class Meta:
        model = Job
        fields = [
            "id",
            "type",
            "name",
            "slug",
            "natural_id",
            "description",
            "owner",
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
            "editing_of",
            "created_at",
            "updated_at",
        ]


def bare_jobs() -> QuerySet[Job]:
    """Jobs with what the bare serializer reads, in three queries a page."""
    tags = Prefetch("tag_set", queryset=JobTag.objects.order_by("name"))
    return Job.objects.select_related("tenant", "owner").prefetch_related(tags)


class BarePagination(LimitOffsetPagination):
    default_limit = 30


class BareJobList(generics.ListAPIView):
    """``GET /bench/bare/jobs?limit=``: every job, by name."""

    serializer_class = BareJobSerializer
    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    filter_backends: list[type] = []
    pagination_class = BarePagination

    def get_queryset(self) -> QuerySet[Job]:
        return bare_jobs().order_by("name", "pk")


class BareJobDetail(generics.RetrieveAPIView):
    """``GET /bench/bare/jobs/{id}``."""

    serializer_class = BareJobSerializer
    authentication_classes: list[type] = []
    permission_classes: list[type] = []
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[Job]:
        return bare_jobs()


urlpatterns = [
    path("bench/bare/jobs", BareJobList.as_view()),
    path("bench/bare/jobs/<uuid:pk>", BareJobDetail.as_view()),
    path("", include("informer.urls")),
]
