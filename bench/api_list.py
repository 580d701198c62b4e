"""Benchmark: the permission-filtered job list against the same list for a superuser.

Seeds 100,000 jobs in one tenant and shares 10,000 of them with a user through a team, then measures
``GET /api/jobs`` (query count at limit=1 and limit=100; median latency over repeated requests).

    .venv/bin/python bench/api_list.py [--jobs 100000] [--shared 10000] [--repeat 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

_django.setup("api_list")

from django.contrib.auth.models import Permission  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from informer.models import Team, Tenant, User  # noqa: E402
from informer.services import token_create  # noqa: E402
from jobs.models import Job, JobGroupObjectPermission, JobUserObjectPermission  # noqa: E402

LIMITS = (1, 30, 100)


def seed(total: int, shared: int) -> tuple[User, User]:
    """Create (once) the tenant, the owner, the shared-with user and the jobs."""
    call_command("migrate", verbosity=0)
    tenant, _ = Tenant.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    owner, _ = User.objects.get_or_create(username="bench-owner", defaults={"tenant": tenant})
    reader, _ = User.objects.get_or_create(username="bench-reader", defaults={"tenant": tenant})
    root, _ = User.objects.get_or_create(
        username="bench-root", defaults={"tenant": tenant, "is_superuser": True, "is_staff": True}
    )
    team, _ = Team.objects.get_or_create(name="bench-readers", defaults={"tenant": tenant})
    reader.groups.add(team)
    have = Job.objects.filter(tenant=tenant).count()
    if have >= total:
        return reader, root
    view = Permission.objects.get(content_type__app_label="jobs", codename="view_job")
    owner_perms = list(Permission.objects.filter(content_type__app_label="jobs"))
    batch = 5000
    with transaction.atomic():
        for start in range(have, total, batch):
            jobs = [
                Job(
                    id=uuid.uuid4(),
                    tenant=tenant,
                    owner=owner,
                    type="email",
                    name=f"Job {index:06d}",
                    slug=f"job-{index:06d}",
                    interval="0 8 * * *",
                )
                for index in range(start, min(start + batch, total))
            ]
            Job.objects.bulk_create(jobs)
            JobUserObjectPermission.objects.bulk_create(
                [JobUserObjectPermission(user=owner, permission=p, content_object=j) for j in jobs for p in owner_perms]
            )
            # Every tenth job is shared with the team: 10,000 of 100,000, spread over the name order.
            JobGroupObjectPermission.objects.bulk_create(
                [
                    JobGroupObjectPermission(group=team, permission=view, content_object=j)
                    for i, j in enumerate(jobs, start=start)
                    if i % (total // shared) == 0
                ]
            )
    return reader, root


def measure(client: APIClient, url: str, repeat: int) -> tuple[float, int, int]:
    """Median latency in ms, the query count, and the total the list reports."""
    response = client.get(url)
    assert response.status_code == 200, response.content[:300]
    queries: list[str] = []

    def count(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        queries.append(sql)
        return execute(sql, params, many, context)

    # The test client resets Django's own query log at each request, so count at the cursor.
    with connection.execute_wrapper(count):
        client.get(url)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), len(queries), response.json()["total"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--shared", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    reader, root = seed(args.jobs, args.shared)
    print(_django.header("bench/api_list.py"))
    rows = []
    for label, user in (("shared user (permission filter)", reader), ("superuser (no filter)", root)):
        # A bearer token, as integrations call it: its lookup is part of the measured query count.
        _, secret = token_create(user=user, name="bench")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        for limit in LIMITS:
            median, queries, total = measure(client, f"/api/jobs?limit={limit}", args.repeat)
            rows.append((label, limit, total, queries, median))
    print(f"{'caller':34} {'limit':>5} {'total':>7} {'queries':>7} {'median ms':>10}")
    for label, limit, total, queries, median in rows:
        print(f"{label:34} {limit:>5} {total:>7} {queries:>7} {median:>10.2f}")
    filtered = {limit: median for label, limit, _, _, median in rows if label.startswith("shared")}
    plain = {limit: median for label, limit, _, _, median in rows if label.startswith("superuser")}
    for limit in LIMITS:
        print(f"ratio filtered/superuser at limit={limit}: {filtered[limit] / plain[limit]:.2f}")
    counts = {limit: queries for label, limit, _, queries, _ in rows if label.startswith("shared")}
    same = counts[1] == counts[100]
    print(f"query count limit=1: {counts[1]}, limit=100: {counts[100]} (same: {same}, at most 8: {counts[100] <= 8})")


if __name__ == "__main__":
    main()
