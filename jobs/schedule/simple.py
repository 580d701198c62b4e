"""Simple intervals (``15 minutes``, ``1 month``): the parser and their fires, counted from the anchor.

A ``once`` schedule needs no module of its own: it is the anchor alone (``anchor_fire``).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from jobs.schedule.cron import SEPARATORS, describe_character
from jobs.schedule.errors import ScheduleError
from jobs.schedule.wallclock import Fire, resolve

if TYPE_CHECKING:
    from jobs.schedule.engine import Schedule

# Singular or plural, any case, each meaning its plural.
UNITS = {name: plural for plural in ("minutes", "hours", "days", "weeks", "months") for name in (plural, plural[:-1])}
# The longest interval accepted per unit (about a hundred years), so date arithmetic cannot overflow.
MAX_COUNT = {"minutes": 52_560_000, "hours": 876_000, "days": 36_500, "weeks": 5_200, "months": 1_200}
# ASCII digits, letters and separators only, as in cron fields (\s would take a no-break space).
_SIMPLE = re.compile(r"^([+-]?[0-9]+(?:\.[0-9]*)?)[ \t]*([a-z]+)$", re.IGNORECASE | re.ASCII)


@dataclass(frozen=True)
class Every:
    """A simple interval: ``count`` whole ``unit`` (minutes, hours, days, weeks or months)."""

    count: int
    unit: str


def parse_simple_interval(interval: str | None) -> Every:
    """Parse the interval of a simple schedule, e.g. '15 minutes'; ScheduleError("interval") if invalid."""
    if not isinstance(interval, str) or not interval.strip(SEPARATORS):
        raise ScheduleError("interval", "interval is required for simple schedules, e.g. '15 minutes'.")
    text = interval.strip(SEPARATORS)
    odd = next((char for char in text if char != "\t" and not (char.isascii() and char.isprintable())), None)
    if odd is not None:
        raise ScheduleError(
            "interval",
            f"Invalid simple interval '{text}': {describe_character(odd)} is not allowed; "
            "write the count with the digits 0-9, e.g. '15 minutes'.",
        )
    match = _SIMPLE.match(text)
    if match is None:
        raise ScheduleError(
            "interval", f"Invalid simple interval '{text}': expected '<number> <unit>', e.g. '15 minutes'."
        )
    number, unit_text = match.groups()
    unit = UNITS.get(unit_text.lower())
    if unit is None:
        if unit_text.lower() in ("s", "sec", "secs", "second", "seconds"):
            raise ScheduleError("interval", f"Invalid simple interval '{text}': the shortest interval is 1 minute.")
        raise ScheduleError(
            "interval",
            f"Unknown interval unit '{unit_text}' in '{text}': use minutes, hours, days, weeks or months.",
        )
    if not number.isdigit() or not number.lstrip("0"):
        raise ScheduleError(
            "interval",
            f"Invalid simple interval '{text}': the count must be a whole number of at least 1 "
            "(the shortest interval is 1 minute).",
        )
    # Measured as text first: int() refuses a number of thousands of digits (a ValueError, so a 500).
    count = int(number) if len(number.lstrip("0")) <= 12 else MAX_COUNT[unit] + 1
    if count > MAX_COUNT[unit]:
        raise ScheduleError("interval", f"Invalid simple interval '{text}': the longest interval is 100 years.")
    return Every(count, unit)


def anchor_fire(schedule: Schedule) -> Fire:
    """The anchor as a fire: the first of a simple interval, the only one of a ``once``."""
    assert schedule.anchor is not None
    local = schedule.anchor.astimezone(schedule.zone)
    return schedule.anchor, local, schedule.anchor_shifted, False, local.fold


def simple_fires(schedule: Schedule, after: datetime) -> Iterator[Fire]:
    """Simple-interval fires after ``after`` in increasing order: the anchor, then whole steps from it."""
    every, anchor, zone, policy = schedule.every, schedule.anchor, schedule.zone, schedule.dst_policy
    assert every is not None and anchor is not None and schedule.anchor_wall is not None
    step = 1
    if after < anchor:
        yield anchor_fire(schedule)
    if every.unit in ("minutes", "hours"):
        # Elapsed time: plain UTC arithmetic, so the local clock (and DST) plays no part.
        length = timedelta(minutes=every.count) if every.unit == "minutes" else timedelta(hours=every.count)
        if after >= anchor:
            step = (after - anchor) // length + 1
        while True:
            at = anchor + step * length
            local = at.astimezone(zone)
            yield at, local, False, False, local.fold
            step += 1
    wall = schedule.anchor_wall
    local_after = after.astimezone(zone)
    if every.unit == "months":
        if after >= anchor:
            elapsed = (local_after.year - wall.year) * 12 + local_after.month - wall.month
            step = max(1, elapsed // every.count - 1)
        while True:
            # Always counted from the anchor, so a 31st keeps coming back after a short month.
            year, month0 = divmod(wall.month - 1 + step * every.count, 12)
            year += wall.year
            if year > 9999:
                return
            day = min(wall.day, calendar.monthrange(year, month0 + 1)[1])
            nominal = wall.replace(year=year, month=month0 + 1, day=day)
            yield from resolve(zone, nominal, fixed=True, gap=policy.gap, repeat=policy.repeat)
            step += 1
    days = every.count * (7 if every.unit == "weeks" else 1)
    if after >= anchor:
        step = max(1, (local_after.date() - wall.date()).days // days - 1)
    while True:
        # Calendar days keep the anchor's local time of day across DST changes.
        nominal = wall + timedelta(days=step * days)
        yield from resolve(zone, nominal, fixed=True, gap=policy.gap, repeat=policy.repeat)
        step += 1
