"""``manage.py create_tenant <slug>``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from informer import services
from informer.api.exceptions import DomainError


class Command(BaseCommand):
    help = "Create a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--timezone", default="UTC", help="IANA zone, the default for the tenant's jobs.")
        parser.add_argument("--max-concurrent-jobs", type=int, default=10)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = services.tenant_create(
                slug=options["slug"],
                name=options["name"],
                timezone_name=options["timezone"],
                max_concurrent_jobs=options["max_concurrent_jobs"],
            )
        except (DomainError, ValidationError) as error:
            raise CommandError(getattr(error, "message", None) or "; ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Created tenant '{tenant.slug}' (id {tenant.pk})."))
