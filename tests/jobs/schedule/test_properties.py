"""Property tests: cron fire times under the default DST policy agree with cronsim.

cronsim implements the same Debian cron rules (fixed-time jobs shift out of gaps and run once in a
repeated hour; wildcard jobs run at real instants only), so on random expressions, zones and start
instants biased towards DST transitions the two must produce the same instants. Two kinds of
disagreement are cronsim's, not ours, and are handled narrowly:

* cronsim drops the ``fold`` of its start. Starting in the second pass of a repeated hour, a
  fixed-time job can then yield an instant at or before the start (``30 1 * * *`` from 01:15 EST on
  2026-11-01 in New York yields 01:30 EDT, 45 minutes earlier). Such instants are discarded.
* For wildcard jobs cronsim steps whole hours and jumps minutes as if local time were uniform, and
  resets a day to a local midnight that may not exist. That loses or invents instants on transition
  days where the shift is not a whole hour at an hour boundary (Australia/Lord_Howe's 30-minute
  shift, Pacific/Chatham's transition at 02:45/03:45) or where midnight is skipped
  (America/Santiago). Only there, and only within a day of a transition, a disagreement is checked
  against a brute-force scan of every real minute instead.
"""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError
from hypothesis import example, given, settings
from hypothesis import strategies as st

from jobs.schedule import ScheduleError, fire_times, iter_fire_times, next_fire_time, parse_schedule

ZONES = (
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Australia/Sydney",
    "Pacific/Chatham",
    "UTC",
    "Asia/Kathmandu",
)
# Zones whose transitions cronsim's whole-hour stepping cannot represent (see the module docstring).
STEPPING_ZONES = {"Australia/Lord_Howe", "Pacific/Chatham", "America/Santiago"}
COUNT = 20

MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]


@cache
def transitions(zone: str) -> tuple[datetime, ...]:
    """The zone's offset changes from 2025 to 2027, found by scanning hours and bisecting to the second."""
    tz = ZoneInfo(zone)
    found = []
    moment = datetime(2025, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(tz).utcoffset()
    while moment.year < 2028:
        following = moment + timedelta(hours=1)
        if following.astimezone(tz).utcoffset() != offset:
            low, high = moment, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            found.append(high.replace(microsecond=0))
            offset = following.astimezone(tz).utcoffset()
        moment = following
    return tuple(found)


# --- expression strategies --------------------------------------------------------------------------


def values(low: int, high: int, names: list[str] | None) -> st.SearchStrategy[str]:
    numbers = st.integers(low, high).map(str)
    if not names:
        return numbers
    named = st.sampled_from(names).flatmap(lambda name: st.sampled_from([name, name.upper(), name.title()]))
    return numbers | named


def spelled(value: int, low: int, names: list[str] | None, use_name: bool) -> str:
    if names and use_name and value - low < len(names):
        return names[value - low]
    return str(value)


@st.composite
def ranges(draw: st.DrawFn, low: int, high: int, names: list[str] | None) -> str:
    # Both ends differ: cronsim reads 'a-a/n' as 'a/n' (every n-th from a), Vixie cron as plain 'a'.
    first = draw(st.integers(low, high - 1))
    last = draw(st.integers(first + 1, high))
    use_name = draw(st.booleans())
    text = f"{spelled(first, low, names, use_name)}-{spelled(last, low, names, use_name)}"
    if draw(st.booleans()):
        text += f"/{draw(st.integers(1, high - low))}"
    return text


def cron_field(low: int, high: int, names: list[str] | None = None) -> st.SearchStrategy[str]:
    single = values(low, high, names)
    return st.one_of(
        st.just("*"),
        st.integers(1, high - low + 1).map(lambda step: f"*/{step}"),
        single,
        st.lists(single, min_size=2, max_size=4).map(",".join),
        ranges(low, high, names),
        st.lists(single | ranges(low, high, names), min_size=2, max_size=3).map(",".join),
    )


expressions = st.tuples(
    cron_field(0, 59),
    cron_field(0, 23),
    cron_field(1, 31),
    cron_field(1, 12, MONTHS),
    cron_field(0, 7, WEEKDAYS),
).map(" ".join)


@st.composite
def starts(draw: st.DrawFn) -> tuple[str, datetime]:
    zone = draw(st.sampled_from(ZONES))
    near = transitions(zone)
    if near and draw(st.integers(0, 4)) > 0:
        # Mostly within a few hours of a transition, where the interesting cases are.
        moment = draw(st.sampled_from(near)) + timedelta(seconds=draw(st.integers(-6 * 3600, 6 * 3600)))
    else:
        moment = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 3 * 365 * 86400)))
    return zone, moment


