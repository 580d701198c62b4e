"""``manage.py prune_history``: delete old run history by count per job and by age."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs import retention


class Command(BaseCommand):
    help = "Delete finished runs beyond the newest --keep per job and older than --max-age-days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--keep", type=int, default=None, help="Runs kept per job (INFORMER_HISTORY_KEEP).")
        parser.add_argument(
            "--max-age-days", type=int, default=None, help="Oldest kept, days (INFORMER_HISTORY_MAX_AGE_DAYS)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("keep", "max_age_days"):
            if options[name] is not None and options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must not be negative.")
        done = [0]

        def tick() -> None:
            done[0] += 1
            if done[0] % 50 == 0:
                self.stderr.write(f"\r{done[0]} jobs pruned…", ending="")

        deleted = retention.history_prune(keep=options["keep"], max_age_days=options["max_age_days"], on_job=tick)
        if done[0] >= 50:
            self.stderr.write("")
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} history record(s)."))
