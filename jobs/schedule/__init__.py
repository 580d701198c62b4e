"""The schedule engine (SPEC §5), pure: no ORM, no settings. ``from jobs import schedule`` is its API.

``engine`` parses a schedule and iterates its fire times within its bounds; ``cron`` and ``simple`` are the
two kinds of interval (a ``once`` is its anchor alone; a manual-only ``none`` has no fire at all);
``wallclock`` turns local times into UTC instants with Debian cron's DST rules; ``errors`` holds
``ScheduleError``.
"""

from __future__ import annotations

from jobs.schedule.engine import (
    INTERVAL_TYPES,
    MANUAL,
    DstPolicy,
    FireTime,
    Schedule,
    fire_times,
    interval_type_for,
    iter_fire_times,
    next_fire_time,
    parse_dst_policy,
    parse_schedule,
    validate_timezone,
)
from jobs.schedule.errors import ScheduleError

__all__ = [
    "INTERVAL_TYPES",
    "MANUAL",
    "DstPolicy",
    "FireTime",
    "Schedule",
    "ScheduleError",
    "fire_times",
    "interval_type_for",
    "iter_fire_times",
    "next_fire_time",
    "parse_dst_policy",
    "parse_schedule",
    "validate_timezone",
]
