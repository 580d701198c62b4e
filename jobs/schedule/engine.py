"""Fire times of a job schedule (product spec §5): cron expressions, simple intervals and one-off runs.

Pure: standard library plus croniter (through ``jobs.schedule.cron``) and ``informer.timezones``; nothing here
touches Django.

Local time follows Debian cron, so that a schedule means what a cron user expects:

* A fixed-time job (cron whose minute and hour fields do not start with '*', or a simple interval
  counted in days, weeks or months) runs once for each nominal local time. A time inside a
  spring-forward gap runs when the gap ends (``gap="shift"``) or not at all (``"skip"``); a time in
  a repeated hour runs at its first occurrence (``repeat="first"``) or at both (``"both"``).
* A wildcard job (cron whose minute or hour starts with '*') runs at every real instant whose local
  time matches: twice in a repeated hour, never in a skipped one. ``dstPolicy`` does not apply.
* Minute and hour intervals count elapsed time and ignore the wall clock altogether.

Every instant returned is an aware UTC datetime with whole seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from informer.timezones import UnknownTimeZone, load_zone
from jobs.schedule.cron import SEPARATORS, CronNeverFires, CronSpec, CronSyntaxError, parse_cron
from jobs.schedule.errors import ScheduleError
from jobs.schedule.simple import Every, anchor_fire, parse_simple_interval, simple_fires
from jobs.schedule.wallclock import Fire, earliest

INTERVAL_TYPES = ("cron", "simple", "once", "none")
# A manual-only schedule (§5): valid, and never fires; its job runs when someone runs it.
MANUAL = "none"
GAP_CHOICES = ("shift", "skip")
REPEAT_CHOICES = ("first", "both")

ONE_DAY = timedelta(days=1)
ONE_SECOND = timedelta(seconds=1)
ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class DstPolicy:
    """How a fixed-time job treats a local time that is skipped (gap) or happens twice (repeat)."""

    gap: str = "shift"
    repeat: str = "first"

    def __post_init__(self) -> None:
        if self.gap not in GAP_CHOICES:
            raise ScheduleError("dstPolicy", f"Invalid dstPolicy gap '{self.gap}': expected 'shift' or 'skip'.")
        if self.repeat not in REPEAT_CHOICES:
            raise ScheduleError("dstPolicy", f"Invalid dstPolicy repeat '{self.repeat}': expected 'first' or 'both'.")


DEFAULT_POLICY = DstPolicy()


@dataclass(frozen=True, slots=True)
class FireTime:
    """One occurrence of a schedule."""

    at: datetime  # UTC
    local: datetime  # aware, in the schedule's zone
    shifted: bool = False  # a DST gap moved it off its nominal wall-clock time
    merged: bool = False  # in a repeated hour, this fire stands for both nominal occurrences
    fold: int = 0  # 1 for the second occurrence of a repeated local time


@dataclass(frozen=True)
class Schedule:
    """A parsed, validated schedule; build it with `parse_schedule`."""

    interval_type: str
    interval: str | None
    timezone: str
    zone: ZoneInfo
    dst_policy: DstPolicy
    start: datetime | None  # UTC, inclusive
    end: datetime | None  # UTC, inclusive
    cron: CronSpec | None = None
    every: Every | None = None
    anchor: datetime | None = None  # UTC; the first fire of a simple interval, the only one of `once`
    anchor_wall: datetime | None = None  # naive local time the anchor nominally stands for
    anchor_shifted: bool = False  # the anchor's local time fell in a gap


def validate_timezone(name: str) -> ZoneInfo:
    """Return the ZoneInfo for an IANA time zone name; ScheduleError("timezone") if unknown."""
    try:
        return load_zone(name)
    except UnknownTimeZone as error:
        raise ScheduleError("timezone", str(error)) from None


def parse_dst_policy(value: dict | DstPolicy | None) -> DstPolicy:
    """Read a dstPolicy object such as {"gap": "skip"}; ScheduleError("dstPolicy") if invalid."""
    if value is None:
        return DEFAULT_POLICY
    if isinstance(value, DstPolicy):
        return value
    if not isinstance(value, dict):
        raise ScheduleError("dstPolicy", 'dstPolicy must be an object such as {"gap": "shift", "repeat": "first"}.')
    for key in value:
        if key not in ("gap", "repeat"):
            raise ScheduleError("dstPolicy", f"Unknown dstPolicy key '{key}': expected 'gap' or 'repeat'.")
    return DstPolicy(gap=value.get("gap", "shift"), repeat=value.get("repeat", "first"))


def parse_schedule(
    *,
    interval: str | None,
    interval_type: str,
    timezone: str,
    start_on: date | datetime | None = None,
    end_on: date | datetime | None = None,
    dst_policy: dict | DstPolicy | None = None,
    anchor: datetime | None = None,
) -> Schedule:
    """Validate a schedule's API fields and return it parsed; ScheduleError names the first bad field."""
    if interval_type not in INTERVAL_TYPES:
        raise ScheduleError(
            "intervalType",
            f"Unknown intervalType '{interval_type}': expected 'cron', 'simple', 'once' or 'none'.",
        )
    zone = validate_timezone(timezone)
    policy = parse_dst_policy(dst_policy)
    cron = _parse_cron_interval(interval) if interval_type == "cron" else None
    every = parse_simple_interval(interval) if interval_type == "simple" else None

    start = _read_bound(start_on, zone, "startOn")
    end = _read_bound(end_on, zone, "endOn")
    if start is not None and end is not None and end[0] < start[0]:
        assert start_on is not None and end_on is not None  # each bound was read from its value
        raise ScheduleError("endOn", f"endOn {end_on.isoformat()} is before startOn {start_on.isoformat()}.")

    base = Schedule(
        interval_type=interval_type,
        interval=interval,
        timezone=timezone,
        zone=zone,
        dst_policy=policy,
        start=start[0] if start else None,
        end=end[0] if end else None,
    )
    if interval_type == "cron":
        return replace(base, cron=cron)
    if interval_type == MANUAL:
        # Manual-only: an interval, if any, is ignored (as by a once); the bounds were still checked above.
        return base
    # A one-off run needs no interval; whatever is there is ignored.
    if interval_type == "once" and start is None:
        raise ScheduleError("startOn", "A one-off (once) schedule needs startOn: the moment it runs.")
    if start is None:
        # Without startOn a simple interval counts from `anchor`, the moment the schedule was saved.
        if anchor is None:
            anchor = datetime.now(UTC)
        if not isinstance(anchor, datetime):
            raise TypeError(f"anchor must be a datetime, not {type(anchor).__name__}")
        # Truncated, not rounded up like startOn: the series must not begin a moment after it was saved.
        start = _read_bound(anchor.replace(microsecond=0), zone, "startOn")
        assert start is not None  # a datetime is always a bound
    start_at, start_wall, start_shifted = start
    return replace(base, every=every, anchor=start_at, anchor_wall=start_wall, anchor_shifted=start_shifted)


