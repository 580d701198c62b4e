"""A dataset as the API shows it (§8) and reads it on writes; shared by the dataset and snapshot resources."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from datasets import selectors
from datasets.connectors.base import DATA_TYPES
from datasets.models import Dataset
from informer.api.permissions import object_codenames
from informer.api.schema import LINK_SCHEMA
from informer.api.serializers import ApiModelSerializer
from informer.auth import request_user

PERMISSION_FLAGS = {
    "edit": "change_dataset",
    "share": "share_dataset",
    "delete": "delete_dataset",
    "refresh": "refresh_dataset",
}
# The links of a dataset, after "self": the rel and the path under the dataset's own.
LINKS = {
    "inf:data": "data",
    "inf:refresh": "_refresh",
    "inf:run": "_run",
    "inf:fields": "fields",
    "inf:dataset-shares": "shares",
    "inf:snapshots": "snapshots",
    "inf:download": "export",
}
# Informer's own job type for the jobs that refresh datasets (jobs' registry is not imported from here).
REFRESH_JOB_TYPE = "dataset-refresh"

LINKS_SCHEMA = {
    "type": "object",
    "required": ["self", *LINKS],
    "properties": {rel: LINK_SCHEMA for rel in ("self", *LINKS, "inf:refresh-job")},
}
PARAM_SCHEMA = {
    "type": "object",
    "required": ["name", "type"],
    "properties": {
        "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": 64},
        "type": {"type": "string", "enum": list(DATA_TYPES), "default": "string"},
        "default": {"nullable": True},
        "required": {"type": "boolean", "default": False},
    },
    "additionalProperties": False,
}
FIELD_SCHEMA = {
    "type": "object",
    "required": ["name", "label", "dataType", "position"],
    "properties": {
        "name": {"type": "string"},
        "label": {"type": "string"},
        "dataType": {"type": "string", "enum": list(DATA_TYPES), "nullable": True},
        "position": {"type": "integer", "minimum": 0},
    },
}


class FieldSerializer(serializers.Serializer):
    """One inferred field of a dataset: ``{name, label, dataType, position}``."""

    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # DRF moves declared fields off the class
    dataType = serializers.ChoiceField(choices=list(DATA_TYPES), allow_null=True)
    position = serializers.IntegerField(min_value=0)


@extend_schema_field({"type": "array", "items": PARAM_SCHEMA, "maxItems": 100})
class ParamsField(serializers.JSONField):
    """The declared parameters (checked by ``datasets.services.datasets.params_validate``)."""


@extend_schema_field({"type": "array", "items": FIELD_SCHEMA, "readOnly": True})
class FieldsField(serializers.JSONField):
    """The inferred fields (read-only)."""


class DatasetSerializer(ApiModelSerializer):
    """A dataset as the API shows it; writes merge into the existing dataset (PUT and PATCH alike).

    ``datasourceId`` is written as the datasource's UUID or natural id and read as its UUID. ``editingId`` is
    always null: datasets have no drafts.
    """

    _links = serializers.SerializerMethodField()
    _embedded = serializers.SerializerMethodField()
    natural_id = serializers.CharField(read_only=True)
    datasource_id = serializers.CharField(max_length=300, help_text="The datasource's UUID or natural id.")
    params = ParamsField(required=False)
    fields = FieldsField(read_only=True)  # type: ignore[assignment]  # DRF moves declared fields off the class
    refreshing = serializers.BooleanField(read_only=True)
    owner_id = serializers.IntegerField(read_only=True, allow_null=True)
    shared = serializers.SerializerMethodField()
    editing_id = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()

    class Meta:
        model = Dataset
        fields = [
            "_links",
            "id",
            "name",
            "slug",
            "natural_id",
            "description",
            "datasource_id",
            "query",
            "params",
            "fields",
            "records",
            "size",
            "truncated",
            "data_updated_at",
            "last_duration_millis",
            "refreshing",
            "owner_id",
            "shared",
            "editing_id",
            "created_at",
            "updated_at",
            "permissions",
            "_embedded",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {"slug": {"required": False, "validators": []}}
        validators: list[Any] = []

    def _href(self, path: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field(LINKS_SCHEMA)
    def get__links(self, dataset: Dataset) -> dict[str, Any]:
        own = reverse("dataset-detail", kwargs={"pk": dataset.pk})
        links = {"self": {"href": self._href(own)}}
        links.update({rel: {"href": self._href(f"{own}/{tail}")} for rel, tail in LINKS.items()})
        job_id = self.context.get("refresh_jobs", {}).get(dataset.pk)
        if job_id is not None:
            # A name, not an import: datasets sit below jobs.
            links["inf:refresh-job"] = {"href": self._href(reverse("job-detail", kwargs={"pk": job_id}))}
        return links

    @extend_schema_field(
        {
            "type": "object",
            "readOnly": True,
            "required": ["inf:field"],
            "properties": {"inf:field": {"type": "array", "items": FIELD_SCHEMA}},
        }
    )
    def get__embedded(self, dataset: Dataset) -> dict[str, Any]:
        return {"inf:field": list(dataset.fields)}

    def get_shared(self, dataset: Dataset) -> bool:
        """Whether anyone besides the owner has access."""
        return dataset.pk in self.context.get("shared", set())

    @extend_schema_field({"type": "string", "format": "uuid", "nullable": True, "readOnly": True})
    def get_editing_id(self, dataset: Dataset) -> None:
        return None

    @extend_schema_field(
        {
            "type": "object",
            "readOnly": True,
            "required": [*PERMISSION_FLAGS, "copy"],
            "properties": {flag: {"type": "boolean"} for flag in (*PERMISSION_FLAGS, "copy")},
        }
    )
    def get_permissions(self, dataset: Dataset) -> dict[str, bool]:
        codenames = self.context.get("permissions", {}).get(dataset.pk, set())
        flags = {flag: codename in codenames for flag, codename in PERMISSION_FLAGS.items()}
        # A copy is a new dataset on the same datasource: it needs the right to use that datasource too.
        flags["copy"] = "view_dataset" in codenames and dataset.datasource_id in self.context.get("usable", set())
        return flags

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        if isinstance(instance, Dataset):
            data["datasourceId"] = str(instance.datasource_id)
        return data


def refresh_job_ids(dataset_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """For each dataset a committed job of type dataset-refresh uses, that job (the first by name)."""
    # Through the reverse relation of jobs' association (its related_name): no import of jobs.
    rows = (
        Dataset.objects.filter(
            pk__in=list(dataset_ids),
            job_links__job__type=REFRESH_JOB_TYPE,
            job_links__job__editing_of__isnull=True,
        )
        .order_by("job_links__job__name", "job_links__job_id")
        .values_list("pk", "job_links__job_id")
    )
    found: dict[uuid.UUID, uuid.UUID] = {}
    for dataset_id, job_id in rows:
        found.setdefault(dataset_id, job_id)
    return found


def representation_context(request: Request, view: Any, datasets: Sequence[Dataset]) -> dict[str, Any]:
    """What the serializer reads besides the datasets: the caller's rights, shares and refresh jobs, in bulk."""
    ids = [dataset.pk for dataset in datasets]
    user = request_user(request)
    if len(datasets) == 1:
        # The detail: the permission check already read the caller's rights (cached on the request).
        permissions = {ids[0]: object_codenames(request, datasets[0], load=view.load_object_codenames)}
    else:
        permissions = selectors.dataset_permissions_for_user(user, ids)
    sources = {dataset.datasource_id for dataset in datasets}
    usable = set(
        selectors.datasource_list_for_user(user)
        .filter(pk__in=sources, tenant_id=user.tenant_id)
        .values_list("pk", flat=True)
    )
    return {
        "request": request,
        "view": view,
        "permissions": permissions,
        "shared": selectors.dataset_shared_ids(ids),
        "refresh_jobs": refresh_job_ids(ids),
        "usable": usable,
    }


def dataset_response(
    view: Any, dataset: Dataset, status_code: int = status.HTTP_200_OK, *, location: bool = False
) -> Response:
    """A dataset as ``GET /api/datasets/{id}`` shows it, read afresh (after a write, its refresh columns too)."""
    request = view.request
    dataset = Dataset.objects.select_related("tenant", "owner", "datasource").get(pk=dataset.pk)
    data = DatasetSerializer(dataset, context=representation_context(request, view, [dataset])).data
    headers = {"Location": data["_links"]["self"]["href"]} if location else None
    return Response(data, status=status_code, headers=headers)
