"""Benchmark: the scheduler (§6) — burst firing, idle cost, fire lag under load, dead-worker detection.

Scenarios (``--only`` picks some; all run by default):

* ``burst``: 1,000 then 10,000 jobs due in the same second; time of one ``scheduler.tick()`` that
  records a run for each and enqueues every run into django-q2's broker (targets: <= 2 s, <= 10 s).
* ``idle``: 100,000 enabled jobs, none due; median ``tick()`` time (target < 5 ms) and the plan of
  the due-jobs query (an index scan on ``job_due_idx``).
* ``lag``: 200 jobs ``* * * * *`` and a real ``manage.py scheduler`` for ``--lag-minutes`` minutes;
  ``created_at - scheduled_for`` of the recorded runs (targets: p50 <= 0.5 s, p99 <= 2 s).
* ``dead-worker``: a real scheduler and ``manage.py qcluster`` with the default timeouts; a run blocked
  on a slow local HTTP server has its worker process killed with SIGKILL; time until the run is
  marked failed (target <= 60 s).

Runs against ``var/bench-scheduler.sqlite3`` (ORM broker) unless DATABASE_URL is set; with REDIS_URL
the broker is Redis. The database is reset (fresh schema) at the start and flushed between scenarios.

    .venv/bin/python bench/scheduler.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/informer_bench REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/scheduler.py
"""

from __future__ import annotations

import argparse
import http.server
import os
import signal
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

_django.setup("scheduler")

import _tasks  # noqa: E402

_tasks.quiet_logging()
from django.db import close_old_connections, connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from jobs.models import Job, OverlapPolicy  # noqa: E402
from runs import scheduler, services  # noqa: E402
from runs.models import Run, RunStatus  # noqa: E402

SCENARIOS = ("burst", "idle", "lag", "dead-worker")


def make_jobs(count: int, *, next_run_at: datetime | None, interval: str = "* * * * *", **fields: object) -> None:
    """Bulk-create ``count`` enabled committed jobs of one tenant and owner (no permissions needed)."""
    tenant, owner = _tasks.bench_tenant_owner()
    anchor = timezone.now()
    batch = 5000
    with transaction.atomic():
        for start in range(0, count, batch):
            Job.objects.bulk_create(
                [
                    Job(
                        id=uuid.uuid4(),
                        tenant=tenant,
                        owner=owner,
                        type=str(fields.get("type", "email")),
                        name=f"Bench {index:06d}",
                        slug=f"bench-{index:06d}",
                        interval=interval,
                        schedule_anchor=anchor,
                        next_run_at=next_run_at,
                        **{k: v for k, v in fields.items() if k != "type"},
                    )
                    for index in range(start, min(start + batch, count))
                ],
                batch_size=1000,
            )


class Timed:
    """Wraps ``services.run_enqueue`` to add up the time spent handing runs to the broker."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.original: Callable[..., None] = services.run_enqueue

    def __enter__(self) -> Timed:
        def timed(run_ids: list[uuid.UUID], **options: bool) -> None:
            started = time.perf_counter()
            try:
                self.original(run_ids, **options)
            finally:
                self.seconds += time.perf_counter() - started

        services.run_enqueue = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        services.run_enqueue = self.original  # type: ignore[assignment]


# --- 1. burst ------------------------------------------------------------------------------------


def scenario_burst(args: argparse.Namespace) -> list[str]:
    print("\n-- burst: N jobs due in the same second, one tick records and enqueues them all")
    print(
        f"{'jobs':>7} {'tick s':>8} {'enqueue s':>10} {'runs':>7} {'queued':>7} {'broker +':>9} {'target':>8}  result"
    )
    lines = []
    for count, target in ((1000, 2.0), (10_000, 10.0)):
        _tasks.flush()
        due = timezone.now().replace(microsecond=0) - timedelta(seconds=1)
        make_jobs(count, next_run_at=due)
        before = _tasks.broker_queue_size()
        with Timed() as enqueue:
            started = time.perf_counter()
            result = scheduler.tick()
            elapsed = time.perf_counter() - started
        grew = _tasks.broker_queue_size() - before
        runs = Run.objects.count()
        queued = Run.objects.filter(status=RunStatus.QUEUED, enqueued_at__isnull=False).count()
        correct = runs == count and queued == count and grew == count and result.runs == count
        met = elapsed <= target and correct
        line = (
            f"{count:>7} {elapsed:>8.3f} {enqueue.seconds:>10.3f} {runs:>7} {queued:>7} {grew:>9} "
            f"{f'<= {target:g} s':>8}  {_tasks.verdict(met)}{'' if correct else ' (COUNTS WRONG)'}"
        )
        print(line)
        lines.append(line)
        _tasks.flush()
    return lines


# --- 2. idle cost ------------------------------------------------------------------------------


def due_query_plan() -> str:
    """The plan of the scheduler's due-jobs query, exactly as ``fire_due`` builds it."""
    with transaction.atomic():
        return scheduler.due_jobs(timezone.now())[: scheduler.BATCH_SIZE].explain()