def _parse_cron_interval(interval: str | None) -> CronSpec:
    """Parse the interval of a cron schedule; ScheduleError("interval") if it is not acceptable."""
    if not isinstance(interval, str) or not interval.strip(SEPARATORS):
        raise ScheduleError("interval", "interval is required for cron schedules, e.g. '0 9 * * 1-5'.")
    text = interval.strip(SEPARATORS)
    try:
        return parse_cron(text)
    except CronSyntaxError as error:
        raise ScheduleError("interval", f"Invalid cron expression '{text}': {error}.") from None
    except CronNeverFires:
        raise ScheduleError("interval", f"The cron expression '{text}' can never fire.") from None


def interval_type_for(interval: str | None, *, given: str | None, current: str | None = None) -> str:
    """The intervalType of a write that may leave it out: ``given`` when sent, else read from ``interval``.

    §5 spells a manual-only schedule two ways, ``intervalType: none`` or no interval. Without an
    intervalType a new schedule without an interval is manual-only and one with an interval is cron; a
    cron or simple schedule whose interval is cleared becomes manual-only; a once or a manual-only
    schedule keeps its type. An explicit intervalType is never second-guessed: ``cron`` without an
    interval stays an error naming ``interval``.
    """
    if given is not None:
        return given
    blank = not isinstance(interval, str) or not interval.strip(SEPARATORS)
    if current is None:
        return MANUAL if blank else "cron"
    if current in ("cron", "simple") and blank:
        return MANUAL
    return current


