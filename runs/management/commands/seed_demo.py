"""``manage.py seed_demo``: demo tenants, users, a team and jobs, a sales dataset and a library; safe to run again.

The sales demo is a SQLite file of orders under ``INFORMER_DATASOURCE_ROOT`` (``datasets.demo``), a
datasource and a dataset on it (refreshed once here, so its rows are readable at once), and a weekly
``dataset-refresh`` job that refreshes it and emails the rows as an xlsx workbook and a PDF report. The
demo library is a local folder under ``INFORMER_LIBRARY_ROOT`` of a few documents of each format a library
indexes (``library.demo``), synced once here so that its files are listed at once, and indexed so that a
search answers at once (again only when files are pending or the embedder changed).

It runs on every ``make run``, so it changes only what it made itself: each object it makes is recorded
(``informer.DemoRecord``) under the natural key it gave it, and a tenant, user, team or job of that name
that it did not make is left exactly as it is (and said so), never joined, shared with or reset.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.db.models import Model

from datasets import demo as sales
from datasets.models import Dataset, Datasource
from datasets.services.datasets import dataset_create
from datasets.services.datasources import datasource_create
from datasets.services.refresh import dataset_refresh
from informer import services as identity
from informer.api.exceptions import DomainError
from informer.models import DemoRecord, Team, Tenant, User
from informer.progress import Progress, logging_silenced, progress
from jobs.models import Job
from jobs.services import actions as action_services
from jobs.services import datasets as job_dataset_services
from jobs.services import jobs as job_services
from jobs.services import shares as share_services
from library import demo as documents
from library.models import Library
from library.services.index import IndexResult, index_outdated, library_index
from library.services.libraries import library_create
from library.services.sync import SyncResult, library_sync

T = TypeVar("T")

DEMO_JOBS: list[dict[str, Any]] = [
    {
        "name": "Weekly sales report",
        "slug": "weekly-sales-report",
        "type": "email",
        "description": "Monday-morning email with the sales figures.",
        "interval": "0 8 * * mon",
        "timezone": "America/New_York",
        "tags": ["reports", "sales"],
    },
    {
        "name": "Health check ping",
        "slug": "health-check-ping",
        "type": "api-call",
        "description": "Calls the status endpoint every 15 minutes.",
        "interval": "*/15 * * * *",
        "data": {"url": "https://status.example.com/ping", "method": "GET", "expectStatus": [200]},
        "enabled": False,
        "tags": ["ops"],
    },
    {
        "name": "Quarterly archive",
        "slug": "quarterly-archive",
        "type": "email",
        "description": "Runs on the first day of each quarter.",
        "interval": "0 6 1 jan,apr,jul,oct *",
        "timezone": "Europe/Berlin",
        "tags": ["archive"],
    },
    {
        "name": "Every six hours",
        "slug": "every-six-hours",
        "type": "email",
        "description": "A simple interval schedule.",
        "interval": "6 hours",
        "interval_type": "simple",
        "tags": [],
    },
]
# The demo job that the demo team may view.
SHARED_JOB = "weekly-sales-report"
TEAM = "analysts"
VERBS = ("view", "add", "change", "delete")
# The demo user is staff, with the model permissions its admin pages need (its jobs with their actions,
# attachments and runs; the tenant's users and teams to look at; its own tokens), so the admin link works for it.
STAFF_USER = "demo"
STAFF_PERMISSIONS = frozenset(
    [
        *(f"jobs.{verb}_{model}" for model in ("job", "jobaction", "jobattachment") for verb in VERBS),
        "jobs.run_job",
        "runs.view_run",
        "runs.change_run",  # cancelling a run
        "runs.delete_run",
        *(f"datasets.{verb}_{model}" for model in ("datasource", "dataset") for verb in VERBS),
        "datasets.refresh_dataset",
        *(f"datasets.{verb}_snapshot" for verb in ("view", "add", "delete")),
        "datasets.view_generation",
        *(f"library.{verb}_library" for verb in VERBS),
        "library.sync_library",
        *(f"library.{verb}_libraryfile" for verb in ("view", "delete")),
        "informer.view_user",
        "informer.view_team",
        *(f"informer.{verb}_apitoken" for verb in VERBS),
    ]
)
# The sales demo (the demo user's): the file, the datasource, the dataset and the job that mails it.
SALES_FILE = "demo-sales.sqlite3"
SALES_DATASOURCE = {"name": "Demo sales", "slug": "demo-sales", "type": "sqlite", "database": SALES_FILE}
SALES_DATASET = {
    "name": "Sales orders",
    "slug": "sales-orders",
    "description": "One row per order line of the demo shop, newest first; region narrows it (SQL LIKE).",
    "query": sales.QUERY,
    "params": [{"name": "region", "type": "string", "default": "%", "required": False}],
}
SALES_JOB = {
    "name": "Weekly sales workbook",
    "slug": "weekly-sales-workbook",
    "type": "dataset-refresh",
    "description": "Refreshes the sales orders every Monday and emails them as a workbook and a PDF report.",
    "interval": "0 7 * * mon",
    "timezone": "Europe/London",
    "data": {"datasets": ["sales"]},
}
SALES_EMAIL = {
    "type": "email",
    "name": "Email the sales figures",
    "data": {
        "to": ["sales-team@example.com"],
        "subject": "Sales orders: {{ datasets.sales.records }} lines",
        "body": "The sales orders as of {{ datasets.sales.dataUpdatedAt }} are attached as a workbook and a report.",
    },
}
SALES_REPORT = """<h1>{{ title }}</h1>
<p>{{ dataset.records }} order lines; the first {{ rows|length }} below.</p>
<table>
  <tr>{% for field in fields %}<th>{{ field.label }}</th>{% endfor %}</tr>
  {% for row in table %}<tr>{% for cell in row %}<td>{{ cell|default_if_none:"" }}</td>{% endfor %}</tr>{% endfor %}