def scenario_idle(args: argparse.Namespace) -> list[str]:
    print(f"\n-- idle: {args.idle_jobs:,} enabled jobs, none due; median of {args.ticks} ticks")
    _tasks.flush()
    start = timezone.now() + timedelta(hours=1)
    # Spread over the next day, as real schedules are (make_jobs gives them all one time).
    make_jobs(args.idle_jobs, next_run_at=start)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE jobs_job SET next_run_at = next_run_at + (random() * interval '1 day')",
            )
            cursor.execute("ANALYZE")
        else:
            cursor.execute(
                "UPDATE jobs_job SET next_run_at = datetime(next_run_at, '+' || abs(random() % 86400) || ' seconds')"
            )
            cursor.execute("ANALYZE")
    for _ in range(3):
        scheduler.tick()  # warm up
    ticks, cpu, sleeps, passes = [], [], [], []
    for _ in range(args.ticks):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = scheduler.tick()
        ticks.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert not result.claimed, "nothing should be due"
        started = time.perf_counter()
        scheduler.seconds_until_next_due()
        sleeps.append((time.perf_counter() - started) * 1000)
    for _ in range(args.ticks):
        # A whole pass of ``manage.py scheduler``: close_old_connections() (with DB_CONN_MAX_AGE=0, the
        # default, that is a new database connection every pass), tick(), then the sleep computation.
        started = time.perf_counter()
        close_old_connections()
        scheduler.tick()
        scheduler.seconds_until_next_due()
        passes.append((time.perf_counter() - started) * 1000)
    median = statistics.median(ticks)
    print(
        f"{'jobs':>8} {'ticks':>6} {'median ms':>9} {'min ms':>7} {'p90 ms':>7} {'cpu ms':>7} {'next-due ms':>11} "
        f"{'whole pass ms':>13} {'target':>8}  result"
    )
    line = (
        f"{args.idle_jobs:>8} {args.ticks:>6} {median:>9.2f} {min(ticks):>7.2f} {_tasks.percentile(ticks, 0.9):>7.2f} "
        f"{statistics.median(cpu):>7.2f} {statistics.median(sleeps):>11.2f} {statistics.median(passes):>13.2f} "
        f"{'< 5 ms':>8}  {_tasks.verdict(median < 5)}"
    )
    print(line)
    print(
        "(median/min/p90: wall time of tick(); cpu: this process's CPU time in it, median; next-due: the "
        "sleep computation; whole pass: close_old_connections() + tick() + next-due, as the command runs it)"
    )
    plan = due_query_plan()
    print("plan of the due-jobs query:")
    print("\n".join(f"    {row}" for row in plan.splitlines()))
    uses_index = "job_due_idx" in plan
    print(f"index scan on job_due_idx: {'yes' if uses_index else 'NO (MISSED)'}")
    _tasks.flush()
    return [line, *plan.splitlines()]


# --- 3. fire lag ---------------------------------------------------------------------------------


def scenario_lag(args: argparse.Namespace) -> list[str]:
    print(f"\n-- lag: {args.lag_jobs} jobs '* * * * *', a real manage.py scheduler for {args.lag_minutes} min")
    _tasks.flush()
    now = timezone.now()
    first = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    if (first - now).total_seconds() < 5:
        first += timedelta(minutes=1)
    # "allow": with no worker consuming, every occurrence becomes a queued run (not a skipped one).
    make_jobs(args.lag_jobs, next_run_at=first, overlap_policy=OverlapPolicy.ALLOW)
    last = first + timedelta(minutes=args.lag_minutes - 1)
    with _tasks.Processes("scheduler-lag") as procs:
        procs.start("scheduler", "scheduler")
        while timezone.now() < last + timedelta(seconds=5):
            procs.check_alive()
            time.sleep(1)
        procs.stop_all()
    rows = list(Run.objects.values_list("created_at", "scheduled_for", "status", "trigger"))
    lags = [(created - scheduled).total_seconds() for created, scheduled, _, _ in rows]
    expected = args.lag_jobs * args.lag_minutes
    p50, p99 = _tasks.percentile(lags, 0.5), _tasks.percentile(lags, 0.99)
    met = p50 <= 0.5 and p99 <= 2.0 and len(rows) == expected
    broker = _tasks.broker_queue_size()
    print(
        f"{'jobs':>5} {'minutes':>7} {'runs':>6} {'expected':>8} {'p50 s':>7} {'p99 s':>7} {'max s':>7} "
        f"{'target':>18}  result"
    )
    line = (
        f"{args.lag_jobs:>5} {args.lag_minutes:>7} {len(rows):>6} {expected:>8} {p50:>7.3f} {p99:>7.3f} "
        f"{max(lags, default=float('nan')):>7.3f} {'p50<=0.5 p99<=2 s':>18}  {_tasks.verdict(met)}"
    )
    print(line)
    statuses = sorted({(status, trigger) for _, _, status, trigger in rows})
    note = f"run statuses/triggers: {statuses}; broker queue after the run: {broker} messages for {len(rows)} runs"
    print(note)
    _tasks.flush()
    return [line, note]


# --- 4. dead-worker detection ------------------------------------------------------------------


