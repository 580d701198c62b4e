"""``manage.py refresh_dataset <id|naturalId> [--param k=v …]``: refresh a dataset now, rows counted as they stream."""

from __future__ import annotations

import json
from time import monotonic
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from datasets.connectors.base import ConnectorError
from datasets.models import Dataset
from datasets.selectors import dataset_lookup
from datasets.services import refresh as refresh_services
from informer.admin.display import admin_duration, admin_time
from informer.api.exceptions import DomainError
from informer.progress import Progress, logging_silenced, progress

# Plain output (not a terminal) counts the rows at most once per this many seconds, and once at the end.
PLAIN_EVERY_SECONDS = 1.0


class Command(BaseCommand):
    help = (
        "Refresh a dataset now, as POST /api/datasets/{id}/_refresh does: run its query on its datasource, "
        "store the rows as a new generation and swap it in (a failure leaves the stored rows as they were). "
        "Shows a progress bar of rows on a terminal, a line now and then otherwise, then the records, the "
        "count before, the duration, the fields added and changed, and whether the row or byte cap truncated "
        "it. Exits 1 when the dataset is unknown, a parameter is wrong, it is being refreshed already or the "
        "source fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", help="The dataset's UUID or natural id (<tenant-slug>:<slug>).")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="A value for a declared parameter, converted to its declared type (repeat for each).",
        )
        parser.add_argument("--json", action="store_true", help="Print the answer as the API's JSON instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = dataset_lookup(Dataset.objects.select_related("tenant", "datasource"), options["dataset"])
        if dataset is None:
            raise CommandError(f"No dataset '{options['dataset']}'.")
        params = dict(_param(raw) for raw in options["param"])
        rows = progress(self.stdout, description=f"Refreshing '{dataset.name}'", unit="rows")
        with logging_silenced(options["verbosity"] < 2), rows as report:
            counter = _RowCounter(report)
            try:
                result = refresh_services.dataset_refresh(dataset=dataset, params=params, progress=counter)
            except (DomainError, ConnectorError) as error:
                # A parameter (named), a refresh already going, the source's own reason.
                raise CommandError(f"'{dataset.name}' was not refreshed: {error.message}") from None
            counter.finish(result.records)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_json(), ensure_ascii=False))
            return
        self._summary(dataset, result)

    def _summary(self, dataset: Dataset, result: refresh_services.RefreshResult) -> None:
        lines = [
            f"records: {result.records}",
            f"previous count: {result.previous_record_count}",
            f"duration: {admin_duration(result.duration / 1000)} ({result.duration} ms)",
            f"fields added: {', '.join(result.fields_added) or '-'}",
            f"fields updated: {', '.join(result.fields_updated) or '-'}",
            f"truncated: {'yes, the row or byte cap was reached' if result.truncated else 'no'}",
            f"data updated at: {admin_time(result.data_updated_at)}",
        ]
        for line in lines:
            self.stdout.write(f"  {line}")
        done = f"Refreshed '{dataset.name}' ({dataset.natural_id}): {result.records} records."
        self.stdout.write(self.style.WARNING(done) if result.truncated else self.style.SUCCESS(done))


class _RowCounter:
    """The refresh's ``progress(rows_so_far)``: every batch on a bar, at most once a second as plain lines."""

    def __init__(self, report: Progress) -> None:
        self.report = report
        self.last = monotonic()

    def __call__(self, rows: int) -> None:
        if not self.report.bar and monotonic() - self.last < PLAIN_EVERY_SECONDS:
            return
        self.last = monotonic()
        self._to(rows)

    def finish(self, rows: int) -> None:
        """Count the rows stored in all (plain output then reports them once more, as its last line)."""
        self._to(rows)

    def _to(self, rows: int) -> None:
        if rows > self.report.done:
            self.report.advance(rows - self.report.done)


def _param(raw: str) -> tuple[str, str]:
    """``NAME=VALUE`` as a pair; the value stays text, converted to the parameter's declared type later."""
    name, sep, value = raw.partition("=")
    if not sep or not name:
        raise CommandError(f"--param '{raw}' must be NAME=VALUE.")
    return name, value