</table>"""
SALES_ATTACHMENTS = [
    {"type": "dataset", "name": "Sales orders workbook", "data": {"alias": "sales", "format": "xlsx"}},
    {
        "type": "report",
        "name": "Sales orders report",
        "data": {"alias": "sales", "format": "pdf", "template": SALES_REPORT, "title": "Sales orders"},
    },
]

# What the progress counts: a tenant, four users, a team, each demo job of two owners, the sales demo (a
# datasource, a dataset, a job) and the demo library.
DEMO_OBJECTS = 1 + 4 + 1 + 2 * len(DEMO_JOBS) + 3 + 1


def _counted(make: Callable[..., T]) -> Callable[..., T]:
    """One demo object, made or found, advances the command's progress."""

    @functools.wraps(make)
    def counted(self: Command, *args: Any, **kwargs: Any) -> T:
        try:
            return make(self, *args, **kwargs)
        finally:
            self.report.advance()

    return counted


class Command(BaseCommand):
    help = (
        "Create demo tenants, users, a team and jobs, and print a login. Safe to run again: it changes only "
        "what it made itself and leaves anything else of the same name alone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default=os.environ.get("INFORMER_DEMO_PASSWORD", "informer-demo"),
            help="The password of the demo users it made (set again when it differs).",
        )

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        password = options["password"]
        if not password:
            raise CommandError("--password cannot be empty: the demo users must be able to log in.")
        self.notes: list[str] = []
        with progress(self.stdout, total=DEMO_OBJECTS, description="Demo data", unit="objects") as report:
            self.report: Progress = report
            default = Tenant.objects.get(slug="default")  # made by the migrations; the demo only adds to it
            acme = self._tenant("acme", name="Acme Corp", timezone_name="Europe/London", max_concurrent_jobs=5)
            users = {
                "admin": self._user("admin", default, password, is_superuser=True),
                "demo": self._user("demo", default, password),
                "viewer": self._user("viewer", default, password),
                "acme": self._user("acme", acme, password) if acme is not None else None,
            }
            team = self._team(default, TEAM)
            if team is not None:
                for username in ("demo", "viewer"):
                    member = users[username]
                    if member is not None:
                        member.groups.add(team)
            for username in ("demo", "acme"):
                owner = users[username]
                if owner is None:
                    continue
                jobs = {spec["slug"]: self._job(owner, spec) for spec in DEMO_JOBS}
                shared = jobs[SHARED_JOB]
                if team is not None and owner.tenant_id == team.tenant_id and shared is not None:
                    share_services.share_set(job=shared, principal=team, level=1)
            demo = users["demo"]
            dataset = self._sales(demo) if demo is not None else None
            library = self._documents(demo) if demo is not None else None
            # What it could not make (a user taken, so no jobs of theirs) is done with too.
            report.advance(DEMO_OBJECTS - report.done)
        # Outside the transaction above: a refresh commits its rows batch by batch.
        refreshed = None
        if dataset is not None and dataset.data_updated_at is None:
            refreshed = dataset_refresh(dataset=dataset)
        # Likewise a sync: it stores each file's content as it goes.
        synced: SyncResult | None = None
        if library is not None and library.synced_at is None:
            synced = library_sync(library=library)
        # Then indexed for search, so that a search answers at once; a second seed finds nothing to do.
        indexed: IndexResult | None = None
        if library is not None and library.synced_at is not None and index_outdated(library):
            try:
                indexed = library_index(library)
            except DomainError as error:  # an indexing of it already running
                self.notes.append(f"The demo library was not indexed: {error.message}")

        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        if refreshed is not None and dataset is not None:
            self.stdout.write(f"  Dataset '{dataset.natural_id}' refreshed: {refreshed.records} rows.")
        if synced is not None and library is not None:
            self.stdout.write(f"  Library '{library.natural_id}' synced: {synced.added} files.")
            if not synced.success:
                problems = "; ".join(f"{error['path'] or library.name}: {error['error']}" for error in synced.errors)
                self.notes.append(f"The demo library's sync failed: {problems}")
        if indexed is not None and library is not None:
            self.stdout.write(
                f"  Library '{library.natural_id}' indexed: {indexed.indexed} files, {indexed.chunks} chunks."
            )
            if indexed.errors:
                problems = "; ".join(f"{error['path'] or library.name}: {error['error']}" for error in indexed.errors)
                self.notes.append(f"Some of the demo library's files were not indexed: {problems}")
        logins = [
            f"'{name}'" + (" (superuser)" if user.is_superuser else "")
            for name, user in users.items()
            if user is not None
        ]
        if logins:
            listed = logins[0] if len(logins) == 1 else f"{', '.join(logins[:-1])} or {logins[-1]}"
            self.stdout.write(f"  Log in as {listed} with password '{password}'.")
        else:
            self.stdout.write("  No demo user could be made: every demo username is taken.")
        for note in self.notes:
            self.stdout.write(self.style.WARNING(f"  {note}"))

    def _mine(self, kind: str, key: str, model: type[Model]) -> Any:
        """What the demo made under ``key``, if it still exists."""
        record = DemoRecord.objects.filter(kind=kind, key=key).first()
        if record is None:
            return None
        found = model._default_manager.filter(pk=record.object_id).first()
        if found is None:
            record.delete()  # deleted since: the key is free to be made again
        return found

    def _record(self, kind: str, key: str, obj: Model) -> None:
        DemoRecord.objects.create(kind=kind, key=key, object_id=str(obj.pk))

    @_counted
    def _tenant(self, slug: str, **fields: Any) -> Tenant | None:
        mine = self._mine(DemoRecord.Kind.TENANT, slug, Tenant)
        if mine is not None:
            return mine
        if Tenant.objects.filter(slug=slug).exists():
            self.notes.append(f"Tenant '{slug}' exists and was not made by seed_demo: nothing was added to it.")
            return None
        tenant = identity.tenant_create(slug=slug, **fields)
        self._record(DemoRecord.Kind.TENANT, slug, tenant)
        return tenant

    @_counted
    def _user(self, username: str, tenant: Tenant, password: str, *, is_superuser: bool = False) -> User | None:
        mine = self._mine(DemoRecord.Kind.USER, username, User)
        if mine is not None:
            if not mine.check_password(password):
                mine.set_password(password)
                mine.save(update_fields=["password"])
                self.notes.append(f"Demo user '{username}' had another password; it was set to the one above.")
            self._staff(mine)
            return mine
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            # The hasher's check, not the user's: the user's own may rewrite its stored hash.
            works = "logs it in" if check_password(password, existing.password) else "does not log it in"
            self.notes.append(
                f"User '{username}' exists and was not made by seed_demo: it was left as it is, "
                f"and the password above {works}."
            )
            return None
        user = identity.user_create(
            username=username, tenant=tenant, password=password, is_staff=is_superuser, is_superuser=is_superuser
        )
        self._record(DemoRecord.Kind.USER, username, user)
        self._staff(user)
        return user

    def _staff(self, user: User) -> None:
        """Make the demo user staff with ``STAFF_PERMISSIONS`` (again, should someone have taken them away)."""
        if user.username != STAFF_USER:
            return
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        app_labels = {name.split(".")[0] for name in STAFF_PERMISSIONS}
        held = Permission.objects.filter(content_type__app_label__in=app_labels).select_related("content_type")
        user.user_permissions.add(
            *(perm for perm in held if f"{perm.content_type.app_label}.{perm.codename}" in STAFF_PERMISSIONS)
        )

    @_counted
    def _team(self, tenant: Tenant, name: str) -> Team | None:
        key = f"{tenant.slug}/{name}"
        mine = self._mine(DemoRecord.Kind.TEAM, key, Team)
        if mine is not None:
            return mine
        if Team.objects.filter(tenant=tenant, local_name__iexact=name).exists():
            self.notes.append(
                f"Team '{name}' of tenant '{tenant.slug}' exists and was not made by seed_demo: "
                "no demo user joined it and nothing was shared with it."
            )
            return None
        team = identity.team_create(tenant=tenant, name=name)
        self._record(DemoRecord.Kind.TEAM, key, team)
        return team

    @_counted
    def _job(self, owner: User, spec: dict[str, Any]) -> Job | None:
        key = f"{owner.tenant.slug}:{spec['slug']}"
        mine = self._mine(DemoRecord.Kind.JOB, key, Job)
        if mine is not None:
            return mine
        if Job.objects.filter(tenant_id=owner.tenant_id, slug=spec["slug"]).exists():
            self.notes.append(f"Job '{key}' exists and was not made by seed_demo: it was left as it is.")
            return None
        fields = {name: value for name, value in spec.items() if name != "tags"}
        job = job_services.job_create(user=owner, fields=fields, tags=spec["tags"])
        self._record(DemoRecord.Kind.JOB, key, job)
        return job

    def _sales(self, owner: User) -> Dataset | None:
        """The sales demo of ``owner``: its file, datasource, dataset and weekly job; the dataset if it is ours."""
        path = settings.INFORMER_DATASOURCE_ROOT / SALES_FILE
        if not path.exists():
            sales.sales_database_write(path)
        # Read again: the permissions _staff just granted are not in the cached ones of this instance.
        owner = User.objects.get(pk=owner.pk)
        datasource = self._sales_datasource(owner)
        dataset = self._sales_dataset(owner, datasource) if datasource is not None else None
        if dataset is not None:
            self._sales_job(owner, dataset)
        return dataset

    @_counted
    def _sales_datasource(self, owner: User) -> Datasource | None:
        key = f"{owner.tenant.slug}:{SALES_DATASOURCE['slug']}"
        mine = self._mine(DemoRecord.Kind.DATASOURCE, key, Datasource)
        if mine is not None:
            return mine
        if Datasource.objects.filter(tenant_id=owner.tenant_id, slug=SALES_DATASOURCE["slug"]).exists():
            self.notes.append(f"Datasource '{key}' exists and was not made by seed_demo: it was left as it is.")
            return None
        datasource = datasource_create(user=owner, data=dict(SALES_DATASOURCE))
        self._record(DemoRecord.Kind.DATASOURCE, key, datasource)
        return datasource

    @_counted
    def _sales_dataset(self, owner: User, datasource: Datasource) -> Dataset | None:
        key = f"{owner.tenant.slug}:{SALES_DATASET['slug']}"
        mine = self._mine(DemoRecord.Kind.DATASET, key, Dataset)
        if mine is not None:
            return mine
        if Dataset.objects.filter(tenant_id=owner.tenant_id, slug=SALES_DATASET["slug"]).exists():
            self.notes.append(f"Dataset '{key}' exists and was not made by seed_demo: it was left as it is.")
            return None
        dataset = dataset_create(user=owner, data={**SALES_DATASET, "datasource_id": str(datasource.pk)})
        self._record(DemoRecord.Kind.DATASET, key, dataset)
        return dataset

    @_counted
    def _sales_job(self, owner: User, dataset: Dataset) -> Job | None:
        key = f"{owner.tenant.slug}:{SALES_JOB['slug']}"
        mine = self._mine(DemoRecord.Kind.JOB, key, Job)
        if mine is not None:
            return mine
        if Job.objects.filter(tenant_id=owner.tenant_id, slug=SALES_JOB["slug"]).exists():
            self.notes.append(f"Job '{key}' exists and was not made by seed_demo: it was left as it is.")
            return None
        job = job_services.job_create(user=owner, fields=dict(SALES_JOB), tags=["reports", "sales", "datasets"])
        job_dataset_services.job_dataset_create(
            job=job, user=owner, fields={"alias": "sales", "dataset_id": str(dataset.pk)}
        )
        action = action_services.action_create(job=job, fields=dict(SALES_EMAIL))
        for attachment in SALES_ATTACHMENTS:
            action_services.attachment_create(action=action, fields=dict(attachment))
        self._record(DemoRecord.Kind.JOB, key, job)
        return job

    @_counted
    def _documents(self, owner: User) -> Library | None:
        """The demo library of ``owner``: its folder of documents (written when missing) and the library on it."""
        key = f"{owner.tenant.slug}:{documents.DEMO_LIBRARY['slug']}"
        mine = self._mine(DemoRecord.Kind.LIBRARY, key, Library)
        if mine is not None:
            return mine
        if Library.objects.filter(tenant_id=owner.tenant_id, slug=documents.DEMO_LIBRARY["slug"]).exists():
            self.notes.append(f"Library '{key}' exists and was not made by seed_demo: it was left as it is.")
            return None
        folder = settings.INFORMER_LIBRARY_ROOT / documents.DEMO_FOLDER
        if not folder.exists():
            with logging_silenced():  # WeasyPrint logs every step of each PDF, which would break into the bar
                documents.demo_documents_write(folder)
        # Read again: the permissions _staff just granted are not in the cached ones of this instance.
        library = library_create(user=User.objects.get(pk=owner.pk), data=dict(documents.DEMO_LIBRARY))
        self._record(DemoRecord.Kind.LIBRARY, key, library)
        return library