class SlowHandler(http.server.BaseHTTPRequestHandler):
    """Answers only when the benchmark ends: the run's worker is blocked inside the request."""

    arrived = threading.Event()
    release = threading.Event()

    def do_GET(self) -> None:
        SlowHandler.arrived.set()
        SlowHandler.release.wait(600)
        try:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"late")
        except OSError:
            pass  # the client was killed

    def log_message(self, *args: object) -> None:
        pass


def scenario_dead_worker(args: argparse.Namespace) -> list[str]:
    print("\n-- dead-worker: SIGKILL the worker process of a running run; time until it is marked failed")
    _tasks.flush()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SlowHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/slow"
    make_jobs(
        1,
        next_run_at=None,
        type="api-call",
        data={"url": url, "timeoutSeconds": 300},
        timeout_seconds=3600,
        max_attempts=1,
    )
    job = Job.objects.get()
    # The defaults: the variables are removed, so the subprocesses use the settings' defaults.
    env = _tasks.subprocess_env(
        INFORMER_WORKER_TIMEOUT=None, INFORMER_HEARTBEAT_SECONDS=None, INFORMER_OUTBOUND_ALLOW="127.0.0.1"
    )
    from django.conf import settings

    timeout = 60  # INFORMER_WORKER_TIMEOUT's default, which the subprocesses use
    lines = []
    try:
        with _tasks.Processes("scheduler-dead-worker") as procs:
            since = timezone.now()
            procs.start("scheduler", "scheduler", env=env)
            cluster = procs.start("qcluster", "qcluster", env=env)
            _tasks.wait_for_workers(int(settings.Q_CLUSTER["workers"]), since=since, procs=procs)
            run = services.run_create_manual(job=job)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                procs.check_alive()
                run.refresh_from_db()
                if run.status == RunStatus.RUNNING and run.worker_id and SlowHandler.arrived.is_set():
                    break
                time.sleep(0.2)
            else:
                raise RuntimeError(f"the run did not start (status {run.status})")
            time.sleep(args.kill_after)
            run.refresh_from_db()
            pid = run.worker.pid
            parents = _ancestors(pid)
            if cluster.pid not in parents:
                raise RuntimeError(f"worker pid {pid} is not a child of the cluster {cluster.pid} ({parents})")
            os.kill(pid, signal.SIGKILL)
            killed = timezone.now()
            killed_clock = time.monotonic()
            last_beat = run.heartbeat_at
            while time.monotonic() - killed_clock < timeout + 60:
                run.refresh_from_db()
                if run.status != RunStatus.RUNNING:
                    break
                time.sleep(0.1)
            detected = time.monotonic() - killed_clock
    finally:
        SlowHandler.release.set()
        server.shutdown()
    since_beat = (killed - last_beat).total_seconds()
    expected = timeout - since_beat
    met = run.status == RunStatus.FAILED and detected <= 60
    print(
        f"{'timeout s':>9} {'beat age at kill s':>18} {'expected s':>10} {'measured s':>10} {'status':>8} "
        f"{'target':>8}  result"
    )
    line = (
        f"{timeout:>9} {since_beat:>18.1f} {expected:>10.1f} {detected:>10.1f} {run.status:>8} "
        f"{'<= 60 s':>8}  {_tasks.verdict(met)}"
    )
    print(line)
    print(f"error recorded: {run.error!r}")
    lines += [line, f"error recorded: {run.error!r}"]
    _tasks.flush()
    return lines


def _ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            break
        pid = int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))
        chain.append(pid)
    return chain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=SCENARIOS, help="scenarios to run (default: all)")
    parser.add_argument("--idle-jobs", type=int, default=100_000, help="jobs of the idle scenario")
    parser.add_argument("--ticks", type=int, default=200, help="ticks timed in the idle scenario")
    parser.add_argument("--lag-jobs", type=int, default=200, help="every-minute jobs of the lag scenario")
    parser.add_argument("--lag-minutes", type=int, default=3, help="minutes the lag scenario's scheduler runs")
    parser.add_argument("--kill-after", type=float, default=3.0, help="seconds the run blocks before the kill")
    parser.add_argument("--skip-dead-worker", action="store_true", help="skip the ~1 min dead-worker scenario")
    parser.add_argument("--keep-db", action="store_true", help="migrate the existing database instead of resetting it")
    args = parser.parse_args()
    chosen = [name for name in SCENARIOS if name in (args.only or SCENARIOS)]
    if args.skip_dead_worker and "dead-worker" in chosen:
        chosen.remove("dead-worker")

    _tasks.fresh_database(keep=args.keep_db)
    print(_django.header("bench/scheduler.py"))
    print(f"{_tasks.database_label()} | {time.strftime('%Y-%m-%d %H:%M %Z')} | {_tasks.load()}")
    functions = {
        "burst": scenario_burst,
        "idle": scenario_idle,
        "lag": scenario_lag,
        "dead-worker": scenario_dead_worker,
    }
    for name in chosen:
        try:
            functions[name](args)
        except Exception as error:  # one broken scenario must not hide the others' figures
            print(f"{name}: could not complete ({type(error).__name__}: {error}) — MISSED")
            _tasks.flush()


if __name__ == "__main__":
    main()
