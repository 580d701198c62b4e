"""Fire-time engine vs cronsim: 1,000 consecutive fire times per expression and zone, same run.

Usage: ``.venv/bin/python bench/fire_times.py [--repeat 5] [--count 1000] [--json]``

Each case starts two days before the zone's first 2026 transition, so every series crosses DST. Both
sides parse the expression and produce ``count`` fires (ours: FireTime objects; cronsim: aware local
datetimes); our parse cache is cleared before each timed run, so parsing is paid every time. The
figure is the median of ``repeat`` runs. "next" is one parse plus one next-fire-after-X call, the
scheduler's hot path: with the parse cache warm (as in a running scheduler) and cold (first sight of
an expression; croniter's expansion dominates). "same" counts the instants that agree with cronsim.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cronsim import CronSim

from jobs import schedule
from jobs.schedule import cron

EXPRESSIONS = (
    "*/15 * * * *",
    "0 * * * *",
    "30 2 * * *",
    "0 9 * * 1-5",
    "0 0 1 * *",
    "5,35 1-3 * * *",
    "0 2 * * 0",
    "*/5 9-17 * * mon-fri",
)
ZONES = ("America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "America/Santiago")


def first_transition(zone: str, year: int = 2026) -> datetime:
    """The zone's first UTC offset change in ``year``, to the minute."""
    tz = ZoneInfo(zone)
    moment = datetime(year, 1, 1, tzinfo=UTC)
    offset = moment.astimezone(tz).utcoffset()
    while moment.astimezone(tz).utcoffset() == offset:
        moment += timedelta(minutes=15)
    return moment


def median_ms(work: Callable[[], Any], repeat: int, *, cold: bool = True) -> float:
    """Median wall time of ``work`` in ms; ``cold`` empties our parse cache before each run."""
    timings = []
    for _ in range(repeat):
        if cold:
            cron.parse_cron.cache_clear()
        started = time.perf_counter()
        work()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def ours(expression: str, zone: str, start: datetime, count: int) -> list[datetime]:
    parsed = schedule.parse_schedule(interval=expression, interval_type="cron", timezone=zone)
    return [fire.at for fire in schedule.fire_times(parsed, start, count)]


def ours_next(expression: str, zone: str, start: datetime) -> datetime | None:
    parsed = schedule.parse_schedule(interval=expression, interval_type="cron", timezone=zone)
    return schedule.next_fire_time(parsed, start)


def theirs(expression: str, zone: str, start: datetime, count: int) -> list[datetime]:
    iterator = CronSim(expression, start.astimezone(ZoneInfo(zone)))
    return [next(iterator) for _ in range(count)]


def run(
    expressions: tuple[str, ...] = EXPRESSIONS, zones: tuple[str, ...] = ZONES, count: int = 1000, repeat: int = 5
) -> dict[str, Any]:
    """Time every expression in every zone; return the machine, the rows and the totals."""
    rows = []
    for zone in zones:
        start = first_transition(zone) - timedelta(days=2)
        for expression in expressions:
            ours_ms = median_ms(lambda e=expression, z=zone, s=start: ours(e, z, s, count), repeat)
            theirs_ms = median_ms(lambda e=expression, z=zone, s=start: theirs(e, z, s, count), repeat)
            next_cold = median_ms(lambda e=expression, z=zone, s=start: ours_next(e, z, s), repeat * 4)
            next_warm = median_ms(lambda e=expression, z=zone, s=start: ours_next(e, z, s), repeat * 4, cold=False)
            next_theirs = median_ms(lambda e=expression, z=zone, s=start: theirs(e, z, s, 1), repeat * 4)
            ours_at = ours(expression, zone, start, count)
            theirs_at = [local.astimezone(UTC) for local in theirs(expression, zone, start, count)]
            rows.append(
                {
                    "expression": expression,
                    "zone": zone,
                    "start": start.isoformat(),
                    "ours_ms": round(ours_ms, 3),
                    "cronsim_ms": round(theirs_ms, 3),
                    "ratio": round(ours_ms / theirs_ms, 3),
                    "next_ours_us": round(next_warm * 1000, 1),
                    "next_ours_cold_us": round(next_cold * 1000, 1),
                    "next_cronsim_us": round(next_theirs * 1000, 1),
                    "same": sum(1 for mine, its in zip(ours_at, theirs_at, strict=True) if mine == its),
                }
            )
    total_ours = sum(row["ours_ms"] for row in rows)
    total_theirs = sum(row["cronsim_ms"] for row in rows)
    return {
        "machine": {
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "count": count,
        "repeat": repeat,
        "rows": rows,
        "total": {
            "ours_ms": round(total_ours, 3),
            "cronsim_ms": round(total_theirs, 3),
            "ratio": round(total_ours / total_theirs, 3),
        },
    }


def render(result: dict[str, Any]) -> str:
    machine = result["machine"]
    lines = [
        f"bench/fire_times.py | {machine['cpu_count']} cores | Python {machine['python']} | {machine['platform']}",
        f"{result['count']} consecutive fire times, median of {result['repeat']} runs; ratio = ours / cronsim",
        "",
        f"{'expression':22} {'zone':20} {'ours ms':>8} {'cronsim ms':>10} {'ratio':>6}"
        f" {'next us':>8} {'(cold)':>7} {'cronsim us':>10} {'same':>5}",
    ]
    for row in result["rows"]:
        lines.append(
            f"{row['expression']:22} {row['zone']:20} {row['ours_ms']:>8.2f} {row['cronsim_ms']:>10.2f}"
            f" {row['ratio']:>6.2f} {row['next_ours_us']:>8.1f} {row['next_ours_cold_us']:>7.1f}"
            f" {row['next_cronsim_us']:>10.1f} {row['same']:>5}"
        )
    total = result["total"]
    lines.append(f"{'total':43} {total['ours_ms']:>8.2f} {total['cronsim_ms']:>10.2f} {total['ratio']:>6.2f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="Print the results as JSON after the table.")
    options = parser.parse_args()
    result = run(count=options.count, repeat=options.repeat)
    print(render(result))
    if options.json:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