def next_fire_time(schedule: Schedule, after: datetime) -> datetime | None:
    """The first fire strictly after ``after`` as an aware UTC datetime, or None if there is none."""
    for fire in _fires(schedule, _utc_after(after, schedule)):
        return fire[0]
    return None


def iter_fire_times(schedule: Schedule, after: datetime) -> Iterator[FireTime]:
    """Fires strictly after ``after``, lazily and in strictly increasing order."""
    fires = _fires(schedule, _utc_after(after, schedule))
    return (FireTime(*fire) for fire in fires)


def fire_times(schedule: Schedule, after: datetime, count: int) -> list[FireTime]:
    """The first ``count`` fires strictly after ``after`` (fewer if the schedule ends)."""
    if count < 0:
        raise ValueError("count must not be negative")
    return list(islice(iter_fire_times(schedule, after), count))


# --- startOn / endOn -------------------------------------------------------------------------------


def _read_bound(value: object, zone: ZoneInfo, field: str) -> tuple[datetime, datetime, bool] | None:
    """A startOn/endOn value as (UTC instant, nominal local time, shifted), or None if not given.

    A bare date covers that whole local day: startOn is its first instant, endOn its last second.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            wall = value.replace(tzinfo=None, fold=0)
            at = value.replace(tzinfo=zone).astimezone(UTC)
            shifted = at.astimezone(zone).replace(tzinfo=None) != value.replace(tzinfo=None)
            if shifted:
                # A naive time inside a gap means "when the clock gets there", like a shifted job.
                at, _ = earliest(zone, wall)
        else:
            at = value.astimezone(UTC)
            wall = value.astimezone(zone).replace(tzinfo=None, fold=0)
            shifted = False
    elif isinstance(value, date):
        wall = datetime(value.year, value.month, value.day)
        if field == "endOn":
            if value == date.max:
                return datetime.max.replace(tzinfo=UTC, microsecond=0), wall, False
            # Inclusive end of the local day: the last second before the next local midnight.
            at, _ = earliest(zone, wall + ONE_DAY)
            return at - ONE_SECOND, wall, False
        # A midnight that does not exist (e.g. America/Santiago in September) starts when the gap ends.
        at, shifted = earliest(zone, wall)
    else:
        raise ScheduleError(field, f"{field} must be a date or a datetime, not {type(value).__name__}.")
    if at.microsecond:
        # Fires fall on whole seconds: round a start up and an end down so neither bound is crossed.
        at = at.replace(microsecond=0) + (ONE_SECOND if field != "endOn" else timedelta(0))
    return at, wall, shifted


# --- iteration --------------------------------------------------------------------------------------


def _utc_after(after: datetime, schedule: Schedule) -> datetime:
    """Validate ``after`` and fold the startOn bound into it (fires at startOn itself are allowed)."""
    if not isinstance(after, datetime) or after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be an aware datetime")
    after = after.astimezone(UTC)
    if schedule.start is not None and schedule.start - ONE_MICROSECOND > after:
        return schedule.start - ONE_MICROSECOND
    return after


def _fires(schedule: Schedule, after: datetime) -> Iterator[Fire]:
    """Candidate fires within the schedule's bounds, strictly after ``after``, without duplicates."""
    if schedule.cron is not None:
        until = date.max
        if schedule.end is not None and schedule.end.year < 9999:
            # A day later, because a fire of one local day can be shifted past its midnight.
            until = schedule.end.astimezone(schedule.zone).date() + ONE_DAY
        policy = schedule.dst_policy
        candidates = schedule.cron.fires(schedule.zone, after, gap=policy.gap, repeat=policy.repeat, until=until)
    elif schedule.every is not None:
        candidates = simple_fires(schedule, after)
    elif schedule.interval_type == MANUAL:
        return
    else:
        candidates = iter([anchor_fire(schedule)])  # a once is its anchor alone
    end = schedule.end
    last = after
    try:
        for fire in candidates:
            at = fire[0]
            if at <= last:
                # Several nominal times shifted to the end of one gap: they run once.
                continue
            if end is not None and at > end:
                return
            last = at
            yield fire
    except OverflowError:
        # Past year 9999: the calendar ends, and so does the schedule.
        return
