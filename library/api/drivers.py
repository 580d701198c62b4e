"""``GET /api/library-drivers[/{id}]``: the library types with the JSON Schema of their settings."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from informer.api.pagination import hal_collection
from informer.api.schema import hal_collection_schema
from library.integrations import registry
from library.integrations.base import Integration


class LibraryDriverSerializer(serializers.Serializer):
    """A library type (documentation only: items are built from the integration registry)."""

    _links = serializers.DictField()
    id = serializers.CharField()
    name = serializers.CharField()
    available = serializers.BooleanField(help_text="False when this installation cannot reach such a remote.")
    schema = serializers.DictField(help_text="JSON Schema of the settings it reads; secrets are writeOnly.")


def driver_item(request: Request, integration: type[Integration]) -> dict[str, Any]:
    """An integration as the drivers list shows it."""
    href = request.build_absolute_uri(reverse("library-driver-detail", kwargs={"driver_id": integration.type}))
    return {
        "_links": {"self": {"href": href}},
        "id": integration.type,
        "name": integration.name,
        "available": bool(integration.available),
        "schema": integration.settings_schema,
    }


class LibraryDriverList(APIView):
    """The registered library types."""

    rel = "inf:library-driver"

    @extend_schema(
        summary="Library types",
        operation_id="library_drivers_list",
        responses=hal_collection_schema(LibraryDriverSerializer, "inf:library-driver", "LibraryDriverCollection"),
    )
    def get(self, request: Request) -> Response:
        items = [driver_item(request, integration) for integration in registry.integration_classes()]
        return Response(hal_collection(request, self.rel, items))


class LibraryDriverDetail(APIView):
    """One library type."""

    @extend_schema(
        summary="One library type",
        responses=LibraryDriverSerializer,
        parameters=[OpenApiParameter("driver_id", str, OpenApiParameter.PATH, enum=list(registry.INTEGRATIONS))],
    )
    def get(self, request: Request, driver_id: str) -> Response:
        if driver_id not in registry.INTEGRATIONS:
            raise Http404
        return Response(driver_item(request, registry.integration_class(driver_id)))
