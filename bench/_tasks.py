"""What the scheduler and throughput benchmarks share.

* ``noop``: the bare django-q2 task of ``bench/throughput.py``. A ``manage.py qcluster`` imports it as
  ``bench._tasks.noop``, so this module must not boot Django itself (the cluster already has).
* Preparing the benchmark database (a fresh schema, ``flush`` between scenarios), starting
  ``manage.py scheduler`` / ``manage.py qcluster`` subprocesses on the same database and broker, and
  always stopping them (SIGTERM to the process group, then SIGKILL).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / "var" / "bench-logs"
DONE_TABLE = "bench_done"


# --- The bare task ------------------------------------------------------------------------------


def noop(n: int) -> None:
    """Do nothing, then record completion with one INSERT (number and wall-clock time)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {DONE_TABLE} (n, done_at) VALUES (%s, %s)", [n, time.time()])


def done_table_reset() -> None:
    """(Re)create the tiny table ``noop`` writes to, empty."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {DONE_TABLE}")
        cursor.execute(f"CREATE TABLE {DONE_TABLE} (n integer NOT NULL, done_at double precision NOT NULL)")


def done_table_state() -> tuple[int, float | None]:
    """How many no-op tasks completed, and when the last one did (epoch seconds)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MAX(done_at) FROM {DONE_TABLE}")
        count, last = cursor.fetchone()
    return int(count), (float(last) if last is not None else None)


# --- The database and the broker ----------------------------------------------------------------


def quiet_logging() -> None:
    """No INFO line per enqueued task from django-q2 in the benchmark's own output."""
    import logging

    for name in ("django-q", "runs", "runs.scheduler"):
        logging.getLogger(name).setLevel(logging.WARNING)


def database_label() -> str:
    """``sqlite + ORM broker`` or ``postgresql + Redis broker`` (what the figures were taken on)."""
    from django.conf import settings
    from django.db import connection

    broker = "Redis broker" if settings.REDIS_URL else "ORM broker"
    return f"{connection.vendor} + {broker}"


def fresh_database(*, keep: bool = False) -> None:
    """Start from an empty, fully migrated schema (created if missing).

    SQLite: the benchmark's own file is deleted. PostgreSQL: the database is created when missing and
    its ``public`` schema dropped and recreated, which is only done on a database whose name contains
    ``bench`` (so a DATABASE_URL pointing at real data is refused).
    """
    from django.core.management import call_command
    from django.db import connection

    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        if not keep:
            connection.close()
            path = Path(settings_dict["NAME"])
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    elif connection.vendor == "postgresql":
        name = settings_dict["NAME"]
        if "bench" not in name:
            raise SystemExit(f"Refusing to reset database {name!r}: its name must contain 'bench'.")
        _pg_create_database_if_missing(settings_dict)
        if not keep:
            with connection.cursor() as cursor:
                cursor.execute("DROP SCHEMA public CASCADE")
                cursor.execute("CREATE SCHEMA public")
            connection.close()
    call_command("migrate", verbosity=0, interactive=False)


def _pg_create_database_if_missing(settings_dict: dict[str, Any]) -> None:
    import psycopg

    params = {
        "dbname": "postgres",
        "user": settings_dict.get("USER") or None,
        "password": settings_dict.get("PASSWORD") or None,
        "host": settings_dict.get("HOST") or None,
        "port": settings_dict.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings_dict["NAME"]]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{settings_dict["NAME"]}"')


def flush() -> None:
    """Empty every table (between scenarios) and the broker's queue."""
    from django.core.management import call_command
    from django_q.brokers import get_broker

    call_command("flush", verbosity=0, interactive=False)
    get_broker().purge_queue()


def broker_queue_size() -> int:
    from django_q.brokers import get_broker

    return int(get_broker().queue_size())


