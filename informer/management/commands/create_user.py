"""``manage.py create_user <username> --tenant <slug>``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from informer import services
from informer.api.exceptions import DomainError
from informer.models import Team, Tenant


class Command(BaseCommand):
    help = "Create a user in a tenant, optionally staff and in teams."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--tenant", default="default", help="Tenant slug (default: the default tenant).")
        parser.add_argument("--password", default=None, help="Without it the user cannot log in with a password.")
        parser.add_argument("--email", default="")
        parser.add_argument("--staff", action="store_true", help="May use the admin and see workers.")
        parser.add_argument("--superuser", action="store_true")
        parser.add_argument(
            "--group",
            action="append",
            default=[],
            help=(
                "A team of the tenant to join, made when missing; names ignore case ('Analysts' joins 'analysts') "
                "and another tenant may have a team of the same name. Repeat for several."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).first()
        if tenant is None:
            raise CommandError(f"No tenant '{options['tenant']}'.")
        try:
            user = services.user_create(
                username=options["username"],
                tenant=tenant,
                password=options["password"],
                email=options["email"],
                is_staff=options["staff"] or options["superuser"],
                is_superuser=options["superuser"],
                teams=options["group"],
            )
        except DomainError as error:
            raise CommandError(error.message) from None
        teams = ", ".join(f"'{team.local_name}'" for team in Team.objects.filter(user=user).order_by("local_name"))
        joined = f", in team(s) {teams}" if teams else ""
        self.stdout.write(self.style.SUCCESS(f"Created user '{user.username}' in tenant '{tenant.slug}'{joined}."))
