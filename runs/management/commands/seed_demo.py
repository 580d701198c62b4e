"""``manage.py seed_demo``: demo tenants, users and jobs; safe to run again."""

from __future__ import annotations

import os
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from informer import services as identity
from informer.models import Tenant, User
from jobs import services as job_services
from jobs.models import Job

DEMO_JOBS: list[dict[str, Any]] = [
    {
        "name": "Weekly sales report",
        "type": "email",
        "description": "Monday-morning email with the sales figures.",
        "interval": "0 8 * * mon",
        "timezone": "America/New_York",
        "tags": ["reports", "sales"],
    },
    {
        "name": "Health check ping",
        "type": "api-call",
        "description": "Calls the status endpoint every 15 minutes.",
        "interval": "*/15 * * * *",
        "data": {"url": "https://status.example.com/ping", "method": "GET", "expectStatus": [200]},
        "enabled": False,
        "tags": ["ops"],
    },
    {
        "name": "Quarterly archive",
        "type": "email",
        "description": "Runs on the first day of each quarter.",
        "interval": "0 6 1 jan,apr,jul,oct *",
        "timezone": "Europe/Berlin",
        "tags": ["archive"],
    },
    {
        "name": "Every six hours",
        "type": "email",
        "description": "A simple interval schedule.",
        "interval": "6 hours",
        "interval_type": "simple",
        "tags": [],
    },
]


class Command(BaseCommand):
    help = "Create demo tenants, users, teams and jobs (idempotent) and print a login."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", default=os.environ.get("INFORMER_DEMO_PASSWORD", "informer-demo"))

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        tenant = Tenant.objects.get(slug="default")
        acme = Tenant.objects.filter(slug="acme").first() or identity.tenant_create(
            slug="acme", name="Acme Corp", timezone_name="Europe/London", max_concurrent_jobs=5
        )
        admin = self._user("admin", tenant, password, is_superuser=True)
        demo = self._user("demo", tenant, password, teams=["analysts"])
        self._user("viewer", tenant, password, teams=["analysts"])
        acme_user = self._user("acme", acme, password)

        for owner in (demo, acme_user):
            for spec in DEMO_JOBS:
                fields = {key: value for key, value in spec.items() if key != "tags"}
                if Job.objects.filter(tenant_id=owner.tenant_id, name=fields["name"]).exists():
                    continue
                job_services.job_create(user=owner, fields=fields, tags=spec["tags"])
        first = Job.objects.filter(tenant=tenant, owner=demo).order_by("name").first()
        team = demo.groups.get(name="analysts")
        if first is not None:
            job_services.share_set(job=first, principal=team.team, level=1)

        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(
            f"  Log in as '{admin.username}' (superuser) or '{demo.username}' with password '{password}'."
        )

    def _user(self, username: str, tenant: Tenant, password: str, **kwargs: Any) -> User:
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            return existing
        is_superuser = kwargs.pop("is_superuser", False)
        return identity.user_create(
            username=username,
            tenant=tenant,
            password=password,
            is_staff=is_superuser,
            is_superuser=is_superuser,
            **kwargs,
        )