# --- reference fire times ---------------------------------------------------------------------------


def cronsim_fires(expression: str, zone: str, start: datetime, count: int) -> list[datetime]:
    """cronsim's first ``count`` fires strictly after ``start``, as UTC instants."""
    # cronsim iterates in the zone and wants an aware local start; it returns aware local datetimes.
    iterator = CronSim(expression, start.astimezone(ZoneInfo(zone)))
    fires: list[datetime] = []
    for local in iterator:
        at = local.astimezone(UTC)
        # cronsim forgets the start's fold (see the module docstring), so it can look back in time.
        if at > start:
            fires.append(at)
        if len(fires) == count:
            break
    return fires


def brute_force_fires(expression: str, zone: str, start: datetime, count: int) -> list[datetime]:
    """Wildcard-job fires by testing every real minute of every matching local day (slow, obvious)."""
    tz = ZoneInfo(zone)
    fields = CronSim(expression, datetime(2026, 1, 1, tzinfo=UTC))  # only its parsed fields are used
    fires: list[datetime] = []
    day = start.astimezone(tz).date() - timedelta(days=1)
    while len(fires) < count and day < date(2200, 1, 1):
        if day.month in fields.months and fields.match_day(day):
            # Every instant whose local date is `day` lies within these 54 hours of UTC.
            moment = datetime.combine(day, time(), UTC) - timedelta(hours=15)
            for _ in range(54 * 60):
                local = moment.astimezone(tz)
                if (
                    moment > start
                    and local.date() == day
                    and local.hour in fields.hours
                    and local.minute in fields.minutes
                ):
                    fires.append(moment)
                moment += timedelta(minutes=1)
        day += timedelta(days=1)
    return sorted(fires)[:count]


def near_transition(zone: str, moment: datetime) -> bool:
    """Whether the zone's offset changes within a day (and a bit) of ``moment``."""
    tz, margin = ZoneInfo(zone), timedelta(hours=26)
    return (moment - margin).astimezone(tz).utcoffset() != (moment + margin).astimezone(tz).utcoffset()


# --- the property -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, derandomize=True)
@given(expression=expressions, case=starts())
# cronsim's fold-less start: it yields 01:30 EDT (05:30Z), before the start.
@example(expression="30 1 * * *", case=("America/New_York", datetime(2026, 11, 1, 6, 15, tzinfo=UTC)))
# Hour stepping over Lord_Howe's 30-minute fall-back skips the repeated 01:36.
@example(expression="36 * * * *", case=("Australia/Lord_Howe", datetime(2026, 4, 4, 12, 0, tzinfo=UTC)))
# Chatham's hour 3 exists only from 03:45 on the spring-forward day.
@example(expression="*/5 3 * * *", case=("Pacific/Chatham", datetime(2026, 9, 26, 12, 0, tzinfo=UTC)))
# cronsim resets to Santiago's non-existent midnight and fires there.
@example(expression="*/30 0 * 9 sun", case=("America/Santiago", datetime(2026, 9, 1, 12, 0, tzinfo=UTC)))
def test_cron_matches_cronsim(expression: str, case: tuple[str, datetime]) -> None:
    zone, start = case
    try:
        schedule = parse_schedule(interval=expression, interval_type="cron", timezone=zone)
    except ScheduleError as error:
        # Only "can never fire" is possible for generated syntax; cronsim must reject it as well.
        assert "can never fire" in error.message
        try:
            CronSim(expression, start)
        except CronSimError:
            return
        raise AssertionError(f"cronsim accepts {expression!r}, which we rejected: {error}") from None

    ours = [fire.at for fire in fire_times(schedule, start, COUNT)]
    assert all(at.tzinfo is UTC and at.microsecond == 0 and at > start for at in ours)
    assert all(earlier < later for earlier, later in itertools.pairwise(ours))

    theirs = cronsim_fires(expression, zone, start, COUNT)
    if ours == theirs:
        return
    assert schedule.cron is not None
    differ = next((index for index, (mine, its) in enumerate(zip(ours, theirs, strict=False)) if mine != its), None)
    assert differ is not None, f"{expression!r} in {zone}: {len(ours)} fires, cronsim {len(theirs)}"
    context = f"{expression!r} in {zone} after {start.isoformat()}: ours {ours[differ]}, cronsim {theirs[differ]}"
    # The only accepted disagreements: cronsim's stepping on wildcard jobs near odd transitions.
    assert not schedule.cron.fixed_time, context
    assert zone in STEPPING_ZONES, context
    assert near_transition(zone, min(ours[differ], theirs[differ])), context
    assert ours == brute_force_fires(expression, zone, start, COUNT), context


