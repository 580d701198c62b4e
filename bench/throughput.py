"""Benchmark: end-to-end no-op runs per second, ours against bare django-q2, same broker and cluster.

* bare: N ``async_task("bench._tasks.noop", i)``; the task does nothing but record its completion with
  one INSERT into a two-column table. Time from the first enqueue to the last completion.
* ours: N ``email`` jobs with no actions (a run that does nothing) all due at the same moment, two
  seconds ahead; a real ``manage.py scheduler`` fires them (records the runs and enqueues them) and the
  cluster executes them through the executor (claim, lease, progress, final status). Time from
  the moment they fall due to the last run's ``ended_at``; every run must end ``succeeded``.

Both phases use a fresh ``manage.py qcluster`` with the project's Q_CLUSTER settings (INFORMER_WORKERS,
default 2), started and warmed up (its workers registered) before the clock starts. The tenant's
``maxConcurrentJobs`` is raised to 100,000 so it cannot throttle; INFORMER_MAX_CONCURRENT_RUNS (default
50) is above the number of workers, so neither limit holds a run back.

With ``--cpu`` each phase's note also gives the CPU milliseconds per run that each kind of process used
(database server, cluster, scheduler, Redis, this script), read from ``/proc``: where the time goes
on a CPU-bound machine.

    .venv/bin/python bench/throughput.py [--runs 2000] [--workers 2] [--rounds 3] [--cpu]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/informer_bench REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/throughput.py
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

_django.setup("throughput")

import _tasks  # noqa: E402

_tasks.quiet_logging()

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402
from django.db.models import Count, Max, Min  # noqa: E402
from django.utils import timezone  # noqa: E402

from jobs.models import Job  # noqa: E402
from runs.models import FINAL_STATUSES, Run, RunStatus  # noqa: E402

TARGET_RATIO = 0.5


class Outcome:
    def __init__(self, label: str, runs: int, seconds: float | None, note: str):
        self.label, self.runs, self.seconds, self.note = label, runs, seconds, note

    @property
    def rate(self) -> float | None:
        return self.runs / self.seconds if self.seconds else None


def start_cluster(procs: _tasks.Processes, workers: int, env: dict[str, str]) -> None:
    since = timezone.now()
    procs.start("qcluster", "qcluster", env=env)
    _tasks.wait_for_workers(workers, since=since, procs=procs)
    time.sleep(1.0)  # the pusher and monitor are up once the workers are


def log_count(name: str, pattern: str) -> int:
    """How many lines of a subprocess's log match ``pattern``."""
    path = _tasks.LOG_DIR / name
    return len(re.findall(pattern, path.read_text(errors="replace"))) if path.exists() else 0


def phase_bare(args: argparse.Namespace, env: dict[str, str]) -> Outcome:
    from django_q.brokers import get_broker
    from django_q.tasks import async_task

    _tasks.flush()
    _tasks.done_table_reset()
    with _tasks.Processes("throughput-bare") as procs:
        start_cluster(procs, args.workers, env)
        cpu_before = _tasks.cpu_seconds() if args.cpu else None
        started = time.time()
        # Enqueued the way runs.services.run_enqueue does: one broker object, and with the ORM broker
        # batches of 500 in one transaction each (as the scheduler's batches are).
        broker = get_broker()
        for first in range(0, args.runs, 500):
            with transaction.atomic() if not settings.REDIS_URL else contextlib.nullcontext():
                for index in range(first, min(first + 500, args.runs)):
                    async_task("bench._tasks.noop", index, q_options={"ack_failure": True, "broker": broker})
        enqueued = time.time() - started
        deadline = time.monotonic() + args.timeout
        count, last = 0, None
        while time.monotonic() < deadline:
            procs.check_alive()
            count, last = _tasks.done_table_state()
            if count >= args.runs:
                break
            time.sleep(0.25)
        cpu_after = _tasks.cpu_seconds() if args.cpu else None
    complete = count >= args.runs and last is not None
    note = f"enqueue loop {enqueued:.2f} s; {count} of {args.runs} completed"
    if args.cpu:
        note += "; " + _tasks.cpu_per_run(cpu_before, cpu_after, args.runs)
    return Outcome("bare django-q2", args.runs, (last - started) if complete else None, note)


