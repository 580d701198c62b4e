"""``manage.py create_api_token <username>``: prints the secret, once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from informer import services
from informer.api.exceptions import DomainError
from informer.models import User


class Command(BaseCommand):
    help = "Create an API token for a user and print its secret (it is not stored and cannot be shown again)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="A label to tell tokens apart.")
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"No user '{options['username']}'.")
        try:
            token, secret = services.token_create(user=user, name=options["name"], expires_days=options["expires_days"])
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stderr.write(f"Token {token.pk} for {user.username}; use it as 'Authorization: Bearer <token>'.")
        self.stdout.write(secret)
