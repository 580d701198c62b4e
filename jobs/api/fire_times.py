"""``GET /api/job-fire-times``: preview a schedule with the scheduler's own engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from informer.api import parsers
from informer.api.serializers import ApiQuerySerializer
from jobs import schedule, timing
from jobs.api.schedule_fields import ScheduleBoundField, resolve_naive_bound
from jobs.models import IntervalType

MAX_COUNT = 1000


def iso_utc(moment: datetime) -> str:
    """``2026-03-09T12:00:00Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class FireTimesQuerySerializer(ApiQuerySerializer):
    """The query parameters of the preview (text: ``count`` in ASCII digits)."""

    interval = serializers.CharField(max_length=200, required=False, allow_blank=True)
    # No default: left out, it follows from the interval as on a job (cron with one, manual-only without).
    interval_type = serializers.ChoiceField(choices=IntervalType.choices, required=False)
    timezone = serializers.CharField(max_length=64, default="UTC")
    start_on = ScheduleBoundField()
    end_on = ScheduleBoundField()
    dst_policy = serializers.CharField(required=False, allow_blank=True, help_text='JSON, e.g. {"gap": "skip"}')
    count = serializers.IntegerField(min_value=1, max_value=MAX_COUNT, default=10)
    after = serializers.DateTimeField(required=False, default_timezone=UTC)
    detail = serializers.BooleanField(default=False)
    # Ignored: present in browsable-API and pagination-style query strings.
    format = serializers.CharField(required=False)

    def validate_dst_policy(self, value: str) -> dict[str, Any] | None:
        if not value:
            return None
        try:
            parsed = parsers.loads(value)
        except parsers.JsonTooDeep as error:
            raise serializers.ValidationError(str(error)) from None
        except ValueError:
            raise serializers.ValidationError(f"'{value}' is not valid JSON.") from None
        try:
            schedule.parse_dst_policy(parsed)
        except schedule.ScheduleError as error:
            raise serializers.ValidationError(error.message) from None
        return parsed


FireTimesResponse = inline_serializer(
    "FireTimes",
    {
        "fireTimes": serializers.ListField(child=serializers.DateTimeField()),
        "detail": serializers.ListField(
            child=inline_serializer(
                "FireTimeDetail",
                {
                    "fireTime": serializers.DateTimeField(),
                    "local": serializers.CharField(),
                    "shifted": serializers.BooleanField(),
                    "merged": serializers.BooleanField(),
                },
            ),
            required=False,
        ),
    },
)


class JobFireTimesView(APIView):
    """The next ``count`` fire times strictly after ``after``, in UTC (same function as the scheduler)."""

    @extend_schema(
        summary="Preview the fire times of a schedule",
        parameters=[
            OpenApiParameter(
                "interval",
                {"type": "string", "maxLength": 200},
                allow_blank=True,
                description="Cron expression or '<n> <unit>'; ignored by once and none. Without it (and without "
                "intervalType) the schedule is manual-only: no fire times",
            ),
            OpenApiParameter(
                "intervalType",
                str,
                enum=IntervalType.values,
                description="Default: cron with an interval, none (manual-only, no fire times) without one",
            ),
            OpenApiParameter(
                "timezone", {"type": "string", "maxLength": 64}, description="IANA time zone (default UTC)"
            ),
            OpenApiParameter("startOn", str),
            OpenApiParameter("endOn", str),
            OpenApiParameter("dstPolicy", str, description='JSON: {"gap": "shift"|"skip", "repeat": "first"|"both"}'),
            OpenApiParameter("count", {"type": "integer", "minimum": 1, "maximum": MAX_COUNT, "default": 10}),
            OpenApiParameter("after", OpenApiTypes.DATETIME, description="ISO datetime; default now"),
            OpenApiParameter("detail", bool, description="Add local time and DST flags per fire time"),
        ],
        responses=FireTimesResponse,
    )
    def get(self, request: Request) -> Response:
        query = FireTimesQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        now = timezone.now()
        after = params.get("after") or now
        zone = params["timezone"]
        interval = params.get("interval") or None
        try:
            parsed = schedule.parse_schedule(
                interval=interval,
                interval_type=schedule.interval_type_for(interval, given=params.get("interval_type")),
                timezone=zone,
                start_on=timing.parse_bound(resolve_naive_bound(params.get("start_on", ""), zone)),
                end_on=timing.parse_bound(resolve_naive_bound(params.get("end_on", ""), zone)),
                dst_policy=params.get("dst_policy"),
                anchor=now,
            )
        except schedule.ScheduleError as error:
            raise serializers.ValidationError({error.field: [error.message]}) from None
        fires = schedule.fire_times(parsed, after, params["count"])
        body: dict[str, Any] = {"fireTimes": [iso_utc(fire.at) for fire in fires]}
        if params["detail"]:
            body["detail"] = [
                {
                    "fireTime": iso_utc(fire.at),
                    "local": fire.local.isoformat(),
                    "shifted": fire.shifted,
                    "merged": fire.merged,
                }
                for fire in fires
            ]
        return Response(body)