def phase_ours(args: argparse.Namespace, env: dict[str, str]) -> Outcome:
    _tasks.flush()
    tenant, owner = _tasks.bench_tenant_owner(max_concurrent_jobs=100_000)
    anchor = timezone.now()
    with transaction.atomic():
        Job.objects.bulk_create(
            [
                Job(
                    id=uuid.uuid4(),
                    tenant=tenant,
                    owner=owner,
                    type="email",
                    name=f"Noop {index:06d}",
                    slug=f"noop-{index:06d}",
                    interval="0 0 1 1 *",  # fires once now, then next New Year
                    schedule_anchor=anchor,
                    next_run_at=None,
                )
                for index in range(args.runs)
            ],
            batch_size=1000,
        )
    with _tasks.Processes("throughput-ours") as procs:
        start_cluster(procs, args.workers, env)
        procs.start("scheduler", "scheduler", env=env)
        time.sleep(1.0)
        # The jobs fall due together at a moment a little ahead, as scheduled jobs do: the scheduler
        # reads the next due time and wakes for it. (Making them due "now" under a sleeping scheduler
        # would add the wait until its next poll, up to a second, which is not throughput.)
        due = timezone.now() + timedelta(seconds=2)
        cpu_before = _tasks.cpu_seconds() if args.cpu else None
        Job.objects.update(next_run_at=due)
        started = due.timestamp()
        deadline = time.monotonic() + args.timeout
        final = 0
        while time.monotonic() < deadline:
            procs.check_alive()
            final = Run.objects.filter(status__in=FINAL_STATUSES).count()
            if final >= args.runs:
                break
            time.sleep(0.25)
        cpu_after = _tasks.cpu_seconds() if args.cpu else None
        leftover = _tasks.broker_queue_size()
    statuses = dict(Run.objects.order_by().values("status").annotate(n=Count("pk")).values_list("status", "n"))
    bounds = Run.objects.aggregate(first=Min("created_at"), last=Max("ended_at"), fired=Max("created_at"))
    succeeded = statuses.get(RunStatus.SUCCEEDED, 0)
    complete = succeeded == args.runs and bounds["last"] is not None
    # Every enqueue is logged by django-q2 ("Enqueued"): the scheduler's (first deliveries and its
    # dispatcher's re-deliveries) and the workers' (the dispatch after each finished run).
    enqueues = log_count("throughput-ours-scheduler.log", r"Enqueued \[") + log_count(
        "throughput-ours-qcluster.log", r"Enqueued \["
    )
    executed = log_count("throughput-ours-qcluster.log", r"Processed 'runs\.tasks\.execute_run'")
    note = f"statuses {statuses}; "
    if bounds["first"] is not None:
        note += (
            f"runs recorded {bounds['first'].timestamp() - started:.2f}..{bounds['fired'].timestamp() - started:.2f} s "
            f"after the jobs fell due; "
        )
    note += (
        f"broker deliveries {enqueues} for {args.runs} runs ({enqueues - args.runs} re-deliveries), "
        f"{executed} executed by the time the last run ended, {leftover} still queued"
    )
    if args.cpu:
        note += "; " + _tasks.cpu_per_run(cpu_before, cpu_after, args.runs)
    seconds = (bounds["last"].timestamp() - started) if complete else None
    return Outcome("ours (scheduler + executor)", args.runs, seconds, note)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="no-op tasks / runs per phase")
    parser.add_argument(
        "--workers", type=int, default=int(settings.Q_CLUSTER["workers"]), help="cluster workers (INFORMER_WORKERS)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="bare/ours pairs, interleaved; medians are compared")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a phase may take before it is abandoned")
    parser.add_argument("--keep-db", action="store_true", help="migrate the existing database instead of resetting it")
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="also report the CPU each kind of process (database, workers, scheduler...) used per run, from /proc",
    )
    args = parser.parse_args()

    _tasks.fresh_database(keep=args.keep_db)
    env = _tasks.subprocess_env(INFORMER_WORKERS=str(args.workers))
    print(_django.header("bench/throughput.py"))
    print(
        f"{_tasks.database_label()} | {time.strftime('%Y-%m-%d %H:%M %Z')} | INFORMER_WORKERS={args.workers} | "
        f"poll {settings.Q_CLUSTER['poll']} s | INFORMER_MAX_CONCURRENT_RUNS={settings.INFORMER_MAX_CONCURRENT_RUNS} | "
        f"tenant maxConcurrentJobs=100000 | N={args.runs} | rounds={args.rounds} | {_tasks.load()}"
    )
    rows: list[tuple[int, Outcome, Outcome]] = []
    print(f"{'round':>5} {'bare s':>8} {'bare runs/s':>11} {'ours s':>8} {'ours runs/s':>11} {'ours/bare':>9}")
    for number in range(1, args.rounds + 1):
        try:
            bare = phase_bare(args, env)
        except Exception as error:  # a phase that cannot finish is reported, not raised
            bare = Outcome("bare django-q2", args.runs, None, f"could not complete: {type(error).__name__}: {error}")
        try:
            ours = phase_ours(args, env)
        except Exception as error:
            ours = Outcome("ours", args.runs, None, f"could not complete: {type(error).__name__}: {error}")
        rows.append((number, bare, ours))
        ratio = f"{ours.rate / bare.rate:.2f}" if bare.rate and ours.rate else "-"
        print(
            f"{number:>5} {_fmt(bare.seconds, '.2f'):>8} {_fmt(bare.rate, '.1f'):>11} "
            f"{_fmt(ours.seconds, '.2f'):>8} {_fmt(ours.rate, '.1f'):>11} {ratio:>9}",
            flush=True,
        )
    print(f"after the rounds: {_tasks.load()}")
    for number, bare, ours in rows:
        print(f"round {number} bare: {bare.note}")
        print(f"round {number} ours: {ours.note}")
    bare_rates = [bare.rate for _, bare, _ in rows if bare.rate]
    ours_rates = [ours.rate for _, _, ours in rows if ours.rate]
    if len(bare_rates) == len(ours_rates) == args.rounds:
        bare_median, ours_median = statistics.median(bare_rates), statistics.median(ours_rates)
        ratio = ours_median / bare_median
        print(
            f"median runs/s: bare {bare_median:.1f}, ours {ours_median:.1f}; ratio ours/bare {ratio:.2f} "
            f"(target >= {TARGET_RATIO}): {_tasks.verdict(ratio >= TARGET_RATIO)}"
        )
    else:
        print(f"ratio ours/bare: n/a, a phase did not complete (target >= {TARGET_RATIO}): MISSED")
    _tasks.flush()


def _fmt(value: float | None, spec: str) -> str:
    return format(value, spec) if value else "INCOMPLETE"


if __name__ == "__main__":
    main()
