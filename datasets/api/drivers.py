"""``GET /api/datasource-drivers[/{id}]``: the datasource types with the JSON Schema of their settings."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from datasets.connectors import registry
from datasets.connectors.base import Connector
from informer.api.pagination import hal_collection
from informer.api.schema import hal_collection_schema


class DatasourceDriverSerializer(serializers.Serializer):
    """A datasource type (documentation only: items are built from the connector registry)."""

    _links = serializers.DictField()
    id = serializers.CharField()
    name = serializers.CharField()
    available = serializers.BooleanField(help_text="False when this installation cannot reach such a datasource.")
    schema = serializers.DictField(help_text="JSON Schema of the settings it reads; secrets are writeOnly.")


def driver_item(request: Request, connector: type[Connector]) -> dict[str, Any]:
    """A connector as the drivers list shows it."""
    href = request.build_absolute_uri(reverse("datasource-driver-detail", kwargs={"driver_id": connector.type}))
    return {
        "_links": {"self": {"href": href}},
        "id": connector.type,
        "name": connector.name,
        "available": bool(connector.available),
        "schema": connector.config_schema,
    }


class DatasourceDriverList(APIView):
    """The registered datasource types."""

    rel = "inf:datasource-driver"

    @extend_schema(
        summary="Datasource types",
        operation_id="datasource_drivers_list",
        responses=hal_collection_schema(
            DatasourceDriverSerializer, "inf:datasource-driver", "DatasourceDriverCollection"
        ),
    )
    def get(self, request: Request) -> Response:
        items = [driver_item(request, connector) for connector in registry.connector_classes()]
        return Response(hal_collection(request, self.rel, items))


class DatasourceDriverDetail(APIView):
    """One datasource type."""

    @extend_schema(
        summary="One datasource type",
        responses=DatasourceDriverSerializer,
        parameters=[OpenApiParameter("driver_id", str, OpenApiParameter.PATH, enum=list(registry.CONNECTORS))],
    )
    def get(self, request: Request, driver_id: str) -> Response:
        if driver_id not in registry.CONNECTORS:
            raise Http404
        return Response(driver_item(request, registry.connector_class(driver_id)))
