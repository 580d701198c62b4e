"""``manage.py scheduler``: the long-running process that fires due jobs (any number may run)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import connection

from runs import retention, scheduler

logger = logging.getLogger("runs.scheduler")

PRUNE_EVERY_SECONDS = 600


class Command(BaseCommand):
    help = "Fire due jobs, reap runs whose worker died and dispatch waiting runs; wakes at least once a second."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Do one pass and exit (for cron or tests).")
        parser.add_argument("--interval", type=float, default=1.0, help="Longest sleep between passes, seconds.")

    def handle(self, *args: Any, **options: Any) -> None:
        stopping = threading.Event()

        def stop(signum: int, frame: object) -> None:
            # Finish the pass under way, then leave: a pass is one transaction per batch, so nothing
            # is left half-recorded.
            logger.info("Scheduler stopping (signal %s)", signum)
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        cap = max(0.05, min(options["interval"], 1.0))
        last_prune = 0.0
        self.stdout.write(f"Scheduler started; passes at least every {cap:g} s.")
        while not stopping.is_set():
            try:
                result = scheduler.tick()
                if result.claimed or result.reaped or result.dispatched:
                    logger.info(
                        "tick: %s jobs fired, %s runs, %s skipped, %s missed, %s reaped, %s dispatched",
                        result.claimed,
                        result.runs,
                        result.skipped,
                        result.missed,
                        result.reaped,
                        result.dispatched,
                    )
                if time.monotonic() - last_prune > PRUNE_EVERY_SECONDS:
                    last_prune = time.monotonic()
                    retention.history_prune()
            except Exception:
                # One bad pass must not kill the scheduler; the next pass retries on a new connection
                # (the connection is otherwise kept: reconnecting every second is wasted work).
                logger.exception("Scheduler pass failed")
                connection.close()
            if options["once"]:
                break
            stopping.wait(scheduler.seconds_until_next_due(cap=cap) or 0.01)
        self.stdout.write("Scheduler stopped.")