# --- engine invariants beyond cronsim ---------------------------------------------------------------

POLICIES = st.sampled_from([None, {"gap": "skip"}, {"repeat": "both"}, {"gap": "skip", "repeat": "both"}])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(expression=expressions, case=starts(), policy=POLICIES)
def test_cron_series_can_be_resumed_anywhere(expression: str, case: tuple[str, datetime], policy: dict | None) -> None:
    """Asking again from any fire (or just before it) continues the same series: what the scheduler does."""
    zone, start = case
    try:
        schedule = parse_schedule(interval=expression, interval_type="cron", timezone=zone, dst_policy=policy)
    except ScheduleError:
        return
    fires = [fire.at for fire in fire_times(schedule, start, 12)]
    assert all(earlier < later for earlier, later in itertools.pairwise(fires))
    for earlier, later in itertools.pairwise(fires):
        assert next_fire_time(schedule, earlier) == later
        assert next_fire_time(schedule, later - timedelta(seconds=1)) == later


@settings(max_examples=150, deadline=None, derandomize=True)
@given(expression=expressions, case=starts())
def test_policies_only_change_skipped_and_repeated_times(expression: str, case: tuple[str, datetime]) -> None:
    """gap=skip drops exactly the shifted fires; repeat=both adds exactly the second pass of merged ones."""
    zone, start = case
    try:
        default = parse_schedule(interval=expression, interval_type="cron", timezone=zone)
    except ScheduleError:
        return
    horizon = fire_times(default, start, 30)[-1].at

    def series(schedule_start: datetime, policy: dict | None) -> list:
        schedule = parse_schedule(interval=expression, interval_type="cron", timezone=zone, dst_policy=policy)
        return list(itertools.takewhile(lambda f: f.at <= horizon, iter_fire_times(schedule, schedule_start)))

    # From a day earlier, so that a merged fire just before `start` still tells of its second pass.
    fires = series(start - timedelta(days=1), None)
    assert [fire.at for fire in series(start, {"gap": "skip"})] == [
        fire.at for fire in fires if fire.at > start and not fire.shifted
    ]
    second_passes = {fire.local.replace(fold=1).astimezone(UTC) for fire in fires if fire.merged}
    both = {fire.at for fire in fires} | second_passes
    assert [fire.at for fire in series(start, {"repeat": "both"})] == sorted(at for at in both if start < at <= horizon)
    if not default.cron.fixed_time:
        assert not any(fire.shifted or fire.merged for fire in fires)


@st.composite
def simple_cases(draw: st.DrawFn) -> tuple[str, str, datetime]:
    unit = draw(st.sampled_from(["day", "days", "week", "weeks", "month", "months"]))
    count = draw(st.integers(1, 13))
    zone = draw(st.sampled_from(ZONES))
    near = transitions(zone)
    if near and draw(st.booleans()):
        # Anchor the local time of day inside or next to a transition's skipped or repeated hour.
        moment = draw(st.sampled_from(near)) + timedelta(minutes=draw(st.integers(-90, 90)))
    else:
        moment = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 3 * 365 * 1440)))
    return f"{count} {unit}", zone, moment


