"""API representations of jobs and shares."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from informer.api.serializers import ApiModelSerializer, ApiSerializer, SelfLinkField
from informer.timezones import UnknownTimeZone, load_zone
from jobs import schedule, timing
from jobs.drivers.registry import JOB_DRIVERS, job_driver
from jobs.models import IntervalType, Job
from jobs.serializers_actions import CredentialDataField
from jobs.services import SCHEDULE_FIELDS
from jobs.wallclock import earliest

PERMISSION_FLAGS = {"edit": "change_job", "run": "run_job", "delete": "delete_job", "share": "share_job"}


class ScheduleBoundField(serializers.CharField):
    """``startOn``/``endOn``: an ISO date (kept as a date) or an ISO datetime (stored in UTC).

    A datetime without an offset is wall-clock time in the job's zone, which the serializer resolves.
    """

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("allow_blank", True)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        # DRF would pass null through untouched, but the columns are NOT NULL: no bound is stored as "".
        if data is None:
            return True, ""
        return super().validate_empty_values(data)

    def to_internal_value(self, data: Any) -> str:
        if data is None or data == "":
            return ""
        text = str(data).strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text).isoformat()
            parsed = datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise serializers.ValidationError(
                f"'{text}' is not an ISO 8601 date (2026-03-01) or datetime (2026-03-01T08:00:00Z)."
            ) from None
        if parsed.tzinfo is None:
            return parsed.replace(microsecond=0).isoformat()  # resolved in the job's zone by validate()
        return parsed.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

    def to_representation(self, value: Any) -> str | None:
        return value or None


def resolve_naive_bound(value: str, zone_name: str) -> str:
    """A naive datetime bound read in ``zone_name`` and stored as UTC."""
    if not value or len(value) == 10 or value.endswith("Z"):
        return value
    try:
        zone = load_zone(zone_name)
    except UnknownTimeZone:
        return value  # the timezone error is reported by the schedule check
    # The engine's rule, not zoneinfo's: a time the clock skips means the moment the gap ends (zoneinfo
    # would read it with the old offset, an hour late); a repeated time means its first occurrence.
    at, _ = earliest(zone, datetime.fromisoformat(value))
    return at.isoformat().replace("+00:00", "Z")


def spent_schedule_errors(parsed: schedule.Schedule, now: datetime) -> dict[str, list[str]]:
    """Errors by field for a schedule that can never fire again after ``now`` (§5): nothing when it can.

    A ``once`` whose ``startOn`` is not in the future and an ``endOn`` already past would be saved and then
    silently never fire; an enabled job says so at once (a disabled one may keep them).
    """
    errors: dict[str, list[str]] = {}
    if parsed.interval_type == IntervalType.ONCE and parsed.anchor is not None and parsed.anchor <= now:
        errors["startOn"] = [
            f"startOn {iso_z(parsed.anchor)} is not in the future, so this one-off (once) job would never run; "
            "choose a later moment or disable the job."
        ]
    if parsed.end is not None and parsed.end < now:
        errors["endOn"] = [
            f"endOn {iso_z(parsed.end)} is in the past, so this job would never fire again; "
            "choose a later end or disable the job."
        ]
    return errors


def iso_z(moment: datetime) -> str:
    """``2026-03-01T12:00:00Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class JobSerializer(ApiModelSerializer):
    """A job as the API shows it; writes merge into the existing job (PUT and PATCH alike)."""

    _links = SelfLinkField()
    natural_id = serializers.CharField(read_only=True)
    owner_id = serializers.IntegerField(read_only=True, allow_null=True)
    owner_name = serializers.SerializerMethodField()
    editing_id = serializers.UUIDField(source="editing_of_id", read_only=True, allow_null=True)
    locked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    tags = serializers.ListField(
        child=serializers.RegexField(r"^[\w .:-]{1,64}$", max_length=64), required=False, max_length=50
    )
    start_on = ScheduleBoundField()
    end_on = ScheduleBoundField()
    type = serializers.CharField(max_length=40)
    data = CredentialDataField(required=False)  # header values and URL credentials are write-only to viewers
    dst_policy = serializers.JSONField(required=False)
    permissions = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "_links",
            "id",
            "type",
            "name",
            "slug",
            "natural_id",
            "description",
            "owner_id",
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
            "locked_at",
            "editing_id",
            "created_at",
            "updated_at",
            "permissions",
        ]
        read_only_fields = [
            "id",
            "next_run_at",
            "last_run_at",
            "last_success",
            "locked_at",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {"slug": {"required": False, "validators": []}, "timezone": {"required": False}}

    def self_path(self, job: Job) -> str:
        return reverse("job-detail", kwargs={"pk": job.pk})

    def get_owner_name(self, job: Job) -> str | None:
        return job.owner.display_name if job.owner else None

    def get_permissions(self, job: Job) -> dict[str, bool]:
        codenames = self.context.get("permissions", {}).get(job.pk, set())
        return {flag: codename in codenames for flag, codename in PERMISSION_FLAGS.items()}

    def validate_type(self, value: str) -> str:
        if value not in JOB_DRIVERS:
            known = ", ".join(JOB_DRIVERS)
            raise serializers.ValidationError(f"Unknown job type '{value}'; known types are: {known}.")
        return value

    def validate_timezone(self, value: str) -> str:
        try:
            schedule.validate_timezone(value)
        except schedule.ScheduleError as error:
            raise serializers.ValidationError(error.message) from None
        return value

    def validate_dst_policy(self, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        try:
            schedule.parse_dst_policy(value)
        except schedule.ScheduleError as error:
            raise serializers.ValidationError(error.message) from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        merged = self._merged(attrs)
        job_type = merged["type"]
        data = merged.get("data")
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise serializers.ValidationError({"data": ["data must be a JSON object."]})
        errors = job_driver(job_type).validation_errors(data)
        if errors:
            raise serializers.ValidationError({"data": errors})
        zone = merged.get("timezone") or self.context["default_timezone"]
        for name in ("start_on", "end_on"):
            if name in attrs:
                attrs[name] = resolve_naive_bound(attrs[name], zone)
        # Every schedule check goes through the engine the scheduler uses, so nothing accepted here can
        # fail later when it is fired.
        candidate = Job(
            interval=merged.get("interval", ""),
            interval_type=merged.get("interval_type", "cron"),
            timezone=zone,
            start_on=attrs.get("start_on", merged.get("start_on", "")),
            end_on=attrs.get("end_on", merged.get("end_on", "")),
            dst_policy=merged.get("dst_policy") or {},
        )
        try:
            parsed = timing.job_schedule(candidate)
        except schedule.ScheduleError as error:
            raise serializers.ValidationError({error.field: [error.message]}) from None
        enabled = attrs.get("enabled", self.instance.enabled if self.instance is not None else True)
        if enabled and self._schedule_is_written(attrs):
            errors = spent_schedule_errors(parsed, timezone.now())
            if errors:
                raise serializers.ValidationError(errors)
        return attrs

    def _schedule_is_written(self, attrs: dict[str, Any]) -> bool:
        """Whether this write sets the schedule: always on create, on update when it changes a schedule field.

        A schedule that has run its course is refused when it is set (``once`` in the past, ``endOn`` gone
        by), not when an unrelated field of a job that simply finished is edited: renaming last month's
        one-off job must not ask for a new date. Enabling it again, or changing its schedule, does.
        """
        if self.instance is None:
            return True
        return any(name in SCHEDULE_FIELDS and getattr(self.instance, name) != value for name, value in attrs.items())

    def _merged(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The job's fields after this write: the instance's values overlaid with ``attrs``."""
        merged: dict[str, Any] = {}
        if self.instance is not None:
            for name in (
                "type",
                "data",
                "interval",
                "interval_type",
                "timezone",
                "start_on",
                "end_on",
                "dst_policy",
            ):
                merged[name] = getattr(self.instance, name)
        elif "type" not in attrs:
            raise serializers.ValidationError({"type": ["This field is required."]})
        merged.update(attrs)
        return merged


class JobListItemSerializer(serializers.Serializer):
    """One row of ``GET /api/jobs-list``: a flat, unpaginated summary."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    type = serializers.CharField()
    enabled = serializers.BooleanField()
    ownerId = serializers.IntegerField(source="owner_id", allow_null=True)
    ownerName = serializers.SerializerMethodField()
    naturalId = serializers.CharField(source="natural_id")
    tags = serializers.ListField(child=serializers.CharField())
    sharing = serializers.SerializerMethodField()
    permissions = serializers.SerializerMethodField()

    def get_ownerName(self, job: Job) -> str | None:
        return job.owner.display_name if job.owner else None

    def get_sharing(self, job: Job) -> bool:
        """Whether anyone besides the owner has access."""
        return job.pk in self.context.get("shared", set())

    def get_permissions(self, job: Job) -> dict[str, bool]:
        codenames = self.context.get("permissions", {}).get(job.pk, set())
        return {flag: codename in codenames for flag, codename in PERMISSION_FLAGS.items()}


class ShareSerializer(ApiSerializer):
    """One principal's access to a job."""

    _links = serializers.SerializerMethodField()
    principal_id = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    access_level = serializers.IntegerField(min_value=0, max_value=3)

    def get__links(self, share: dict[str, Any]) -> dict[str, Any]:
        request = self.context.get("request")
        path = reverse(
            "job-share-detail",
            kwargs={"job_pk": self.context["job_pk"], "principal_id": share["principal_id"]},
        )
        return {"self": {"href": request.build_absolute_uri(path) if request else path}}


class PrincipalSerializer(serializers.Serializer):
    """A user or team of the caller's tenant, as shares name them."""

    id = serializers.CharField()
    type = serializers.CharField()
    name = serializers.CharField()
    displayName = serializers.CharField(source="display_name")