def bench_tenant_owner(*, max_concurrent_jobs: int = 100_000) -> tuple[Any, Any]:
    """One tenant (with a concurrency limit that never throttles a benchmark) and one owner."""
    from informer.models import Tenant, User

    tenant, _ = Tenant.objects.update_or_create(
        slug="bench", defaults={"name": "Bench", "max_concurrent_jobs": max_concurrent_jobs}
    )
    owner, _ = User.objects.get_or_create(username="bench-owner", defaults={"tenant": tenant})
    return tenant, owner


# --- Subprocesses -------------------------------------------------------------------------------


def subprocess_env(**overrides: str | None) -> dict[str, str]:
    """This process's environment (DATABASE_URL and REDIS_URL included) plus ``overrides``.

    An override of None removes the variable, so the subprocess sees the setting's default. LOG_LEVEL
    is left as it is (INFO by default, as deployed): each process logs to ``var/bench-logs/``.
    """
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


class Processes:
    """Started ``manage.py`` subprocesses, each in its own session; stopped however the block ends."""

    def __init__(self, label: str):
        self.label = label
        self.procs: list[tuple[str, subprocess.Popen[bytes]]] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start(self, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log = open(LOG_DIR / f"{self.label}-{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=env or subprocess_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append((name, proc))
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {LOG_DIR / f'{self.label}-{name}.log'}")

    def stop_all(self, grace: float = 15.0) -> None:
        """SIGTERM each process group, wait up to ``grace`` seconds, then SIGKILL what is left."""
        for _, proc in self.procs:
            _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for _, proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for _, proc in self.procs:
            # Also the group: a cluster's worker children must not outlive the benchmark.
            _signal_group(proc, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self.procs.clear()


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)  # the group of this subprocess only (start_new_session)


def wait_for_workers(count: int, *, since: Any, procs: Processes, timeout: float = 60.0) -> list[Any]:
    """Wait until ``count`` django-q2 worker processes started after ``since`` registered themselves."""
    from runs.models import Worker

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.check_alive()
        workers = list(Worker.objects.filter(started_at__gte=since, stopped_at__isnull=True))
        if len(workers) >= count:
            return workers
        time.sleep(0.2)
    raise RuntimeError(f"{count} workers did not register within {timeout:g} s")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of ``values`` (fraction in 0..1)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def cpu_seconds() -> dict[str, float] | None:
    """CPU seconds used so far by each kind of process on the machine, children that ended included.

    Read from ``/proc`` (None where there is none): the database server, Redis, the project's
    ``qcluster`` and ``scheduler`` subprocesses, this benchmark, everything else. Take it twice and
    subtract; a process's time moves to its parent's count of waited-for children when it ends, so
    backends and workers that come and go in between are counted.
    """
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    totals: dict[str, float] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # ended meanwhile
        # utime, stime, cutime, cstime: the 14th to 17th fields, counted after the ")" of the name
        fields = stat[stat.rfind(")") + 2 :].split()
        used = sum(int(value) for value in fields[11:15]) / tick
        if int(entry.name) == me:
            role = "benchmark"
        elif command.startswith("postgres:") or Path(command.split(" ", 1)[0]).name == "postgres":
            role = "postgres"  # the server (whose count includes the backends that ended) and its backends
        elif "redis-server" in command:
            role = "redis"
        elif "manage.py qcluster" in command:
            role = "qcluster"
        elif "manage.py scheduler" in command:
            role = "scheduler"
        else:
            role = "other"
        totals[role] = totals.get(role, 0.0) + used
    return totals


def cpu_per_run(before: dict[str, float] | None, after: dict[str, float] | None, runs: int) -> str:
    """The CPU milliseconds per run each kind of process used between two ``cpu_seconds`` readings."""
    if before is None or after is None:
        return "CPU per process: not measured (no /proc)"
    used = {role: after[role] - before.get(role, 0.0) for role in after}
    parts = [f"{role} {1000 * seconds / runs:.2f}" for role, seconds in sorted(used.items()) if seconds > 0.005]
    return f"CPU ms per run: {', '.join(parts)}; total {1000 * sum(used.values()) / runs:.2f}"


def load() -> str:
    """The machine's load average (it is shared: the figures move with it)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"
