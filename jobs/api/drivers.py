"""Read-only listings of the registered drivers."""

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
from jobs.blueprints import BLUEPRINTS, blueprint, blueprint_available
from jobs.drivers.base import Driver
from jobs.drivers.registry import (
    ACTION_DRIVERS,
    ATTACHMENT_DRIVERS,
    JOB_DRIVERS,
    action_driver,
    action_drivers,
    attachment_driver,
    attachment_drivers,
    job_driver,
    job_drivers,
)


class DriverSerializer(serializers.Serializer):
    """A registered driver (documentation only: items are built from the registry)."""

    _links = serializers.DictField()
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    available = serializers.BooleanField(help_text="False when this installation cannot run it: it may not be chosen.")
    schema = serializers.DictField()


def _driver_id(registry: dict[str, str]) -> OpenApiParameter:
    """The ``{driver_id}`` of a detail route: one of the registered kinds (any other is a 404)."""
    return OpenApiParameter("driver_id", str, OpenApiParameter.PATH, enum=list(registry))


def driver_item(request: Request, driver: type[Driver], route: str) -> dict[str, Any]:
    href = request.build_absolute_uri(reverse(route, kwargs={"driver_id": driver.id}))
    return {"_links": {"self": {"href": href}}, **driver.describe()}


class JobDriverList(APIView):
    """``GET /api/job-drivers``: the registered job types with their ``data`` schema."""

    rel = "inf:job-driver"

    @extend_schema(
        summary="Job types",
        operation_id="job_drivers_list",
        responses=hal_collection_schema(DriverSerializer, "inf:job-driver", "JobDriverCollection"),
    )
    def get(self, request: Request) -> Response:
        items = [driver_item(request, driver, "job-driver-detail") for driver in job_drivers()]
        return Response(hal_collection(request, self.rel, items))


class JobDriverDetail(APIView):
    """``GET /api/job-drivers/{id}``."""

    @extend_schema(summary="One job type", responses=DriverSerializer, parameters=[_driver_id(JOB_DRIVERS)])
    def get(self, request: Request, driver_id: str) -> Response:
        if driver_id not in JOB_DRIVERS:
            raise Http404
        return Response(driver_item(request, job_driver(driver_id), "job-driver-detail"))


class ActionDriverList(APIView):
    """``GET /api/job-action-drivers``."""

    @extend_schema(
        summary="Action types",
        operation_id="job_action_drivers_list",
        responses=hal_collection_schema(DriverSerializer, "inf:job-action-driver", "ActionDriverCollection"),
    )
    def get(self, request: Request) -> Response:
        items = [driver_item(request, driver, "job-action-driver-detail") for driver in action_drivers()]
        return Response(hal_collection(request, "inf:job-action-driver", items))


class ActionDriverDetail(APIView):
    """``GET /api/job-action-drivers/{id}``."""

    @extend_schema(summary="One action type", responses=DriverSerializer, parameters=[_driver_id(ACTION_DRIVERS)])
    def get(self, request: Request, driver_id: str) -> Response:
        if driver_id not in ACTION_DRIVERS:
            raise Http404
        return Response(driver_item(request, action_driver(driver_id), "job-action-driver-detail"))


class AttachmentDriverList(APIView):
    """``GET /api/job-attachment-drivers``."""

    @extend_schema(
        summary="Attachment types",
        operation_id="job_attachment_drivers_list",
        responses=hal_collection_schema(DriverSerializer, "inf:job-attachment-driver", "AttachmentDriverCollection"),
    )
    def get(self, request: Request) -> Response:
        items = [driver_item(request, driver, "job-attachment-driver-detail") for driver in attachment_drivers()]
        return Response(hal_collection(request, "inf:job-attachment-driver", items))


class AttachmentDriverDetail(APIView):
    """``GET /api/job-attachment-drivers/{id}``."""

    @extend_schema(
        summary="One attachment type", responses=DriverSerializer, parameters=[_driver_id(ATTACHMENT_DRIVERS)]
    )
    def get(self, request: Request, driver_id: str) -> Response:
        if driver_id not in ATTACHMENT_DRIVERS:
            raise Http404
        return Response(driver_item(request, attachment_driver(driver_id), "job-attachment-driver-detail"))


class JobTemplateSerializer(serializers.Serializer):
    """A blueprint (documentation only)."""

    _links = serializers.DictField()
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    available = serializers.BooleanField(help_text="Whether every driver the template uses is available.")
    job = serializers.DictField()
    actions = serializers.ListField(child=serializers.DictField())


def template_item(request: Request, template_id: str, template: dict[str, Any]) -> dict[str, Any]:
    href = request.build_absolute_uri(reverse("job-template-detail", kwargs={"template_id": template_id}))
    return {
        "_links": {"self": {"href": href}},
        "id": template_id,
        **template,
        "available": blueprint_available(template),
    }


class JobTemplateList(APIView):
    """``GET /api/job-templates``: blueprints for ``POST /api/jobs`` with ``templateId``."""

    @extend_schema(
        summary="Job templates",
        operation_id="job_templates_list",
        responses=hal_collection_schema(JobTemplateSerializer, "inf:job-template", "JobTemplateCollection"),
    )
    def get(self, request: Request) -> Response:
        items = [template_item(request, key, value) for key, value in BLUEPRINTS.items()]
        return Response(hal_collection(request, "inf:job-template", items))


class JobTemplateDetail(APIView):
    """``GET /api/job-templates/{id}``."""

    @extend_schema(
        summary="One job template",
        responses=JobTemplateSerializer,
        parameters=[OpenApiParameter("template_id", str, OpenApiParameter.PATH, enum=list(BLUEPRINTS))],
    )
    def get(self, request: Request, template_id: str) -> Response:
        template = blueprint(template_id)
        if template is None:
            raise Http404
        return Response(template_item(request, template_id, template))
