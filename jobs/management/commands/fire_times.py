"""``manage.py fire_times <interval>``: the next fire times, local and UTC, from the scheduler's engine."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from informer.api import parsers
from jobs import schedule, timing
from jobs.api.schedule_fields import ScheduleBoundField, resolve_naive_bound


class Command(BaseCommand):
    help = "Print the next fire times of a schedule in its time zone and in UTC."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("interval", nargs="?", default="", help="Cron expression or '<n> <unit>'.")
        parser.add_argument("--type", default="cron", choices=["cron", "simple", "once", "none"], dest="interval_type")
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--count", type=int, default=10)
        parser.add_argument("--after", default=None, help="ISO datetime (default: now).")
        parser.add_argument("--start-on", default="")
        parser.add_argument("--end-on", default="")
        parser.add_argument("--dst-policy", default="", help='JSON, e.g. {"gap": "skip", "repeat": "both"}')

    def handle(self, *args: Any, **options: Any) -> None:
        if not 1 <= options["count"] <= 1000:
            raise CommandError("--count must be between 1 and 1000.")
        try:
            after = datetime.fromisoformat(options["after"]) if options["after"] else timezone.now()
        except ValueError:
            raise CommandError(f"--after: '{options['after']}' is not an ISO 8601 datetime.") from None
        try:
            # The API's decoder and depth limit: a deeply nested value would be a RecursionError traceback.
            dst_policy = parsers.loads(options["dst_policy"]) if options["dst_policy"] else None
        except parsers.JsonTooDeep as error:
            raise CommandError(f"--dst-policy: {error}") from None
        except ValueError:
            raise CommandError(f"--dst-policy: '{options['dst_policy'][:80]}' is not valid JSON.") from None
        if after.tzinfo is None:
            raise CommandError("--after needs an offset, e.g. 2026-03-08T00:00:00Z.")
        zone = options["timezone"]
        try:
            parsed = schedule.parse_schedule(
                interval=options["interval"] or None,
                interval_type=options["interval_type"],
                timezone=zone,
                start_on=timing.parse_bound(_bound(options["start_on"], zone, "--start-on")),
                end_on=timing.parse_bound(_bound(options["end_on"], zone, "--end-on")),
                dst_policy=dst_policy,
                anchor=timezone.now(),
            )
        except schedule.ScheduleError as error:
            raise CommandError(f"{error.field}: {error.message}") from None
        fires = schedule.fire_times(parsed, after, options["count"])
        if not fires:
            self.stdout.write("No fire times.")
            return
        self.stdout.write(f"{'#':>4}  {'local (' + zone + ')':<32} {'UTC':<21} note")
        for number, fire in enumerate(fires, start=1):
            note = "shifted by DST" if fire.shifted else ("repeated hour, once" if fire.merged else "")
            local = fire.local.strftime("%Y-%m-%d %H:%M:%S %Z%z")
            utc = fire.at.strftime("%Y-%m-%dT%H:%M:%SZ")
            self.stdout.write(f"{number:>4}  {local:<32} {utc:<21} {note}".rstrip())


def _bound(value: str, zone: str, option: str) -> str:
    """A --start-on/--end-on value parsed exactly as the API parses startOn/endOn."""
    if not value:
        return ""
    try:
        return resolve_naive_bound(ScheduleBoundField().to_internal_value(value), zone)
    except ValidationError as error:
        # A field's own error: a list of messages, not a dict by field.
        raise CommandError(f"{option}: {cast(list[Any], error.detail)[0]}") from None
