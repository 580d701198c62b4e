"""A schedule's fields as the API reads and checks them: ``startOn``/``endOn`` bounds, and a schedule that is spent."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from rest_framework import serializers

from informer.timezones import UnknownTimeZone, load_zone
from jobs import schedule
from jobs.models import IntervalType
from jobs.schedule.wallclock import earliest


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

    def to_representation(self, value: Any) -> str | None:  # type: ignore[override]  # a bound not set is null
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
    if parsed.interval_type == IntervalType.NONE:
        return errors  # a manual-only job never fires anyway: its bounds cannot leave it with nothing to do
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
