"""Benchmark: ``GET /api/job-fire-times?count=1000`` end to end, against the engine alone in the same run.

Each case asks for 1,000 fire times of a cron expression in a DST zone, starting two days before the
zone's first 2026 transition (so every series crosses DST), through Django's test client with a bearer
token, as an integration would call it: URL routing, middleware, token authentication, query
validation, the engine and JSON rendering. After one warm-up request, ``--requests`` requests are
timed one by one; the figures are their median and p95 (nearest rank). "engine ms" is the median time
of what the view computes (``parse_schedule`` then ``fire_times`` for the same 1,000 instants, with the
parse cache warm, as it is in a running server) over the same number of runs, so "ratio" is what the
HTTP layer costs on top of the engine. Target: median < 100 ms.

Runs against ``var/bench-fire_times_api.sqlite3`` unless DATABASE_URL is set.

    .venv/bin/python bench/fire_times_api.py [--requests 30] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django
from fire_times import first_transition  # the engine benchmark's starting points

_django.setup("fire_times_api")

from django.core.management import call_command  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from informer.models import Tenant, User  # noqa: E402
from informer.services import token_create  # noqa: E402
from jobs import schedule  # noqa: E402

COUNT = 1000
TARGET_MS = 100.0
CASES = (
    ("30 2 * * *", "America/New_York"),
    ("*/15 * * * *", "Europe/Berlin"),
    ("0 9 * * 1-5", "Australia/Lord_Howe"),
    ("5,35 1-3 * * *", "America/Santiago"),
    ("*/5 9-17 * * mon-fri", "Europe/London"),
)


def bench_client() -> APIClient:
    """A client sending a fresh bearer token of the bench user (tenant and user made once)."""
    call_command("migrate", verbosity=0)
    tenant, _ = Tenant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    user, _ = User.objects.get_or_create(username="bench-fire-times", defaults={"tenant": tenant})
    _, secret = token_create(user=user, name="bench fire times")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def engine(expression: str, zone: str, after: datetime) -> list[schedule.FireTime]:
    """What the view computes for the query."""
    parsed = schedule.parse_schedule(interval=expression, interval_type="cron", timezone=zone)
    return schedule.fire_times(parsed, after, COUNT)


def p95(timings: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(timings)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


def run(requests: int = 30) -> dict[str, Any]:
    """Time every case through the API and through the engine; return the machine, the rows and a verdict."""
    client = bench_client()
    rows = []
    for expression, zone in CASES:
        after = first_transition(zone) - timedelta(days=2)
        url = "/api/job-fire-times?" + urlencode(
            {"interval": expression, "timezone": zone, "after": after.isoformat(), "count": COUNT}
        )
        warm = client.get(url)
        assert warm.status_code == 200, warm.content[:300]
        expected = [fire.at.strftime("%Y-%m-%dT%H:%M:%SZ") for fire in engine(expression, zone, after)]
        same = warm.json()["fireTimes"] == expected
        api_ms = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(url)
            api_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        engine_ms = []
        for _ in range(requests):
            started = time.perf_counter()
            engine(expression, zone, after)
            engine_ms.append((time.perf_counter() - started) * 1000)
        median = statistics.median(api_ms)
        engine_median = statistics.median(engine_ms)
        rows.append(
            {
                "expression": expression,
                "zone": zone,
                "after": after.isoformat(),
                "fire_times": len(expected),
                "same_as_engine": same,
                "median_ms": round(median, 2),
                "p95_ms": round(p95(api_ms), 2),
                "engine_ms": round(engine_median, 2),
                "ratio": round(median / engine_median, 2),
            }
        )
    return {
        "header": _django.header("bench/fire_times_api.py"),
        "requests": requests,
        "count": COUNT,
        "rows": rows,
        "target_median_ms": TARGET_MS,
        "target_met": all(row["median_ms"] < TARGET_MS and row["same_as_engine"] for row in rows),
    }


def render(result: dict[str, Any]) -> str:
    lines = [
        result["header"],
        f"GET /api/job-fire-times?count={result['count']} (bearer token), {result['requests']} requests per case;"
        " engine = parse_schedule + fire_times; ratio = endpoint median / engine median",
        "",
        f"{'expression':22} {'zone':20} {'fires':>5} {'same':>5} {'median ms':>9} {'p95 ms':>7}"
        f" {'engine ms':>9} {'ratio':>6}",
    ]
    for row in result["rows"]:
        lines.append(
            f"{row['expression']:22} {row['zone']:20} {row['fire_times']:>5}"
            f" {'yes' if row['same_as_engine'] else 'NO':>5} {row['median_ms']:>9.2f} {row['p95_ms']:>7.2f}"
            f" {row['engine_ms']:>9.2f} {row['ratio']:>6.2f}"
        )
    verdict = "met" if result["target_met"] else "NOT met"
    lines.append(f"target: median < {result['target_median_ms']:.0f} ms in every case: {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30, help="Timed requests per case (default 30).")
    parser.add_argument("--json", action="store_true", help="Print the results as JSON after the table.")
    options = parser.parse_args()
    result = run(requests=options.requests)
    print(render(result))
    if options.json:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
