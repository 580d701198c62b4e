"""Benchmark: the jobs list and detail served by gunicorn under load, against bare DRF views of the same model.

Creates its own database (PostgreSQL by default: ``informer_bench_http`` on the local server; any
``DATABASE_URL`` whose database name contains ``bench``), seeds it through the API (one tenant, a user
who owns the jobs and reads them with a bearer token, a colleague and a team each given a share of
every job, every job with tags and two actions), and starts ``gunicorn`` with ``--workers`` sync
workers on a loopback port, once per ``DB_CONN_MAX_AGE`` value. A small asyncio client keeps
``--concurrency`` requests in flight (one connection each, as gunicorn's sync workers close it) for at
most ``--seconds`` or ``--requests`` per phase, alternating in each round:

* ``GET /bench/bare/jobs?limit=100`` then ``GET /api/jobs?limit=100``
* ``GET /bench/bare/jobs/{id}`` then ``GET /api/jobs/{id}`` (the ids taken in turn)

The bare views (``bench/_http_urls.py``) are a plain DRF ``ListAPIView``/``RetrieveAPIView`` with
``LimitOffsetPagination`` and no authentication or permissions; the figures are reported as ratios to
them. Each phase also gives the CPU milliseconds per request of gunicorn, PostgreSQL and this client,
read from ``/proc``. Then ``--profile`` looks inside one list request in-process (Django's test
client): queries and their time, connection setup, and a cProfile breakdown. The database is
dropped at the end unless ``--keep``.

    .venv/bin/python bench/api_http.py [--jobs 300] [--rounds 3] [--seconds 8] [--concurrency 6]
    .venv/bin/python bench/api_http.py --keep --no-load     # seed once, profile only
    .venv/bin/python bench/api_http.py --keep --reuse ...   # then again on the same data
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/informer_bench_http"
LOG_DIR = ROOT / "var" / "bench-logs"

# Before Django reads its settings: the benchmark's URLconf, production's DEBUG, its own database.
os.environ["DJANGO_SETTINGS_MODULE"] = "bench._http_settings"
os.environ["DEBUG"] = "0"
os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
_DB_NAME = urlsplit(os.environ["DATABASE_URL"]).path.rsplit("/", 1)[-1]
if "bench" not in _DB_NAME:
    raise SystemExit(f"Refusing to use database {_DB_NAME!r}: this benchmark resets it; its name must contain 'bench'.")

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django  # noqa: E402
import _tasks  # noqa: E402

_django.setup("api_http")

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from informer.models import User  # noqa: E402
from informer.services import team_create, tenant_create, token_create, user_create  # noqa: E402
from jobs.models import Job  # noqa: E402

LIST_LIMIT = 100
EMAIL_DATA = {"to": "ops@example.com", "subject": "Nightly report"}


# --- Seeding ------------------------------------------------------------------------------------


@dataclass
class Seeded:
    secret: str
    job_ids: list[str]


def reuse() -> Seeded | None:
    """What an earlier ``--keep`` run seeded, with a new token; None when there is nothing to reuse."""
    _tasks.fresh_database(keep=True)
    caller = User.objects.filter(username="bench-http").first()
    if caller is None:
        return None
    _, secret = token_create(user=caller, name="bench")
    job_ids = [str(pk) for pk in Job.objects.filter(owner=caller).order_by("name").values_list("pk", flat=True)]
    connection.close()
    return Seeded(secret=secret, job_ids=job_ids)


def seed(job_count: int) -> Seeded:
    """A fresh schema, then the tenant, the users and the jobs, all written through the API."""
    _tasks.fresh_database()
    tenant = tenant_create(slug="bench", name="Bench", timezone_name="Europe/Berlin")
    caller = user_create(username="bench-http", tenant=tenant)
    colleague = user_create(username="bench-http-colleague", tenant=tenant)
    team = team_create(tenant=tenant, name="bench-http-team")
    colleague.groups.add(team)
    _, secret = token_create(user=caller, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def call(method: str, url: str, body: dict[str, Any], expected: int) -> dict[str, Any]:
        response = getattr(client, method)(url, body, format="json")
        if response.status_code != expected:
            raise SystemExit(
                f"seeding: {method.upper()} {url} answered {response.status_code}: {response.content[:300]!r}"
            )
        return response.json()

    job_ids = []
    for index in range(job_count):
        job = call(
            "post",
            "/api/jobs",
            {
                "type": "email",
                "name": f"Report {index:04d}",
                "description": "A nightly report for the operations team.",
                "interval": "0 8 * * 1-5",
                "tags": ["nightly", f"team-{index % 5}"],
            },
            201,
        )
        for number in (1, 2):
            call(
                "post",
                f"/api/jobs/{job['id']}/actions",
                {"type": "email", "name": f"Notify {number}", "data": EMAIL_DATA},
                201,
            )
        call("put", f"/api/jobs/{job['id']}/shares/user:{colleague.pk}", {"accessLevel": 1}, 200)
        call("put", f"/api/jobs/{job['id']}/shares/group:{team.pk}", {"accessLevel": 2}, 200)
        job_ids.append(job["id"])
    # Fresh tables have no statistics until autovacuum's next pass: PostgreSQL would plan the permission
    # filter as a nested loop over every (job, share) pair (14 ms for the page instead of 2).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    return Seeded(secret=secret, job_ids=job_ids)


def drop_database() -> None:
    """Drop the benchmark's database (PostgreSQL) or delete its file (SQLite)."""
    connection.close()
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{settings_dict['NAME']}{suffix}").unlink(missing_ok=True)
        return
    import psycopg

    params = {
        "dbname": "postgres",
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{settings_dict["NAME"]}" WITH (FORCE)')


# --- gunicorn -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def gunicorn(*, workers: int, conn_max_age: int, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``gunicorn informer.wsgi`` (sync workers) on 127.0.0.1:``port``, stopped however the block ends."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    env = _tasks.subprocess_env(DB_CONN_MAX_AGE=str(conn_max_age))
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--chdir",
        str(ROOT),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "informer.wsgi:application",
    ]
    with open(LOG_DIR / f"api_http-gunicorn-{conn_max_age}.log", "wb") as log:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited with {proc.returncode}; see {log.name}")
            with contextlib.suppress(OSError):
                status, _ = asyncio.run(fetch("127.0.0.1", port, request_bytes(port, "/bench/bare/jobs?limit=1", None)))
                if status == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer within 30 s; see {log.name}")
            time.sleep(0.2)
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


