"""Snapshots: ``/api/datasets/{id}/snapshots[/{snapshotId}]``, their ``data`` and ``_restore`` (§8)."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.urls import path, reverse
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from datasets.api.common import DATA_PARAMETERS, DataPageSerializer, DatasetLookupMixin, data_answer
from datasets.api.representation import DatasetSerializer, dataset_response
from datasets.models import Dataset, Snapshot, SnapshotTrigger
from informer.api.filters import SearchFilter, SortFilter
from informer.api.permissions import ObjectPermission
from informer.api.schema import LINK_SCHEMA, error_responses
from informer.api.serializers import ApiModelSerializer
from informer.auth import request_user
from informer.models import ApiToken

SNAPSHOT_SORT_FIELDS = {"name": "name", "createdAt": "created_at", "trigger": "trigger"}
SNAPSHOT_LINKS = {"inf:data": "data", "inf:restore": "_restore"}


class SnapshotSerializer(ApiModelSerializer):
    """A snapshot as the API shows it; ``name`` and ``note`` are what a create may give."""

    _links = serializers.SerializerMethodField()
    dataset_id = serializers.UUIDField(read_only=True)
    records = serializers.IntegerField(source="generation.records", read_only=True)
    size = serializers.IntegerField(source="generation.size", read_only=True)
    job_id = serializers.UUIDField(read_only=True, allow_null=True)
    run_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = Snapshot
        fields = [
            "_links",
            "id",
            "dataset_id",
            "name",
            "note",
            "records",
            "size",
            "trigger",
            "job_id",
            "run_id",
            "created_at",
        ]
        read_only_fields = ["id", "trigger", "created_at"]
        extra_kwargs = {"name": {"required": False}, "note": {"required": False}}

    @extend_schema_field(
        {
            "type": "object",
            "readOnly": True,
            "required": ["self", "inf:dataset", *SNAPSHOT_LINKS],
            "properties": {rel: LINK_SCHEMA for rel in ("self", "inf:dataset", *SNAPSHOT_LINKS)},
        }
    )
    def get__links(self, snapshot: Snapshot) -> dict[str, Any]:
        request = self.context.get("request")

        def href(value: str) -> str:
            return request.build_absolute_uri(value) if request is not None else value

        own = reverse("dataset-snapshot-detail", kwargs={"dataset_pk": snapshot.dataset_id, "pk": snapshot.pk})
        links = {
            "self": {"href": href(own)},
            "inf:dataset": {"href": href(reverse("dataset-detail", kwargs={"pk": snapshot.dataset_id}))},
        }
        links.update({rel: {"href": href(f"{own}/{tail}")} for rel, tail in SNAPSHOT_LINKS.items()})
        return links


@extend_schema_view(
    list=extend_schema(summary="A dataset's snapshots, newest first"),
    create=extend_schema(
        summary="Snapshot the dataset's current rows (copies nothing)",
        responses={201: SnapshotSerializer},
    ),
    retrieve=extend_schema(summary="One snapshot of a dataset"),
    destroy=extend_schema(summary="Delete a snapshot (its rows go when nothing else pins them)"),
)
class SnapshotViewSet(DatasetLookupMixin, viewsets.GenericViewSet):
    """``/api/datasets/{id}/snapshots[/{snapshotId}]``: the dataset's rights govern its snapshots.

    Reading (list, get, data) needs ``view_dataset``; taking one and restoring one ``refresh_dataset``;
    deleting one ``change_dataset``. A snapshot taken here is ``trigger: api`` when the caller came with an
    API token and ``manual`` when a person did, signed in (the browsable API, a web client); jobs take ``job`` ones.
    """

    serializer_class = SnapshotSerializer
    permission_classes = [ObjectPermission]
    action_permissions = {
        "list": "view_dataset",
        "retrieve": "view_dataset",
        "data": "view_dataset",
        "create": "refresh_dataset",
        "restore": "refresh_dataset",
        "destroy": "change_dataset",
    }
    filter_backends = [SearchFilter, SortFilter]
    search_fields = ("name", "note")
    sort_fields = SNAPSHOT_SORT_FIELDS
    default_sort = "-createdAt"
    hal_rel = "inf:snapshot"

    def dataset(self) -> Dataset:
        if not hasattr(self, "_dataset"):
            self._dataset = self.get_dataset(self.kwargs["dataset_pk"])
        return self._dataset

    def get_queryset(self) -> QuerySet[Snapshot]:
        if getattr(self, "swagger_fake_view", False):
            return Snapshot.objects.none()
        return Snapshot.objects.filter(dataset=self.dataset()).select_related("generation")

    def get_object(self) -> Snapshot:
        try:
            key = uuid.UUID(self.kwargs["pk"])
        except ValueError:
            raise Http404 from None
        snapshot = self.get_queryset().filter(pk=key).first()
        if snapshot is None:
            raise Http404
        return snapshot

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None  # the view has a paginator
        data = SnapshotSerializer(page, many=True, context=self.get_serializer_context()).data
        return self.get_paginated_response(cast(list[Any], data))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(SnapshotSerializer(self.get_object(), context=self.get_serializer_context()).data)

    @transaction.atomic
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from datasets.services.snapshots import snapshot_create

        dataset = self.dataset()
        body = SnapshotSerializer(data=request.data if request.data else {})
        body.is_valid(raise_exception=True)
        trigger = SnapshotTrigger.API if isinstance(request.auth, ApiToken) else SnapshotTrigger.MANUAL
        snapshot = snapshot_create(
            dataset=dataset,
            name=body.validated_data.get("name", ""),
            note=body.validated_data.get("note", ""),
            trigger=trigger,
            user=request_user(request),
        )
        snapshot = Snapshot.objects.select_related("generation").get(pk=snapshot.pk)
        data = SnapshotSerializer(snapshot, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": data["_links"]["self"]["href"]})

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from datasets.services.snapshots import snapshot_delete

        self.dataset()  # the right to delete is checked on the dataset before the snapshot is looked up
        snapshot_delete(snapshot=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="A page of the snapshot's rows (as the dataset's data)",
        parameters=DATA_PARAMETERS,
        responses={200: DataPageSerializer},
    )
    def data(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        snapshot = self.get_object()
        generation = snapshot.generation
        return Response(data_answer(request, generation_id=generation.pk, fields=generation.fields))

    @extend_schema(
        summary="Make the snapshot's rows the dataset's current data again",
        request=None,
        responses={200: DatasetSerializer, **error_responses(409)},
    )
    def restore(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``POST …/snapshots/{snapshotId}/_restore`` (``refresh_dataset``); a 409 while the dataset refreshes."""
        from datasets.services.snapshots import snapshot_restore

        dataset = snapshot_restore(snapshot=self.get_object())
        return dataset_response(self, dataset)


SNAPSHOTS = "datasets/<str:dataset_pk>/snapshots"
SNAPSHOT = f"{SNAPSHOTS}/<str:pk>"

urlpatterns = [
    path(SNAPSHOTS, SnapshotViewSet.as_view({"get": "list", "post": "create"}), name="dataset-snapshot-list"),
    path(
        SNAPSHOT,
        SnapshotViewSet.as_view({"get": "retrieve", "delete": "destroy"}),
        name="dataset-snapshot-detail",
    ),
    path(f"{SNAPSHOT}/data", SnapshotViewSet.as_view({"get": "data"}), name="dataset-snapshot-data"),
    path(f"{SNAPSHOT}/_restore", SnapshotViewSet.as_view({"post": "restore"}), name="dataset-snapshot-restore"),
]
