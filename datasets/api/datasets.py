"""Datasets: ``/api/datasets[/{id}]`` (CRUD), ``copy``, ``_run``, ``_refresh``, ``data``, ``fields``, ``export``."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db import transaction
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import exports, selectors
from datasets.api.common import (
    DATA_PARAMETERS,
    DataPageSerializer,
    DatasetLookupMixin,
    FileFormatNegotiation,
    connector_errors,
    content_disposition,
    data_answer,
)
from datasets.api.representation import (
    DatasetSerializer,
    FieldSerializer,
    dataset_response,
    representation_context,
)
from datasets.models import Dataset
from datasets.services import datasets as dataset_services
from informer.api.filters import IntegerFilter
from informer.api.pagination import hal_collection
from informer.api.permissions import ObjectPermission
from informer.api.schema import error_responses, hal_collection_schema
from informer.api.serializers import ApiSerializer
from informer.auth import request_user

DATASET_SORT_FIELDS = {
    "name": "name",
    "slug": "slug",
    "records": "records",
    "size": "size",
    "dataUpdatedAt": "data_updated_at",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "ownerId": "owner_id",
}
# The export formats and their media types, for the schema (without the parameters a response adds).
EXPORT_MEDIA_TYPES = {name: media.split(";")[0] for name, media in exports.FORMATS.items()}
# A json export is a JSON document (an array of the rows as objects keyed by field name), not an opaque file.
EXPORT_SCHEMAS: dict[str, Any] = {
    "json": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
}


class DatasetFilter(django_filters.FilterSet):
    """``?ownerId=&datasourceId=``."""

    ownerId = IntegerFilter(field_name="owner_id")
    datasourceId = django_filters.UUIDFilter(field_name="datasource_id")

    class Meta:
        model = Dataset
        fields: list[str] = []


class CopySerializer(ApiSerializer):
    """The optional body of ``POST /api/datasets/{id}/copy``."""

    name = serializers.CharField(max_length=200, required=False)


class RunSerializer(ApiSerializer):
    """The optional body of ``POST /api/datasets/{id}/_run``."""

    params = serializers.DictField(required=False)
    limit = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=100)


class RefreshSerializer(ApiSerializer):
    """The optional body of ``POST /api/datasets/{id}/_refresh``."""

    params = serializers.DictField(required=False)


class RunResultSerializer(serializers.Serializer):
    """What ``_run`` answers: the query's first rows, nothing stored."""

    records = serializers.IntegerField()
    duration = serializers.IntegerField(help_text="Milliseconds.")
    success = serializers.BooleanField()
    params = serializers.DictField()
    fields = FieldSerializer(many=True)  # type: ignore[assignment]  # DRF moves declared fields off the class
    rows = serializers.ListField(child=serializers.DictField())


class RefreshResultSerializer(serializers.Serializer):
    """What ``_refresh`` answers (§8)."""

    id = serializers.UUIDField()
    records = serializers.IntegerField()
    previousRecordCount = serializers.IntegerField()
    duration = serializers.IntegerField(help_text="Milliseconds.")
    fieldsAdded = serializers.ListField(child=serializers.CharField())
    fieldsUpdated = serializers.ListField(child=serializers.CharField())
    dataUpdatedAt = serializers.DateTimeField(allow_null=True)
    truncated = serializers.BooleanField()
    success = serializers.BooleanField()


def _body(request: Request, serializer_class: type[ApiSerializer]) -> dict[str, Any]:
    """An optional body, validated (an empty one is ``{}``)."""
    body = serializer_class(data=request.data if request.data else {})
    body.is_valid(raise_exception=True)
    return dict(body.validated_data)


