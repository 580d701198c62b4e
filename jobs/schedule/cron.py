"""Cron expressions for the schedule engine: strict 5-field syntax, expanded with croniter, iterated fast.

croniter parses and expands the fields; iteration is our own, over the expanded sets in local time
(matching days of each month, then the day's times), converted with ``jobs.schedule.wallclock``.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter

from jobs.schedule.wallclock import Fire, earliest, resolve, steady_offset

__all__ = ["SEPARATORS", "CronNeverFires", "CronSpec", "CronSyntaxError", "describe_character", "parse_cron"]

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

# (name, lowest, highest); day-of-week accepts 0-7 with both 0 and 7 meaning Sunday.
FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)
# Spelled out rather than taken from calendar.month_abbr, which follows the process locale.
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTH_NAMES = {name: number for number, name in enumerate(MONTHS, start=1)}
DAY_NAMES = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}
NAMES = {3: MONTH_NAMES, 4: DAY_NAMES}
ONE_DAY = timedelta(days=1)
# February counts as 29 days: an expression is only "never" if no year at all can match it.
LONGEST_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# ASCII only: with IGNORECASE alone, [a-z] would also match U+017F (long s) and U+212A (Kelvin sign).
_TERM = re.compile(
    r"^(?:(?P<star>\*)|(?P<low>[0-9a-z]+)(?:-(?P<high>[0-9a-z]+))?)(?:/(?P<step>[^/]*))?$", re.IGNORECASE | re.ASCII
)
_LAST_OR_WEEKDAY = re.compile(r"^(?:l|lw|[0-9]+l|l-?[0-9]+|[0-9]+w|w[0-9]+)$", re.IGNORECASE | re.ASCII)
# Fields are separated by ASCII spaces and tabs only (spec §5): str.split() would also split on a
# no-break or an ideographic space, which then passes for a separator.
_SEPARATOR = re.compile(r"[ \t]+")
SEPARATORS = " \t"
# Longer runs of digits (leading zeros aside) are out of every field's range; int() is never asked to
# convert thousands of digits.
_MAX_DIGITS = 9


class CronSyntaxError(ValueError):
    """The expression is malformed; the message says what, without repeating the expression."""


class CronNeverFires(ValueError):
    """The expression is well formed but no calendar date can match it."""


@dataclass(frozen=True)
class CronSpec:
    """A parsed cron expression: the allowed values of each field, ready for fast iteration."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: tuple[int, ...]
    weekdays: frozenset[int]  # Python numbering: Monday is 0, Sunday is 6
    day_or: bool  # Vixie cron: with both day fields restricted, either one may match
    fixed_time: bool  # neither minute nor hour starts with '*': one run per local day (Debian DST rules)
    times: tuple[int, ...]  # every allowed minute of the day (hour * 60 + minute), ascending
    clock: tuple[tuple[int, int], ...]  # the same as (hour, minute) pairs
    _month_days: dict[tuple[int, int], tuple[int, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def matching_days(self, year: int, month: int) -> tuple[int, ...]:
        """The days of ``month`` that match the day-of-month/day-of-week fields."""
        first_weekday, length = calendar.monthrange(year, month)
        key = (first_weekday, length)
        days = self._month_days.get(key)
        if days is None:
            # A month's matches depend only on its length and on which weekday it starts; 28 shapes.
            days = tuple(day for day in range(1, length + 1) if self._day_matches(day, (first_weekday + day - 1) % 7))
            self._month_days[key] = days
        return days

    def _day_matches(self, day: int, weekday: int) -> bool:
        if self.day_or:
            return day in self.days or weekday in self.weekdays
        return day in self.days and weekday in self.weekdays

    def iter_days(self, start: date) -> Iterator[date]:
        """Matching dates from ``start`` on, ascending, until the end of year 9999."""
        year, month, first = start.year, start.month, start.day
        months = self.months
        while year <= 9999:
            if month in months:
                for day in self.matching_days(year, month):
                    if day >= first:
                        yield date(year, month, day)
            first = 1
            month += 1
            if month == 13:
                year, month = year + 1, 1

    def fires(
        self, zone: ZoneInfo, after: datetime, *, gap: str, repeat: str, until: date = date.max
    ) -> Iterator[Fire]:
        """Fires in increasing order from the local day before ``after`` (UTC) through local day ``until``."""
        # Fires at or before `after` may come first, and a time shifted out of a gap may repeat the
        # instant of the fire before it: the caller drops both.
        local_after = after.astimezone(zone)
        after_day = local_after.date()
        after_minute = local_after.hour * 60 + local_after.minute
        times, clock = self.times, self.clock
        # Fires of a day with a transition wait here until no later day can produce an earlier instant.
        pending: list[Fire] = []
        known_day, known_offset = None, None
        # The day before too: a time shifted over midnight, or a repeated hour, can land after `after`.
        for day in self.iter_days(after_day - ONE_DAY):
            if day > until:
                break
            offset = known_offset if day == known_day else steady_offset(zone, day)
            known_day = day + ONE_DAY
            known_offset = steady_offset(zone, known_day)
            year, month, dom = day.year, day.month, day.day
            if pending:
                # Nothing from this day or later can precede the day's own first instant.
                if offset is not None:
                    floor = datetime(year, month, dom, tzinfo=UTC) - offset
                else:
                    floor, _ = earliest(zone, datetime(year, month, dom))
                ready = 0
                while ready < len(pending) and pending[ready][0] < floor:
                    yield pending[ready]
                    ready += 1
                del pending[:ready]
            # tzdata never has two transitions less than days apart, so equal offsets at both
            # midnights mean no transition in between.
            if offset is not None and offset == known_offset:
                # No transition today: every local time exists once and one offset converts them all.
                if day < after_day:
                    continue
                start = bisect_right(times, after_minute) if day == after_day else 0
                plain = (_plain_fire(zone, offset, year, month, dom, hour, minute) for hour, minute in clock[start:])
                if not pending:
                    yield from plain
                    continue
                pending.extend(plain)
            else:
                for hour, minute in clock:
                    wall = datetime(year, month, dom, hour, minute)
                    pending.extend(resolve(zone, wall, fixed=self.fixed_time, gap=gap, repeat=repeat))
            pending.sort()
        yield from pending


def _plain_fire(zone: ZoneInfo, offset: timedelta, year: int, month: int, day: int, hour: int, minute: int) -> Fire:
    return (
        datetime(year, month, day, hour, minute, tzinfo=UTC) - offset,
        datetime(year, month, day, hour, minute, tzinfo=zone),
        False,
        False,
        0,
    )


@lru_cache(maxsize=1024)
def parse_cron(expression: str) -> CronSpec:
    """Parse and validate a 5-field cron expression or an @alias; raise CronSyntaxError/CronNeverFires."""
    text = expression.strip(SEPARATORS)
    if text.startswith("@"):
        if text.lower() not in ALIASES:
            known = ", ".join(ALIASES)
            raise CronSyntaxError(f"unknown alias '{text}'; use one of {known}")
        text = ALIASES[text.lower()]
    parts = _SEPARATOR.split(text) if text else []
    for index, part in enumerate(parts[: len(FIELDS)]):
        _check_characters(index, part)
    if len(parts) != 5:
        hint = " (seconds and years are not supported)" if len(parts) in (6, 7) else ""
        raise CronSyntaxError(f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}{hint}")

    canonical = [_canonical_field(index, part) for index, part in enumerate(parts)]
    try:
        expanded, nth = croniter.expand(" ".join(canonical))
    except CroniterError as error:  # pragma: no cover - the canonical form is always valid croniter input
        raise CronSyntaxError(str(error)) from error
    assert not nth, "canonical expressions never use the nth-weekday syntax"

    values = [_values(index, items) for index, items in enumerate(expanded)]
    minutes, hours, days, months, cron_weekdays = values
    # The star test is on the text, as Vixie and Debian cron do: '*/2' counts as unrestricted.
    day_or = not (parts[2].startswith("*") or parts[4].startswith("*"))
    if not day_or and min(days) > max(LONGEST_MONTH[month] for month in months):
        raise CronNeverFires(expression)
    clock = tuple((hour, minute) for hour in sorted(hours) for minute in sorted(minutes))
    return CronSpec(
        expression=expression,
        minutes=tuple(sorted(minutes)),
        hours=tuple(sorted(hours)),
        days=frozenset(days),
        months=tuple(sorted(months)),
        weekdays=frozenset((weekday - 1) % 7 for weekday in cron_weekdays),
        day_or=day_or,
        fixed_time=not (parts[0].startswith("*") or parts[1].startswith("*")),
        times=tuple(hour * 60 + minute for hour, minute in clock),
        clock=clock,
    )


def _values(index: int, items: Sequence[int | str]) -> set[int]:
    """croniter's expansion of one field as a set of numbers ('*' means the whole range)."""
    _, low, high = FIELDS[index]
    if "*" in items:
        return set(range(low, high + 1))
    return {int(item) for item in items}


def _canonical_field(index: int, text: str) -> str:
    """Check one field and rewrite it with numbers only and no shapes croniter reads differently.

    croniter accepts more than classic cron (L, W, #, ?, H, wrapping ranges) and reads a few shapes
    unlike Vixie cron ('3-3' as the whole cycle, '5/1' in day-of-week without Sunday), so only the
    plain shapes reach it: 'a', 'a-b' and 'a-b/n' with a < b.
    """
    name, low, high = FIELDS[index]
    terms = []
    for term in text.split(","):
        if not term:
            raise CronSyntaxError(f"empty list item in the {name} field")
        if "?" in term:
            raise CronSyntaxError(f"'?' is not supported in the {name} field; use '*'")
        if "#" in term:
            raise CronSyntaxError("'#' (nth weekday of the month) is not supported")
        match = _TERM.match(term)
        if match is None:
            raise CronSyntaxError(f"'{term}' is not a valid {name} value")
        step = 1
        if match["step"] is not None:
            given = _whole_number(match["step"])
            if given is None:
                raise CronSyntaxError(f"step '{match['step']}' in the {name} field is not a whole number")
            step = given
            if step == 0:
                raise CronSyntaxError(f"step 0 in the {name} field must be at least 1")
            if step > high - low + 1:
                # A step past the field's whole range is a typo, not a request for the first value alone.
                raise CronSyntaxError(
                    f"step {match['step']} in the {name} field is larger than the field's range {low}-{high}"
                )
        if match["star"]:
            first, last = low, high
        else:
            first = _number(index, match["low"])
            if match["high"] is not None:
                last = _number(index, match["high"])
                if index == 4 and last == 0 and first > 0 and match["high"].lower() == "sun":
                    # Vixie cron: 'fri-sun' ends the week on Sunday as 7 ('fri-0' stays reversed).
                    last = 7
                if last < first:
                    hint = "; write 7 for Sunday at the end of a range" if index == 4 and last == 0 else ""
                    raise CronSyntaxError(f"range {match['low']}-{match['high']} in the {name} field is reversed{hint}")
            elif match["step"] is not None:
                last = high  # 'a/n' means every n-th value from a to the end of the field
            else:
                last = first
        if first == last:
            # One value, step or not, as in Vixie cron ('5-5/10' is 5; cronsim would read 5,15,...,55).
            terms.append(str(first))
        else:
            terms.append(f"{first}-{last}/{step}" if step > 1 else f"{first}-{last}")
    return ",".join(terms)


def _number(index: int, token: str) -> int:
    """One value of a field: digits or, for months and weekdays, a three-letter English name."""
    name, low, high = FIELDS[index]
    value = _whole_number(token)
    if value is not None:
        if not low <= value <= high:
            raise CronSyntaxError(f"{name} {token} is out of range {low}-{high}")
        return value
    names = NAMES.get(index, {})
    if token.lower() in names:
        return names[token.lower()]
    if index in (2, 4) and _LAST_OR_WEEKDAY.match(token):
        raise CronSyntaxError("'L' (last) and 'W' (nearest weekday) are not supported")
    if names:
        raise CronSyntaxError(f"'{token}' is not a valid {name}; use {low}-{high} or a three-letter name")
    raise CronSyntaxError(f"'{token}' is not a valid {name} value")


def _whole_number(text: str) -> int | None:
    """ASCII digits as a number (None for anything else); more than ``_MAX_DIGITS`` digits is ``10**9``."""
    # str.isdigit() alone also accepts superscripts, which int() refuses, and Arabic-Indic digits, which it reads.
    if not (text.isascii() and text.isdigit()):
        return None
    significant = text.lstrip("0")
    return int(significant or "0") if len(significant) <= _MAX_DIGITS else 10**_MAX_DIGITS


def _check_characters(index: int, text: str) -> None:
    """Refuse anything but printable ASCII in a field, naming the character and the field."""
    for char in text:
        if not (char.isascii() and char.isprintable()):
            raise CronSyntaxError(
                f"{describe_character(char)} in the {FIELDS[index][0]} field is not allowed: a field holds "
                "ASCII digits 0-9, names and * , - / and fields are separated by spaces or tabs"
            )


def describe_character(char: str) -> str:
    """``U+00A0 (NO-BREAK SPACE)``: a character named so that invisible ones can be told apart."""
    name = unicodedata.name(char, "") or ("a control character" if unicodedata.category(char) == "Cc" else "")
    return f"U+{ord(char):04X} ({name})" if name else f"U+{ord(char):04X}"
