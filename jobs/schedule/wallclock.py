"""Local wall-clock times to UTC instants, with Debian cron's answers for skipped and repeated times.

Used by the ``cron``, ``simple`` and ``engine`` modules of ``jobs.schedule``; the engine's docstring states the rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

# A candidate fire before bounds are applied: (at UTC, local, shifted, merged, fold). Tuples keep the
# inner loops cheap and sort by instant first.
Fire = tuple[datetime, datetime, bool, bool, int]


def resolve(zone: ZoneInfo, wall: datetime, *, fixed: bool, gap: str = "shift", repeat: str = "first") -> list[Fire]:
    """The fires one nominal local time (naive, fold=0) stands for: none, one or two, in order."""
    local = wall.replace(tzinfo=zone)
    offset = local.utcoffset()
    later_offset = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert offset is not None and later_offset is not None  # a ZoneInfo knows every local time's offset
    first = (wall - offset).replace(tzinfo=UTC)
    if offset == later_offset:
        return [(first, local, False, False, 0)]
    if first.astimezone(zone).replace(tzinfo=None) != wall:
        # The round trip lands elsewhere, so the clock jumped over this time (spring forward).
        if not fixed or gap == "skip":
            # Wildcard jobs only run at instants that exist; "skip" asks fixed ones to do the same.
            return []
        # Debian cron runs a fixed-time job whose time was skipped as soon as the gap is over.
        at = gap_end(zone, wall, offset, later_offset)
        return [(at, at.astimezone(zone), True, False, 0)]
    # Otherwise the clock went back and this time happens twice; fold=0 is the first occurrence.
    if fixed and repeat == "first":
        # Debian cron runs a fixed-time job once, at the first occurrence.
        return [(first, local, False, True, 0)]
    # Wildcard jobs (and repeat="both") run at both real instants.
    second = (wall - later_offset).replace(tzinfo=UTC)
    return [(first, local, False, False, 0), (second, wall.replace(tzinfo=zone, fold=1), False, False, 1)]


def gap_end(zone: ZoneInfo, wall: datetime, before: timedelta, after: timedelta) -> datetime:
    """The instant the spring-forward gap around ``wall`` ends: the transition itself, in UTC."""
    # wall - after is still on the old offset and wall - before already on the new one; bisect seconds.
    low = int((wall - after).replace(tzinfo=UTC).timestamp())
    high = int((wall - before).replace(tzinfo=UTC).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    return datetime.fromtimestamp(high, UTC)


def earliest(zone: ZoneInfo, wall: datetime) -> tuple[datetime, bool]:
    """The first instant at which the local clock reads ``wall`` or later, and whether that is later."""
    at, _, shifted, _, _ = resolve(zone, wall, fixed=True)[0]
    return at, shifted


def steady_offset(zone: ZoneInfo, day: date) -> timedelta | None:
    """The UTC offset at the midnight starting ``day``, or None if that midnight is skipped or repeated."""
    year, month, dom = day.year, day.month, day.day
    offset = datetime(year, month, dom, tzinfo=zone).utcoffset()
    return offset if offset == datetime(year, month, dom, tzinfo=zone, fold=1).utcoffset() else None
