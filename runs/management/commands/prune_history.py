"""``manage.py prune_history``: delete old run history by count per job and by age."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from informer.progress import track
from runs import retention


class Command(BaseCommand):
    help = (
        "Delete finished runs that are beyond their job's newest --keep N, or that were recorded more than "
        "--max-age-days D days ago: a run goes when either rule says so, and stays only while it is both "
        "among its job's N newest and at most D days old. 0 turns a rule off. Queued and running runs are "
        "never deleted and do not count towards N. Shows a progress bar over the jobs on a terminal."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--keep",
            type=int,
            default=None,
            help=(
                "Finished runs kept per job, newest first; 0: no limit "
                f"(INFORMER_HISTORY_KEEP, now {settings.INFORMER_HISTORY_KEEP})."
            ),
        )
        parser.add_argument(
            "--max-age-days",
            type=int,
            default=None,
            help=(
                "Delete runs recorded more than this many days ago; 0: no limit "
                f"(INFORMER_HISTORY_MAX_AGE_DAYS, now {settings.INFORMER_HISTORY_MAX_AGE_DAYS})."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("keep", "max_age_days"):
            if options[name] is not None and options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must not be negative.")

        def jobs(job_ids: list[uuid.UUID]) -> Iterable[uuid.UUID]:
            return track(job_ids, self.stdout, description="Pruning history", unit="jobs")

        deleted = retention.history_prune(keep=options["keep"], max_age_days=options["max_age_days"], track=jobs)
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} history record(s)."))
