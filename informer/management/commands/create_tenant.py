"""``manage.py create_tenant <slug>``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from informer import services
from informer.api.exceptions import DomainError
from informer.models import Tenant


def check_slug(slug: str) -> None:
    """Refuse, before anything is written, a slug the tenant's field refuses; the CommandError names it."""
    # The field's own validators (validate_slug, max_length 64): the admin's rule and, with DRF's SlugField,
    # the API's for slugs — ASCII letters, digits, '-' and '_'.
    try:
        Tenant._meta.get_field("slug").clean(slug, None)
    except ValidationError as error:
        raise CommandError(f"Invalid tenant slug '{slug}': {' '.join(error.messages)}") from None


class Command(BaseCommand):
    help = "Create a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument("--timezone", default="UTC", help="IANA zone, the default for the tenant's jobs.")
        parser.add_argument("--max-concurrent-jobs", type=int, default=10)

    def handle(self, *args: Any, **options: Any) -> None:
        check_slug(options["slug"])
        try:
            tenant = services.tenant_create(
                slug=options["slug"],
                name=options["name"],
                timezone_name=options["timezone"],
                max_concurrent_jobs=options["max_concurrent_jobs"],
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        except ValidationError as error:
            raise CommandError(getattr(error, "message", None) or "; ".join(error.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"Created tenant '{tenant.slug}' (id {tenant.pk})."))
