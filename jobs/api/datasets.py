"""A job's datasets: ``/api/jobs/{id}/datasets[/{alias}]`` and ``GET /api/jobs/{id}/datasets/_permissions`` (§8)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from informer.api.filters import SearchFilter, SortFilter
from informer.api.pagination import HalPagination
from informer.api.schema import hal_collection_schema
from informer.api.serializers import ApiModelSerializer, ApiSerializer, SelfLinkField
from jobs.api.common import NestedJobMixin
from jobs.models import JobDataset
from jobs.services import datasets as dataset_services

_DATASET_REF = {
    "oneOf": [
        {"type": "string", "description": "A dataset's UUID or natural id (`<tenant-slug>:<slug>`)."},
        {"type": "object", "required": ["datasetId"], "properties": {"datasetId": {"type": "string"}}},
    ]
}


@extend_schema_field(
    {
        "type": "object",
        "description": "`{}` when the job snapshots nothing. Requests may name datasets by UUID or natural id, "
        'or as `{"datasetId": …}` objects; responses give `{"datasetId": <uuid>}` objects.',
        "properties": {
            "when": {"type": "string", "enum": list(dataset_services.SNAPSHOT_WHEN)},
            "snapshotDatasets": {"type": "array", "items": _DATASET_REF},
        },
        "additionalProperties": False,
    }
)
class SnapshotsField(serializers.JSONField):
    """``{when, snapshotDatasets}``: stored as dataset ids, shown as ``{"datasetId": …}`` objects."""

    def to_representation(self, value: Any) -> Any:
        if not value:
            return {}
        listed = value.get("snapshotDatasets") or []
        return {"when": value.get("when"), "snapshotDatasets": [{"datasetId": str(item)} for item in listed]}


class JobDatasetSerializer(ApiModelSerializer):
    """A dataset of a job under its alias; ``datasetId`` is written as a UUID or natural id, read as the UUID."""

    _links = SelfLinkField()
    job_id = serializers.UUIDField(read_only=True)
    # Required on create; PUT and PATCH merge (partial), so there neither is.
    alias = serializers.CharField(help_text="`[a-z][a-z0-9_]*`, at most 64 characters, unique in the job.")
    dataset_id = serializers.CharField(help_text="The dataset's UUID or natural id (`<tenant-slug>:<slug>`).")
    index = serializers.IntegerField(required=False, min_value=0, max_value=10_000)
    snapshots = SnapshotsField(required=False, allow_null=True)

    class Meta:
        model = JobDataset
        fields = ["_links", "id", "job_id", "alias", "dataset_id", "index", "snapshots", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]

    def self_path(self, link: JobDataset) -> str:
        return reverse("job-dataset-detail", kwargs={"job_pk": link.job_id, "alias": link.alias})


class JobDatasetRightsSerializer(ApiSerializer):
    """One alias's rights for one person (documentation of ``_permissions``)."""

    alias = serializers.CharField()
    dataset_id = serializers.UUIDField()
    view = serializers.BooleanField()
    refresh = serializers.BooleanField(help_text="Both `dataset:view` and `dataset:refresh`.")


class JobDatasetPermissionsSerializer(ApiSerializer):
    """The answer of ``GET /api/jobs/{id}/datasets/_permissions`` (documentation)."""

    owner_id = serializers.IntegerField(allow_null=True)
    user = JobDatasetRightsSerializer(many=True, help_text="The caller's rights, per alias in `index` order.")
    owner = JobDatasetRightsSerializer(
        many=True, help_text="The job owner's rights, which a run uses (and checks again when it executes)."
    )


@extend_schema_view(
    list=extend_schema(
        summary="The job's datasets, by `index` (default sort)",
        responses=hal_collection_schema(JobDatasetSerializer, "inf:job-dataset", "JobDatasetCollection"),
    ),
    create=extend_schema(summary="Associate a dataset the caller can read with the job under an alias"),
    retrieve=extend_schema(summary="One of the job's datasets, by alias"),
    update=extend_schema(
        summary="Update an association (merges; a new `index` moves it, a new `alias` renames it)",
        request=JobDatasetSerializer(partial=True),
    ),
    partial_update=extend_schema(summary="Update an association (merges)"),
    destroy=extend_schema(summary="Remove a dataset from the job (the dataset stays)"),
)
class JobDatasetViewSet(NestedJobMixin, viewsets.GenericViewSet):
    """``/api/jobs/{id}/datasets[/{alias}]`` and ``…/datasets/_permissions``.

    Reading needs ``job:view``, writing ``job:edit``; every dataset a write names (``datasetId`` and each of
    ``snapshots.snapshotDatasets``) must be one the caller can read, or it is a 400 that does not say whether
    the dataset exists, and a dataset to snapshot one the caller can also refresh. The list follows §2's
    conventions (``q`` over the alias, ``sort``, ``limit``, ``start``) with ``index`` as its default sort.
    """

    serializer_class = JobDatasetSerializer
    hal_rel = "inf:job-dataset"
    filter_backends = [SearchFilter, SortFilter]
    pagination_class = HalPagination
    search_fields = ("alias",)
    sort_fields = {"index": "index", "alias": "alias", "createdAt": "created_at", "updatedAt": "updated_at"}
    default_sort = "index"
    action_permissions = {
        "list": "view_job",
        "retrieve": "view_job",
        "dataset_permissions": "view_job",
        "create": "change_job",
        "update": "change_job",
        "partial_update": "change_job",
        "destroy": "change_job",
    }

    def get_queryset(self) -> QuerySet[JobDataset]:
        if getattr(self, "swagger_fake_view", False):
            return JobDataset.objects.none()
        return JobDataset.objects.filter(job=self.job()).order_by("index", "alias")

    def get_object(self) -> JobDataset:
        link = self.get_queryset().filter(alias=self.kwargs["alias"]).first()
        if link is None:
            raise Http404
        return link

    def _item(self, link: JobDataset, code: int = status.HTTP_200_OK) -> Response:
        data = self.get_serializer(JobDataset.objects.get(pk=link.pk)).data
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
        link = dataset_services.job_dataset_create(job=job, user=request.user, fields=dict(body.validated_data))
        return self._item(link, status.HTTP_201_CREATED)

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.locked_job()
        link = self.get_object()
        body = self.get_serializer(link, data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        link = dataset_services.job_dataset_update(link=link, user=request.user, fields=dict(body.validated_data))
        return self._item(link)

    partial_update = update

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self.locked_job()
        dataset_services.job_dataset_delete(link=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Per alias, whether the caller and the job's owner may view and refresh its dataset",
        operation_id="jobs_datasets_permissions",
        responses=JobDatasetPermissionsSerializer,
    )
    def dataset_permissions(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(dataset_services.job_dataset_permissions(job=self.job(), user=request.user))