@extend_schema_view(
    list=extend_schema(
        summary="List datasets",
        parameters=[OpenApiParameter("ownerId", int), OpenApiParameter("datasourceId", OpenApiTypes.UUID)],
    ),
    create=extend_schema(summary="Create a dataset", responses={201: DatasetSerializer, **error_responses(409)}),
    retrieve=extend_schema(summary="Get a dataset by id or natural id"),
    update=extend_schema(
        summary="Update a dataset (merges the given fields)",
        request=DatasetSerializer(partial=True),
        responses={200: DatasetSerializer, **error_responses(409)},
    ),
    partial_update=extend_schema(
        summary="Update a dataset (merges the given fields)", responses={200: DatasetSerializer, **error_responses(409)}
    ),
    destroy=extend_schema(
        summary="Delete a dataset, its rows and snapshots", responses={204: None, **error_responses(409)}
    ),
)
class DatasetViewSet(DatasetLookupMixin, viewsets.GenericViewSet):
    """``/api/datasets`` and ``/api/datasets/{id}`` with their operations.

    Datasets have no drafts: ``editingId`` is always null (it is there because Informer's clients read it).
    """

    serializer_class = DatasetSerializer
    permission_classes = [ObjectPermission]
    action_permissions = {
        "retrieve": "view_dataset",
        "update": "change_dataset",
        "partial_update": "change_dataset",
        "destroy": "delete_dataset",
        "copy": "view_dataset",
        "run": "view_dataset",
        "refresh": "refresh_dataset",
        "data": "view_dataset",
        "fields": "view_dataset",
        "export": "view_dataset",
    }
    filterset_class = DatasetFilter
    sort_fields = DATASET_SORT_FIELDS
    search_fields = ("name", "description")
    hal_rel = "inf:dataset"

    def get_queryset(self) -> QuerySet[Dataset]:
        if getattr(self, "swagger_fake_view", False):
            return Dataset.objects.none()
        return selectors.dataset_list_for_user(self.request.user).select_related("datasource")

    def get_object(self) -> Dataset:
        return self.get_dataset(self.kwargs["pk"])

    def get_content_negotiator(self) -> BaseContentNegotiation:
        # An export's ?format= names the file's format, not a renderer (the action is known once the
        # request is initialised, before the response's renderer is chosen).
        if getattr(self, "action", None) == "export":
            return FileFormatNegotiation()
        return super().get_content_negotiator()

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # An export answers its file whatever Accept says; its errors are JSON.
        return super().perform_content_negotiation(request, force=force or getattr(self, "action", None) == "export")

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = cast("list[Dataset] | None", self.paginate_queryset(self.filter_queryset(self.get_queryset())))
        assert page is not None  # the view has a paginator
        context = representation_context(request, self, page)
        return self.get_paginated_response(cast(list[Any], DatasetSerializer(page, many=True, context=context).data))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return dataset_response(self, self.get_object())

    @transaction.atomic
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        dataset = dataset_services.dataset_create(user=request_user(request), data=dict(serializer.validated_data))
        return dataset_response(self, dataset, status.HTTP_201_CREATED, location=True)

    @transaction.atomic
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # Informer clients send partial bodies on PUT: both verbs merge.
        dataset = self.lock_for_write(self.get_object())
        serializer = self.get_serializer(dataset, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        dataset = dataset_services.dataset_update(
            dataset=dataset, user=request_user(request), data=dict(serializer.validated_data)
        )
        return dataset_response(self, dataset)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, **kwargs)

    @transaction.atomic
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        dataset_services.dataset_delete(dataset=self.lock_for_write(self.get_object()))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Copy a dataset's definition (no rows) into a new dataset the caller owns",
        request=CopySerializer,
        responses={201: DatasetSerializer, **error_responses(409)},
    )
    @transaction.atomic
    def copy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        dataset = self.get_object()
        body = _body(request, CopySerializer)
        copy = dataset_services.dataset_copy(dataset=dataset, user=request_user(request), name=body.get("name"))
        return dataset_response(self, copy, status.HTTP_201_CREATED, location=True)

    @extend_schema(
        summary="Run the query without storing: its first rows",
        request=RunSerializer,
        responses={200: RunResultSerializer},
    )
    def run(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``POST /api/datasets/{id}/_run``: nothing is stored.

        A parameter not declared, missing or of the wrong type is a 400 naming ``params.<name>``; the source's
        refusal or failure (a syntax error, a write, the server unreachable) is a 400 with the server's
        message under the field it names, ``query`` otherwise.
        """
        from datasets.services.refresh import dataset_run

        dataset = self.get_object()
        body = _body(request, RunSerializer)
        with connector_errors():
            result = dataset_run(dataset=dataset, params=body.get("params"), limit=body["limit"])
        return Response(result)

    @extend_schema(
        summary="Run the query and store its rows as the dataset's new data",
        request=RefreshSerializer,
        responses={200: RefreshResultSerializer, **error_responses(409)},
    )
    def refresh(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``POST /api/datasets/{id}/_refresh`` (``refresh_dataset``): the rows stream into a new generation.

        Not one transaction: the rows are written in batches of their own, and the new generation becomes
        current only once complete, so a failure leaves the old rows. A refresh already under way is a 409.
        A bad parameter is a 400 naming ``params.<name>``; the source's refusal or failure is a 400 with the
        server's message under the field it names (``query`` otherwise), as for ``_run``.
        """
        from datasets.services.refresh import dataset_refresh

        dataset = self.get_object()
        body = _body(request, RefreshSerializer)
        with connector_errors():
            result = dataset_refresh(dataset=dataset, params=body.get("params"))
        return Response(result.as_json())

    @extend_schema(
        summary="A page of the dataset's rows", parameters=DATA_PARAMETERS, responses={200: DataPageSerializer}
    )
    def data(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        dataset = self.get_object()
        return Response(data_answer(request, generation_id=dataset.current_generation_id, fields=dataset.fields))

    @extend_schema(
        summary="The dataset's fields, as its last refresh inferred them",
        responses={200: hal_collection_schema(FieldSerializer, "inf:field", "FieldCollection")},
    )
    def fields(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        dataset = self.get_object()
        return Response(hal_collection(request, "inf:field", list(dataset.fields)))

    @extend_schema(
        summary="Download the dataset's rows as a file",
        parameters=[OpenApiParameter("format", str, enum=[*exports.FORMATS], description="Default csv.")],
        responses={
            **{
                (200, media): OpenApiResponse(EXPORT_SCHEMAS.get(name, OpenApiTypes.BINARY))
                for name, media in EXPORT_MEDIA_TYPES.items()
            },
        },
    )
    def export(self, request: Request, *args: Any, **kwargs: Any) -> StreamingHttpResponse:
        """``GET /api/datasets/{id}/export?format=csv|xlsx|json``: streamed in constant memory, as an attachment."""
        dataset = self.get_object()
        file_format = request.query_params.get("format") or "csv"
        made = exports.export(
            generation_id=dataset.current_generation_id,
            fields=dataset.fields,
            format=file_format,
            filename_stem=dataset.slug,
        )
        response = StreamingHttpResponse(made.chunks(), content_type=made.content_type)
        response["Content-Disposition"] = content_disposition(made.filename)
        return response


dataset_list = DatasetViewSet.as_view({"get": "list", "post": "create"})
dataset_detail = DatasetViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}
)
DETAIL = "datasets/<str:pk>"

urlpatterns = [
    path("datasets", dataset_list, name="dataset-list"),
    path(DETAIL, dataset_detail, name="dataset-detail"),
    path(f"{DETAIL}/copy", DatasetViewSet.as_view({"post": "copy"}), name="dataset-copy"),
    path(f"{DETAIL}/_run", DatasetViewSet.as_view({"post": "run"}), name="dataset-run"),
    path(f"{DETAIL}/_refresh", DatasetViewSet.as_view({"post": "refresh"}), name="dataset-refresh"),
    path(f"{DETAIL}/data", DatasetViewSet.as_view({"get": "data"}), name="dataset-data"),
    path(f"{DETAIL}/fields", DatasetViewSet.as_view({"get": "fields"}), name="dataset-fields"),
    path(f"{DETAIL}/export", DatasetViewSet.as_view({"get": "export"}), name="dataset-export"),
]
