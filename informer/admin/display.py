"""How every admin shows times and durations: with seconds and a zone, one format everywhere."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html

EMPTY = "-"
# DATETIME_FORMAT of informer.formats ("Y-m-d H:i:s T") in strftime's words.
TIME_FORMAT = "%Y-%m-%d %H:%M:%S %Z"


def admin_time(value: datetime | str | None, zone: tzinfo | None = None) -> str:
    """``value`` as ``2026-12-03 07:41:05 UTC`` (in ``zone`` if given, else UTC); an ISO text is read first.

    It reads as the ``DATETIME_FORMAT`` of ``informer.formats`` that Django's admin uses for the date-time fields
    it shows itself, so a time looks the same wherever it appears. strftime, not Django's ``date_format``: that
    one leaves the zone out of a wall time that occurs twice (01:30 EDT, then 01:30 EST), where it matters most.
    """
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return EMPTY
    if timezone.is_naive(value):
        value = value.replace(tzinfo=UTC)  # stored times are UTC
    return value.astimezone(zone or UTC).strftime(TIME_FORMAT)


def admin_duration(seconds: float | None) -> str:
    """A duration as ``4.2 s``, ``3 min 05 s`` or ``2 h 03 min``; ``-`` when there is none."""
    if seconds is None:
        return EMPTY
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def admin_time_cell(value: datetime | str | None, zone: tzinfo | None = None) -> str:
    """``admin_time`` for a narrow list column: it may wrap between the date and the clock, and nowhere else."""
    text = admin_time(value, zone)
    if text == EMPTY:
        return text
    day, clock = text.split(" ", 1)
    return format_html('<span class="nowrap">{}</span> <span class="nowrap">{}</span>', day, clock)