# --- The load generator -------------------------------------------------------------------------


def request_bytes(port: int, path: str, secret: str | None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: application/json", "Connection: close"]
    if secret:
        lines.append(f"Authorization: Bearer {secret}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def fetch(host: str, port: int, raw: bytes) -> tuple[int, bytes]:
    """One request on its own connection; the status and the whole response (read to the server's close)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        data = await reader.read()
    finally:
        writer.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data


@dataclass
class Phase:
    label: str
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    failures: dict[int, int] = field(default_factory=dict)
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


async def _drive(
    port: int, requests: list[bytes], *, concurrency: int, limit: int, seconds: float, phase: Phase
) -> None:
    deadline = time.monotonic() + seconds
    issued = 0

    async def worker() -> None:
        nonlocal issued
        while issued < limit and time.monotonic() < deadline:
            raw = requests[issued % len(requests)]
            issued += 1
            started = time.perf_counter()
            status, _ = await fetch("127.0.0.1", port, raw)
            if status == 200:
                phase.latencies_ms.append((time.perf_counter() - started) * 1000)
            else:
                phase.failures[status] = phase.failures.get(status, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    phase.seconds = time.monotonic() - started


def drive(port: int, label: str, paths: list[str], secret: str | None, **bounds: Any) -> Phase:
    """Keep ``concurrency`` requests in flight over ``paths`` (in turn) until ``limit`` or ``seconds``."""
    phase = Phase(label)
    requests = [request_bytes(port, path, secret) for path in paths]
    before = cpu_by_role()
    asyncio.run(_drive(port, requests, phase=phase, **bounds))
    after = cpu_by_role()
    phase.cpu = {role: after.get(role, 0.0) - before.get(role, 0.0) for role in after}
    if phase.failures:
        raise SystemExit(f"{label}: answers other than 200: {phase.failures}")
    return phase


def cpu_by_role() -> dict[str, float]:
    """CPU seconds so far of gunicorn, PostgreSQL (backends that ended included), this client, the rest."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    totals: dict[str, float] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        used = sum(int(value) for value in fields[11:15]) / tick  # utime, stime, cutime, cstime
        if int(entry.name) == os.getpid():
            role = "client"
        elif "gunicorn" in command:
            role = "gunicorn"
        elif command.startswith("postgres") or Path(command.split(" ", 1)[0]).name == "postgres":
            role = "postgres"
        else:
            role = "other"
        totals[role] = totals.get(role, 0.0) + used
    return totals


# --- Reporting ----------------------------------------------------------------------------------


def summary(phases: list[Phase]) -> dict[str, float]:
    """Median req/s over the rounds, p50/p95 of every request, CPU ms per request by role."""
    latencies = [value for phase in phases for value in phase.latencies_ms]
    count = len(latencies)
    cpu: dict[str, float] = {}
    for phase in phases:
        for role, seconds in phase.cpu.items():
            cpu[role] = cpu.get(role, 0.0) + seconds
    return {
        "rate": statistics.median(phase.rate for phase in phases),
        "p50": _tasks.percentile(latencies, 0.50),
        "p95": _tasks.percentile(latencies, 0.95),
        "requests": count,
        **{f"cpu_{role}": 1000 * seconds / count for role, seconds in cpu.items()},
    }


def print_table(conn_max_age: int, results: dict[str, list[Phase]]) -> dict[str, dict[str, float]]:
    sums = {label: summary(phases) for label, phases in results.items()}
    print(f"\nDB_CONN_MAX_AGE={conn_max_age}")
    print(
        f"{'endpoint':36} {'reqs':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'gunicorn':>9} {'postgres':>9} {'client':>7} {'rounds req/s':>20}"
    )
    for label, phases in results.items():
        s = sums[label]
        rounds = " ".join(f"{phase.rate:.0f}" for phase in phases)
        print(
            f"{label:36} {s['requests']:>6.0f} {s['rate']:>7.1f} {s['p50']:>7.1f} {s['p95']:>7.1f} "
            f"{s.get('cpu_gunicorn', 0):>9.2f} {s.get('cpu_postgres', 0):>9.2f} {s.get('cpu_client', 0):>7.2f} "
            f"{rounds:>20}"
        )
    print("(gunicorn, postgres, client: CPU ms per request)")
    for ours, bare in (
        ("GET /api/jobs?limit=100", "GET /bench/bare/jobs?limit=100"),
        ("GET /api/jobs/{id}", "GET /bench/bare/jobs/{id}"),
    ):
        ratio = sums[ours]["rate"] / sums[bare]["rate"]
        cpu = sums[ours].get("cpu_gunicorn", 0) / max(sums[bare].get("cpu_gunicorn", 0), 1e-9)
        print(f"ratio {ours} / bare: {ratio:.2f} in req/s; gunicorn CPU per request {cpu:.2f}x the bare view's")
    return sums


def run_load(args: argparse.Namespace, seeded: Seeded) -> dict[int, dict[str, dict[str, float]]]:
    """Every phase under each DB_CONN_MAX_AGE, rounds alternating the bare view and ours."""
    detail_paths = [f"/api/jobs/{job_id}" for job_id in seeded.job_ids]
    bare_detail_paths = [f"/bench/bare/jobs/{job_id}" for job_id in seeded.job_ids]
    cases: list[tuple[str, list[str], str | None]] = [
        ("GET /bench/bare/jobs?limit=100", [f"/bench/bare/jobs?limit={LIST_LIMIT}"], None),
        ("GET /api/jobs?limit=100", [f"/api/jobs?limit={LIST_LIMIT}"], seeded.secret),
        ("GET /bench/bare/jobs/{id}", bare_detail_paths, None),
        ("GET /api/jobs/{id}", detail_paths, seeded.secret),
    ]
    bounds = {"concurrency": args.concurrency, "limit": args.requests, "seconds": args.seconds}
    everything = {}
    for conn_max_age in args.conn_max_age:
        port = free_port()
        with gunicorn(workers=args.workers, conn_max_age=conn_max_age, port=port):
            # Warm-up: every worker imports its views and (with persistent connections) connects.
            for label, paths, secret in cases:
                drive(port, label, paths, secret, concurrency=args.concurrency, limit=10 * args.workers, seconds=30)
            results: dict[str, list[Phase]] = {label: [] for label, _, _ in cases}
            for _ in range(args.rounds):
                for label, paths, secret in cases:
                    results[label].append(drive(port, label, paths, secret, **bounds))
        everything[conn_max_age] = print_table(conn_max_age, results)
    return everything


# --- In-process profile -------------------------------------------------------------------------


def timed_queries() -> tuple[Callable[..., Any], list[float]]:
    """An execute wrapper recording each query's wall time in ms."""
    times: list[float] = []

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            times.append((time.perf_counter() - started) * 1000)

    return wrapper, times


def set_persistent(persistent: bool) -> None:
    """Keep the in-process connection across requests (as DB_CONN_MAX_AGE>0) or open one per request."""
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = None if persistent else 0


def per_request(client: APIClient, url: str, repeat: int) -> dict[str, float]:
    """Median wall and CPU ms of ``url``, its query count and their median total time."""
    assert client.get(url).status_code == 200
    walls, cpus, sql_totals, counts = [], [], [], []
    for _ in range(repeat):
        wrapper, times = timed_queries()
        with connection.execute_wrapper(wrapper):
            wall, cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            walls.append((time.perf_counter() - wall) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200
        sql_totals.append(sum(times))
        counts.append(len(times))
    return {
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
        "queries": statistics.median(counts),
        "sql": statistics.median(sql_totals),
    }


def connection_setup_ms(repeat: int) -> float:
    """Median wall ms to open a database connection (and run Django's connection setup)."""
    times = []
    for _ in range(repeat):
        connection.close()
        started = time.perf_counter()
        connection.ensure_connection()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


# Where a profiled list request spends its own time (tottime), by the file a function lives in.
AREAS: list[tuple[str, tuple[str, ...]]] = [
    (
        "DRF fields and serializers",
        ("rest_framework/fields.py", "rest_framework/serializers.py", "rest_framework/relations.py"),
    ),
    ("project serializers", ("informer/api/serializers.py", "/jobs/", "/runs/")),
    ("permissions (guardian, ours)", ("/guardian/", "informer/api/permissions.py")),
    ("ORM: queries built, rows to models", ("django/db/models/", "django/db/utils.py", "/asgiref/")),
    ("database driver (and waiting for it)", ("django/db/backends/", "/psycopg/", "sqlite3")),
    ("JSON rendering", ("rest_framework/renderers.py", "/json/", "rest_framework/utils/encoders.py")),
    (
        "URLs, middleware, request, response",
        (
            "django/core/",
            "django/middleware/",
            "django/urls/",
            "django/http/",
            "django/contrib/",
            "rest_framework/request.py",
            "rest_framework/views.py",
            "rest_framework/test.py",
            "django/test/",
        ),
    ),
    (
        "dates, zones, UUIDs",
        ("/datetime", "/zoneinfo/", "django/utils/dateparse.py", "django/utils/timezone.py", "/uuid.py"),
    ),
    ("built-ins (getattr, isinstance, ...)", ("~",)),
]
# Inclusive times of the steps of a list request, by (a part of the file's path, the function's name).
STEPS: list[tuple[str, str, str]] = [
    ("authentication (token)", "informer/api/authentication.py", "authenticate"),
    ("filters and sort", "rest_framework/generics.py", "filter_queryset"),
    ("pagination (count + page)", "informer/api/pagination.py", "paginate_queryset"),
    ("permission lookups", "", "job_permissions_for_user"),
    ("object permission check", "informer/api/permissions.py", "has_object_permission"),
    ("serializer .data (the largest)", "rest_framework/serializers.py", "data"),
    ("JSON rendering", "rest_framework/renderers.py", "render"),
]


def profile(seeded: Seeded, repeat: int) -> None:
    """Queries, connection setup and a cProfile breakdown of one list and one detail request, in-process."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {seeded.secret}")
    anonymous = APIClient()
    job = seeded.job_ids[0]
    urls = [
        (client, f"/api/jobs?limit={LIST_LIMIT}"),
        (client, "/api/jobs?limit=1"),
        (client, f"/api/jobs/{job}"),
        (anonymous, f"/bench/bare/jobs?limit={LIST_LIMIT}"),
        (anonymous, f"/bench/bare/jobs/{job}"),
    ]
    print(f"\nIn-process (Django's test client, no HTTP), median of {repeat} requests each")
    print(f"{'request':38} {'connection':>11} {'wall ms':>8} {'CPU ms':>7} {'queries':>7} {'SQL ms':>7}")
    for persistent in (False, True):
        set_persistent(persistent)
        for who, url in urls:
            figures = per_request(who, url, repeat)
            kind = "kept" if persistent else "per request"
            print(
                f"{url.replace(job, '{id}'):38} {kind:>11} {figures['wall']:>8.2f} {figures['cpu']:>7.2f} "
                f"{figures['queries']:>7.0f} {figures['sql']:>7.2f}"
            )
    print(f"opening a connection: {connection_setup_ms(repeat):.2f} ms (median of {repeat})")
    set_persistent(True)
    for url in (f"/api/jobs?limit={LIST_LIMIT}", f"/api/jobs/{job}"):
        print_queries(client, url, job)
        print_profile(client, url, job, repeat)


def print_queries(client: APIClient, url: str, job: str) -> None:
    """Each query of one request (persistent connection) with its wall time."""
    client.get(url)
    queries: list[tuple[float, str]] = []

    def wrapper(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            queries.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(wrapper):
        client.get(url)
    print(f"\nqueries of GET {url.replace(job, '{id}')} (persistent connection): {len(queries)}")
    for ms, sql in queries:
        print(f"  {ms:6.2f} ms  {' '.join(sql.split())[:150]}")


def print_profile(client: APIClient, url: str, job: str, repeat: int) -> None:
    """Where ``url``'s time goes: own time by area, the steps' inclusive time, the top functions."""
    client.get(url)
    # Wall time (cProfile's default timer: a CPU-time timer costs more than most calls it measures),
    # so waiting for the database shows as the driver's; the SQL column above gives that part.
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(repeat):
        client.get(url)
    profiler.disable()
    wall_ms = (time.perf_counter() - started) * 1000 / repeat
    stats = pstats.Stats(profiler)
    rows = stats.stats  # type: ignore[attr-defined]
    total = sum(row[2] for row in rows.values())
    print(f"\ncProfile of GET {url.replace(job, '{id}')}, {repeat} requests: {wall_ms:.2f} ms each under the profiler")
    print("own time by area:")
    areas: dict[str, float] = {}
    for (filename, _, _), row in rows.items():
        name = next((area for area, parts in AREAS if any(part in filename for part in parts)), "other")
        areas[name] = areas.get(name, 0.0) + row[2]
    for name, seconds in sorted(areas.items(), key=lambda item: -item[1]):
        print(f"  {name:40} {100 * seconds / total:5.1f} %")
    print("inclusive time of each step, per request:")
    for label, part, function in STEPS:
        found = [row[3] for (filename, _, name), row in rows.items() if name == function and part in filename]
        if found:
            print(f"  {label:40} {1000 * max(found) / repeat:6.2f} ms ({100 * max(found) / total:4.1f} %)")
    print("top 12 functions by own time:")
    for (filename, line, name), row in sorted(rows.items(), key=lambda item: -item[1][2])[:12]:
        short = "/".join(Path(filename).parts[-2:])
        print(f"  {1000 * row[2] / repeat:6.3f} ms  {row[1] // repeat:>6} calls  {short}:{line} {name}")


# --- Main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers")
    parser.add_argument("--concurrency", type=int, default=6, help="requests in flight")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="at most this long per phase")
    parser.add_argument("--requests", type=int, default=3000, help="at most this many requests per phase")
    parser.add_argument(
        "--conn-max-age", type=lambda text: [int(part) for part in text.split(",")], default=[0, 60], help="e.g. 0,60"
    )
    parser.add_argument("--profile-repeat", type=int, default=50, help="requests per in-process figure (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", action="store_true", help="use what an earlier --keep run seeded")
    parser.add_argument("--no-load", action="store_true", help="skip gunicorn and the load: only the profile")
    args = parser.parse_args()

    seeded = (reuse() if args.reuse else None) or seed(args.jobs)
    args.jobs = len(seeded.job_ids)
    try:
        print(_django.header("bench/api_http.py"))
        print(
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} | {os.cpu_count()} cores | {_tasks.load()} | "
            f"{args.jobs} jobs (2 actions, 2 shares, 2 tags each) | gunicorn {args.workers} sync workers | "
            f"{args.concurrency} in flight | {args.rounds} rounds of at most {args.seconds:g} s or {args.requests} "
            f"requests per phase | CONN_HEALTH_CHECKS={settings.DATABASES['default'].get('CONN_HEALTH_CHECKS')}"
        )
        if not args.no_load:
            run_load(args, seeded)
            print(f"after the rounds: {_tasks.load()}")
        if args.profile_repeat:
            profile(seeded, args.profile_repeat)
    finally:
        if not args.keep:
            drop_database()


if __name__ == "__main__":
    main()
