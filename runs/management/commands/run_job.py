"""``manage.py run_job <id|naturalId>``: run a job now, optionally following its progress."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from informer import redaction
from informer.api import parsers
from jobs.models import Job
from jobs.selectors import job_lookup
from runs import services
from runs.executor import execute_run
from runs.models import FINAL_STATUSES, Run, RunStatus

SYMBOLS = {"running": "…", "success": "✓", "warning": "!", "error": "✗", "skipped": "-"}


class Command(BaseCommand):
    help = "Run a job now (as 'Run now' does). With --wait, follow its progress and exit non-zero if it fails."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", help="The job's UUID or natural id (<tenant-slug>:<slug>).")
        parser.add_argument("--wait", action="store_true", help="Follow the run until it ends.")
        parser.add_argument(
            "--inline", action="store_true", help="Execute in this process instead of on a worker (implies --wait)."
        )
        parser.add_argument("--param", action="append", default=[], help="key=value (JSON values allowed).")
        parser.add_argument("--timeout", type=float, default=0, help="Give up waiting after N seconds (0: never).")

    def handle(self, *args: Any, **options: Any) -> None:
        job = job_lookup(Job.objects.select_related("tenant"), options["job"])
        if job is None:
            raise CommandError(f"No job '{options['job']}'.")
        params = dict(_param(raw) for raw in options["param"])
        if options["inline"]:
            with transaction.atomic():
                run = services.run_create_manual(job=job, params=params, enqueue=False)
            self.stdout.write(f"Run {run.pk} of '{job.name}' executing here.")
            execute_run(str(run.pk))
        else:
            run = services.run_create_manual(job=job, params=params)
            self.stdout.write(f"Run {run.pk} of '{job.name}' queued.")
            if not options["wait"]:
                return
        self._follow(run.pk, options["timeout"])

    def _follow(self, run_id: Any, timeout: float) -> None:
        shown: dict[str, str] = {}
        started = time.monotonic()
        last_status = ""
        while True:
            run = Run.objects.get(pk=run_id)
            if run.status != last_status:
                last_status = run.status
                self.stdout.write(f"status: {run.status}")
            secrets = redaction.definition_secrets(run.definition)
            for entry in run.progress:
                key = f"{entry['key']}"
                if shown.get(key) != entry["status"]:
                    shown[key] = entry["status"]
                    # Records written before messages were redacted at the source may still hold credentials.
                    text = redaction.redact_text(entry.get("message") or "", secrets)
                    message = f" — {text}" if text else ""
                    self.stdout.write(f"  {SYMBOLS.get(entry['status'], '?')} {entry['name']}{message}")
            if run.status in FINAL_STATUSES:
                break
            if timeout and time.monotonic() - started > timeout:
                raise CommandError(f"Gave up waiting after {timeout:g} s; the run is still {run.status}.")
            time.sleep(0.5)
        if run.status != RunStatus.SUCCEEDED:
            error = redaction.redact_text(run.error, redaction.definition_secrets(run.definition))
            raise CommandError(f"Run {run.pk} ended {run.status}: {error or 'no error message'}")
        self.stdout.write(self.style.SUCCESS(f"Run {run.pk} succeeded."))


def _param(raw: str) -> tuple[str, Any]:
    key, sep, value = raw.partition("=")
    if not sep or not key:
        raise CommandError(f"--param '{raw}' must be key=value.")
    try:
        # The API's decoder and depth limit: a deeply nested value would be a RecursionError traceback.
        return key, parsers.loads(value)
    except parsers.JsonTooDeep as error:
        raise CommandError(f"--param '{key}': {error}") from None
    except ValueError:
        return key, value  # not JSON: the text itself
