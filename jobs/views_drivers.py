"""Read-only listings of the registered drivers."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs.drivers.base import Driver
from jobs.drivers.registry import JOB_DRIVERS, job_driver, job_drivers


class DriverSerializer(serializers.Serializer):
    """A registered driver (documentation only: items are built from the registry)."""

    _links = serializers.DictField()
    id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    schema = serializers.DictField()


def driver_item(request: Request, driver: type[Driver], route: str) -> dict[str, Any]:
    href = request.build_absolute_uri(reverse(route, kwargs={"driver_id": driver.id}))
    return {"_links": {"self": {"href": href}}, **driver.describe()}


class JobDriverList(APIView):
    """``GET /api/job-drivers``: the registered job types with their ``data`` schema."""

    rel = "inf:job-driver"

    @extend_schema(summary="Job types", responses=DriverSerializer(many=True))
    def get(self, request: Request) -> Response:
        items = [driver_item(request, driver, "job-driver-detail") for driver in job_drivers()]
        return Response(
            {
                "_links": {"self": {"href": request.build_absolute_uri()}},
                "_embedded": {self.rel: items},
                "start": 0,
                "count": len(items),
                "total": len(items),
            }
        )


class JobDriverDetail(APIView):
    """``GET /api/job-drivers/{id}``."""

    @extend_schema(summary="One job type", responses=DriverSerializer)
    def get(self, request: Request, driver_id: str) -> Response:
        if driver_id not in JOB_DRIVERS:
            raise Http404
        return Response(driver_item(request, job_driver(driver_id), "job-driver-detail"))