@settings(max_examples=200, deadline=None, derandomize=True)
@given(case=simple_cases(), policy=POLICIES)
def test_calendar_intervals_keep_the_local_time(case: tuple[str, str, datetime], policy: dict | None) -> None:
    """Day/week/month intervals land on the anchor's local time, k whole steps on, unless DST moves them."""
    interval, zone, anchor = case
    tz = ZoneInfo(zone)
    schedule = parse_schedule(
        interval=interval, interval_type="simple", timezone=zone, anchor=anchor, dst_policy=policy
    )
    count, unit = schedule.every.count, schedule.every.unit
    wall = anchor.astimezone(tz).replace(tzinfo=None, fold=0)
    fires = fire_times(schedule, anchor - timedelta(seconds=1), 40)
    assert fires[0].at == anchor
    assert all(earlier.at < later.at for earlier, later in itertools.pairwise(fires))
    for fire in fires[1:]:
        local = fire.local.replace(tzinfo=None)
        if unit == "months":
            months = (local.year - wall.year) * 12 + local.month - wall.month
            assert months % count == 0
            assert local.day == min(wall.day, calendar.monthrange(local.year, local.month)[1])
        else:
            assert (local.date() - wall.date()).days % (count * (7 if unit == "weeks" else 1)) == 0
        if fire.shifted:
            # Moved to the end of a gap: later than the nominal time, by at most the gap (an hour here).
            assert policy is None or policy.get("gap", "shift") == "shift"
            nominal = datetime.combine(local.date(), wall.time())
            assert nominal < local <= nominal + timedelta(hours=1)
        else:
            assert local.time() == wall.time()


# --- any text at all: accepted or a ScheduleError, never another exception (a 500) -------------------

# Cron-like text with the characters that used to slip through: Unicode digits and spaces among ASCII.
CRON_ALPHABET = st.sampled_from([*"0123456789*/,-? \tLW#abcfijmnorstuv", "\u00b2", "\u0661", "\uff11", "\u00a0"])
# Look-alikes of digits and spaces that str.isdigit(), int() or str.split() would have taken.
LOOK_ALIKES = st.sampled_from(["\u00b2", "\u00b9", "\u0661", "\u0665", "\uff11", "\u00a0", "\u3000", "\u2009", "\n"])


@st.composite
def tampered(draw: st.DrawFn) -> str:
    """A valid expression with one character replaced by, or one inserted as, a look-alike."""
    expression = draw(expressions)
    index = draw(st.integers(0, len(expression) - 1))
    keep = draw(st.booleans())
    return expression[: index + keep] + draw(LOOK_ALIKES) + expression[index + 1 :]


cron_like = st.one_of(
    tampered(),
    st.text(CRON_ALPHABET, max_size=40),
    st.text(max_size=40),
    st.lists(st.text(CRON_ALPHABET, min_size=1, max_size=8), min_size=5, max_size=5).map(" ".join),
)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(text=cron_like)
def test_any_text_is_a_cron_expression_or_an_error_naming_interval(text: str) -> None:
    try:
        schedule = parse_schedule(interval=text, interval_type="cron", timezone="UTC")
    except ScheduleError as error:
        assert error.field == "interval"
        return
    # Accepted: then every character was printable ASCII or a tab, and it fires.
    assert all(char == "\t" or (char.isascii() and char.isprintable()) for char in text), repr(text)
    assert next_fire_time(schedule, datetime(2026, 1, 1, tzinfo=UTC)) is not None


simple_like = st.one_of(
    st.builds(
        "{}{}{}".format,
        st.one_of(st.integers(1, 500).map(str), st.sampled_from(["\u0661\u0665", "\uff11", "\u00b2", "1\u0665"])),
        st.sampled_from([" ", "\t", " \t ", "", "\u00a0", "\u3000", "\u2009"]),
        st.sampled_from(["minutes", "hour", "days", "Weeks", "month"]),
    ),
    st.text(st.sampled_from([*"0123456789 \t.+-minuteshourdaywk", "\u0661", "\uff11", "\u00a0", "\u00b2"])),
)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(text=simple_like)
def test_any_text_is_a_simple_interval_or_an_error_naming_interval(text: str) -> None:
    try:
        schedule = parse_schedule(interval=text, interval_type="simple", timezone="UTC")
    except ScheduleError as error:
        assert error.field == "interval"
        return
    assert all(char == "\t" or (char.isascii() and char.isprintable()) for char in text), repr(text)
    assert schedule.every is not None and schedule.every.count >= 1


@settings(max_examples=200, deadline=None, derandomize=True)
@given(name=st.text(max_size=300))
def test_any_text_is_a_time_zone_or_an_error_naming_timezone(name: str) -> None:
    try:
        parse_schedule(interval="@daily", interval_type="cron", timezone=name)
    except ScheduleError as error:
        assert error.field == "timezone"
