"""Every page of every registered admin renders for a superuser: its list, an object's page, its add page.

Each model registered with the admin site needs an object below (a model added later fails here until it has
one). A page the superuser may only view shows no Save button, and no page shows a time the locale's way
("Dec. 3, 2026, 7:41 a.m.") instead of with seconds and a zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth.models import Group
from django.db.models import Model
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule, Success
from django_q.signing import SignedPackage

from datasets.models import Dataset, Datasource, Generation, Snapshot
from informer.models import ApiToken, Team, Tenant, User
from jobs.models import Job, JobAction
from library.models import Library, LibraryFile, StoredContent
from runs.models import Run, RunStatus, Trigger, Worker
from tests.datasets.factories import DatasetFactory, DatasourceFactory, fields_of, stored_generation
from tests.factories import JobFactory, TeamFactory, UserFactory, make_token
from tests.informer.admin.pages import logged_in
from tests.library.factories import LibraryFactory, LibraryFileFactory

LOCALE_TIME = re.compile(r"\d(:\d\d)? [ap]\.m\.|\bmidnight\b|\bnoon\b|[A-Z][a-z]{2}\. \d{1,2}, \d{4}")


def _task(model: type[Model], success: bool) -> Model:
    now = timezone.now()
    return model._default_manager.create(
        id=("a" if success else "b") * 32,
        name="nightly-cleanup",
        func="math.floor",
        started=now - timedelta(seconds=3),
        stopped=now,
        success=success,
        result=None if success else "ZeroDivisionError",
    )


def _run(job: Job) -> Run:
    now = timezone.now()
    return Run.objects.create(
        job=job,
        tenant=job.tenant,
        trigger=Trigger.SCHEDULE,
        status=RunStatus.FAILED,
        success=False,
        scheduled_for=now - timedelta(minutes=1),
        started_at=now - timedelta(minutes=1),
        ended_at=now,
        error="Webhook answered 500",
        params={"region": "eu"},
        progress=[{"key": "type", "name": "Email", "status": "success", "startedAt": now.isoformat()}],
    )


def _refreshed(user: User) -> Dataset:
    """A dataset of ``user``'s with stored rows (a current generation) and a snapshot of them."""
    dataset = DatasetFactory(owner=user, name="Sales", slug="sales")
    generation = stored_generation(dataset, fields_of(("region", "string"), ("amount", "number")), [["West", 12.5]])
    Snapshot.objects.create(dataset=dataset, generation=generation, name="Before the audit")
    return dataset


def _library_file(user: User) -> LibraryFile:
    """A stored file of a library of ``user``'s (its content a row only: the pages read no bytes)."""
    content = StoredContent.objects.create(sha256="a" * 64, size=5, storage_name="library/aa/" + "a" * 64)
    library = LibraryFactory(owner=user, name="Handbooks", slug="handbooks")
    return LibraryFileFactory(library=library, path="guide.txt", sha256=content.sha256, size=content.size)


# One object of each registered model, made from the superuser and a job of theirs.
OBJECTS: dict[type[Model], Callable[[User, Job], Model]] = {
    Tenant: lambda user, job: user.tenant,
    User: lambda user, job: UserFactory(tenant=user.tenant, username="member"),
    Team: lambda user, job: TeamFactory(tenant=user.tenant, name="ops"),
    ApiToken: lambda user, job: make_token(user, name="ci")[0],
    Group: lambda user, job: Group.objects.create(name="plain-group"),
    Job: lambda user, job: job,
    JobAction: lambda user, job: JobAction.objects.create(
        job=job, type="email", name="Mail", data={"to": "a@example.com", "subject": "Hi"}
    ),
    Run: lambda user, job: _run(job),
    Worker: lambda user, job: Worker.objects.create(name="worker-1", host="h", pid=1),
    Schedule: lambda user, job: Schedule.objects.create(
        name="cleanup", func="math.floor", schedule_type=Schedule.ONCE, next_run=timezone.now()
    ),
    OrmQ: lambda user, job: OrmQ.objects.create(
        key="default",
        payload=SignedPackage.dumps({"id": "c" * 32, "name": "queued", "func": "math.floor", "group": None}),
        lock=timezone.now(),
    ),
    Success: lambda user, job: _task(Success, True),
    Failure: lambda user, job: _task(Failure, False),
    Datasource: lambda user, job: DatasourceFactory(owner=user, name="Warehouse", slug="warehouse"),
    Dataset: lambda user, job: _refreshed(user),
    Generation: lambda user, job: _refreshed(user).current_generation,
    Snapshot: lambda user, job: _refreshed(user).snapshots.get(),
    Library: lambda user, job: LibraryFactory(owner=user, name="Handbooks", slug="handbooks"),
    LibraryFile: lambda user, job: _library_file(user),
    StoredContent: lambda user, job: StoredContent.objects.get(pk=_library_file(user).sha256),
}
REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def test_every_registered_model_has_an_object_here():
    assert set(REGISTERED) <= set(OBJECTS), "add an object for the newly registered models"


@pytest.fixture
def superuser(tenant: Tenant) -> User:
    return UserFactory(username="root", tenant=tenant, is_staff=True, is_superuser=True)


def _url(model: type[Model], page: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}", args=args)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_page_renders_for_a_superuser(superuser, model):
    # given
    obj = OBJECTS[model](superuser, JobFactory(owner=superuser, name="Nightly"))
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/admin/")
    request.user = superuser
    client = logged_in(superuser)

    # when
    listing = client.get(_url(model, "changelist"))
    change = client.get(_url(model, "change", quote(obj.pk)))
    add = client.get(_url(model, "add"))

    # then
    assert listing.status_code == 200
    assert change.status_code == 200
    assert add.status_code == (200 if model_admin.has_add_permission(request) else 403)
    for page in (listing, change, add):
        assert not LOCALE_TIME.search(page.content.decode()), page.request["PATH_INFO"]
    if not model_admin.has_change_permission(request, obj):
        assert 'name="_save"' not in change.content.decode()


@pytest.mark.parametrize("model", [Run, Worker, Success, Failure], ids=lambda model: model._meta.label)
def test_history_and_the_workers_are_read_only_pages(superuser, model):
    obj = OBJECTS[model](superuser, JobFactory(owner=superuser))

    page = logged_in(superuser).get(_url(model, "change", quote(obj.pk))).content.decode()

    for button in ('name="_save"', 'name="_continue"', 'name="_addanother"'):
        assert button not in page
