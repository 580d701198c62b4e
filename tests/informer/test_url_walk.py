"""Walks every URL pattern under /api/: nothing answers anonymous callers, nothing crosses tenants.

Each path parameter is filled with a real object of tenant A. A user of tenant B must get a 404 for
every method the route allows, an anonymous client a 401, and neither may change anything. A route
with a parameter this file does not know fails the walk, so new routes have to be added here.

The same walk asks every route to answer OPTIONS, and every write to refuse a body nested too deeply.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from rest_framework.test import APIClient

from datasets.models import Snapshot
from informer.models import User
from jobs.blueprints import BLUEPRINTS
from jobs.models import JobAction, JobAttachment, JobDataset
from jobs.services import shares as share_services
from jobs.services.actions import attachment_upload
from jobs.services.drafts import draft_edit
from library.models import Library, LibraryFile
from library.services.shares import library_grant_owner
from library.services.sync import library_sync
from runs.models import Run, Worker
from tests.conftest import client_for
from tests.datasets.factories import DatasetFactory, stored_generation
from tests.factories import JobFactory, TeamFactory, TenantFactory, UserFactory, make_token

METHODS = ("get", "post", "put", "patch", "delete")

# Routes outside the walk, and why.
SKIPPED = {
    "api/schema": "the OpenAPI document: public on purpose, it holds no tenant data",
    "api/docs": "the Swagger UI page for the schema: public on purpose, no data",
    "api/login": "the way in: it must answer anonymous callers",
    "api/logout": "ending a session is harmless and allowed without one",
}

# What each path parameter names. ``pk`` names the object of the collection it follows (jobs/<pk>,
# tokens/<pk>...). A parameter or a ``pk`` collection missing here fails the walk.
PARAMETERS: dict[str, str | dict[str, str]] = {
    "pk": {
        "jobs": "job",
        "tokens": "token",
        "history": "run",
        "actions": "action",
        "attachments": "attachment",
        "job-workers": "worker",
        "datasets": "dataset",
        "snapshots": "snapshot",
        "datasources": "datasource",
        "libraries": "library",
        "files": "library file",
    },
    "job_pk": "job",
    "dataset_pk": "dataset",
    "datasource_pk": "datasource",
    "library_pk": "library",
    "action_pk": "action",
    "alias": "job dataset",
    "principal_id": "principal",
    "driver_id": {
        "job-drivers": "job driver",
        "job-action-drivers": "action driver",
        "job-attachment-drivers": "attachment driver",
        "datasource-drivers": "datasource driver",
        "library-drivers": "library driver",
    },
    "template_id": "template",
}
# Kinds of object that belong to no tenant (registered drivers, blueprints, cluster workers): tenant B
# is no stranger to them, so the walk only asks that it cannot change anything through them.
GLOBAL_KINDS = {
    "job driver",
    "action driver",
    "attachment driver",
    "datasource driver",
    "library driver",
    "template",
    "worker",
}

# Bodies that would be a valid write on the route if the caller were allowed; the rest get {}.
# What a GET needs beyond its path to answer 200 (a search needs its query).
GET_QUERIES: dict[str, str] = {"library-search": "?q=quarterly+report"}

BODIES: dict[str, dict[str, Any]] = {
    "job-detail": {"description": "changed", "name": "Changed"},
    "job-action-detail": {"name": "Changed"},
    "job-action-list": {"type": "email", "name": "Sneaky", "data": {"to": "x@example.com"}},
    "job-attachment-detail": {"name": "changed.csv"},
    "job-share-detail": {"accessLevel": 3},
    "datasource-detail": {"description": "changed"},
    "datasource-share-detail": {"accessLevel": 3},
    "library-detail": {"description": "changed"},
    "library-share-detail": {"accessLevel": 3},
    "token-list": {"name": "sneaky"},
    "job-list": {"type": "email", "name": "Sneaky", "interval": "@daily"},
}


@dataclass(frozen=True)
class Route:
    route: str  # e.g. "api/jobs/<str:job_pk>/shares"
    name: str
    parameters: tuple[str, ...]
    pattern: URLPattern

    def __str__(self) -> str:
        return self.route

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods the route's view answers (its viewset actions, or the handlers an APIView defines)."""
        return _allowed_methods(self.pattern)


def _piece(pattern: Any) -> str:
    """One level of a route as written: ``jobs/<str:pk>``, or ``jobs/(?P<pk>[^/]+)`` without its anchors."""
    return str(pattern.pattern).removeprefix("^").removesuffix("$")


def _allowed_methods(pattern: URLPattern) -> tuple[str, ...]:
    callback = pattern.callback
    actions = getattr(callback, "actions", None)
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    assert view_class is not None, f"{pattern.name}: a function view; teach the walk how to find its methods"
    if actions:
        return tuple(method for method in METHODS if method in actions)
    allowed = [name.lower() for name in view_class.http_method_names]
    return tuple(method for method in METHODS if method in allowed and hasattr(view_class, method))


def _walk(patterns: list[Any], prefix: str, parameters: tuple[str, ...]) -> Iterator[Route]:
    for pattern in patterns:
        route = prefix + _piece(pattern)
        names = parameters + tuple(pattern.pattern.regex.groupindex)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route, names)
        elif isinstance(pattern, URLPattern):
            yield Route(route, pattern.name or "", names, pattern)


def api_routes() -> list[Route]:
    """Every route under /api/ that the walk covers."""
    routes = [route for route in _walk(get_resolver().url_patterns, "", ()) if route.route.startswith("api/")]
    return [route for route in routes if route.route not in SKIPPED]


ROUTES = api_routes()
OBJECT_ROUTES = [route for route in ROUTES if route.parameters]
COLLECTION_ROUTES = [route for route in ROUTES if not route.parameters]


def parameter_kind(route: Route, name: str) -> str:
    """The kind of object a path parameter of ``route`` names; fails for anything the walk does not know."""
    kind = PARAMETERS.get(name)
    assert kind is not None, f"{route}: unknown path parameter '{name}'; add it to PARAMETERS"
    if isinstance(kind, dict):
        before = re.split(rf"<(?:\w+:)?{name}>|\(\?P<{name}>", route.route)[0]
        collection = before.rstrip("/").rsplit("/", 1)[-1]
        assert collection in kind, f"{route}: no kind for '{name}' under '{collection}'; add it to PARAMETERS"
        kind = kind[collection]
    return kind


def build_url(route: Route, kwargs: dict[str, str]) -> str:
    """The path of ``route`` with its parameters filled in (converter and regex syntax alike)."""
    path = "/" + re.sub(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)", lambda m: kwargs[m[1] or m[2]], route.route)
    assert resolve(path).url_name == route.name, path
    return path


def tenant_bound(route: Route) -> bool:
    return any(parameter_kind(route, name) not in GLOBAL_KINDS for name in route.parameters)


@dataclass
class World:
    """Tenant A's objects by kind, a tenant B user with look-alike objects, and the clients."""

    objects: dict[str, str]
    owner_a: APIClient
    staff_a: APIClient
    user_b: APIClient

    def kwargs(self, route: Route) -> dict[str, str]:
        return {name: self.objects[parameter_kind(route, name)] for name in route.parameters}

    def url(self, route: Route) -> str:
        return build_url(route, self.kwargs(route))


def library_with_a_file(owner: Any, settings: Any, tmp_path: Path) -> Library:
    """A local library of ``owner``, synced, holding the folder ``guides`` and the file ``guides/a.txt``."""
    settings.INFORMER_LIBRARY_ROOT = tmp_path / "library-root"
    (settings.INFORMER_LIBRARY_ROOT / "docs" / "guides").mkdir(parents=True)
    (settings.INFORMER_LIBRARY_ROOT / "docs" / "guides" / "a.txt").write_bytes(b"alpha")
    library = Library.objects.create(tenant=owner.tenant, owner=owner, name="Docs", slug="docs", type="local")
    library.settings = {"path": "docs"}
    library.save()
    library_grant_owner(library, owner)
    assert library_sync(library=library).success
    return library


@pytest.fixture
def world(tenant, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    # Tenant A: an owner with a job (shared with a colleague and a team), a run of it and a token.
    owner = UserFactory(username="owner-a", tenant=tenant)
    colleague = UserFactory(username="colleague-a", tenant=tenant)
    team = TeamFactory(name="team-a", tenant=tenant)
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")
    share_services.share_set(job=job, principal=colleague, level=1)
    share_services.share_set(job=job, principal=team, level=2)
    token, _ = make_token(owner, secret="inf_tenant-a")
    action = JobAction.objects.create(job=job, type="email", name="Notify", data={"to": "ops@example.com"})
    attachment = JobAttachment.objects.create(action=action, type="file", name="report.csv")
    attachment_upload(
        attachment=attachment, stream=io.BytesIO(b"a,b\n1,2\n"), filename="report.csv", content_type="text/csv"
    )
    dataset = DatasetFactory(owner=owner, slug="sales")
    JobDataset.objects.create(job=job, alias="sales", dataset=dataset)
    snapshot = Snapshot.objects.create(dataset=dataset, generation=stored_generation(dataset, [], [[]]))
    draft_edit(job=job)
    run = Run.objects.create(job=job, tenant=tenant, owner_id=owner.pk, trigger="manual")
    library = library_with_a_file(owner, settings, tmp_path)
    worker = Worker.objects.create(name="worker-1", host="host-a", pid=1234)
    staff = UserFactory(username="staff-a", tenant=tenant, is_staff=True, is_superuser=True)

    # Tenant B: a superficially similar world, and its owner is the one knocking on A's doors.
    beta = TenantFactory(slug="beta")
    intruder = UserFactory(username="owner-b", tenant=beta)
    other = JobFactory(owner=intruder, name="Nightly", slug="nightly")
    Run.objects.create(job=other, tenant=beta, owner_id=intruder.pk, trigger="manual")
    make_token(intruder, secret="inf_tenant-b")

    objects = {
        "job": str(job.pk),
        "token": str(token.pk),
        "run": str(run.pk),
        "action": str(action.pk),
        "attachment": str(attachment.pk),
        "job dataset": "sales",
        "dataset": str(dataset.pk),
        "datasource": str(dataset.datasource_id),
        "datasource driver": "sqlite",
        "library": str(library.pk),
        "library file": str(LibraryFile.objects.get(library=library, path="guides/a.txt").pk),
        "library driver": "local",
        "snapshot": str(snapshot.pk),
        "principal": f"user:{colleague.pk}",
        "job driver": "email",
        "action driver": "webhook",
        "attachment driver": "file",
        "template": next(iter(BLUEPRINTS)),
        "worker": str(worker.pk),
    }
    return World(objects=objects, owner_a=client_for(owner), staff_a=client_for(staff), user_b=client_for(intruder))


def test_the_walk_finds_the_known_routes():
    found = {route.name for route in ROUTES}

    assert {"job-list", "job-detail", "job-share-list", "job-share-detail", "token-list", "token-detail"} <= found
    assert {"jobs-list", "principal-list", "me"} <= found
    assert not {route.route for route in ROUTES} & set(SKIPPED)
    assert all(route.name for route in ROUTES), "every API route needs a name for reverse()"
    assert all(route.methods for route in ROUTES)


def test_every_path_parameter_is_known(world):
    for route in OBJECT_ROUTES:
        world.url(route)  # fails on a parameter or a collection the walk does not know


def _request(client: APIClient, method: str, url: str, route: Route) -> Any:
    if method in {"post", "put", "patch"}:
        return getattr(client, method)(url, BODIES.get(route.name, {}), format="json")
    return getattr(client, method)(url)


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=str)
def test_object_routes_are_404_across_tenants_and_401_anonymous(world, db_state, route):
    # given
    url = world.url(route)
    bound = tenant_bound(route)
    before = db_state()

    for method in route.methods:
        # when
        anonymous = _request(APIClient(), method, url, route)
        intruder = _request(world.user_b, method, url, route)

        # then
        assert anonymous.status_code == 401, (method, url, anonymous.content)
        assert anonymous.json()["statusCode"] == 401
        if bound:
            assert intruder.status_code == 404, (method, url, intruder.content)
            assert set(intruder.json()) == {"statusCode", "error", "message", "details"}
        else:
            assert intruder.status_code < 500, (method, url)
        assert db_state() == before, (method, url)

    # and the objects are real: tenant A's owner (or staff, for cluster-wide objects) reaches them
    if "get" in route.methods:
        insider = world.owner_a if bound else world.staff_a
        assert insider.get(url + GET_QUERIES.get(route.name, "")).status_code == 200, url


@pytest.mark.parametrize("route", COLLECTION_ROUTES, ids=str)
def test_collection_routes_are_401_anonymous(world, db_state, route):
    # given
    url = build_url(route, {})
    before = db_state()

    for method in route.methods:
        # when
        response = _request(APIClient(), method, url, route)

        # then
        assert response.status_code == 401, (method, url, response.content)
        assert response.json()["statusCode"] == 401
        assert db_state() == before, (method, url)


def test_natural_ids_do_not_cross_tenants_either(world, db_state):
    # given: both tenants have "nightly"; B names A's by natural id wherever a route takes a job
    before = db_state()
    routes = [
        route for route in OBJECT_ROUTES if any(parameter_kind(route, name) == "job" for name in route.parameters)
    ]

    for route in routes:
        kwargs = world.kwargs(route)
        for name in route.parameters:
            if parameter_kind(route, name) == "job":
                kwargs[name] = "alpha:nightly"
        url = build_url(route, kwargs)
        for method in route.methods:
            # when
            response = _request(world.user_b, method, url, route)

            # then
            assert response.status_code == 404, (method, url)
        # while tenant A's owner reaches the same URL
        if "get" in route.methods:
            assert world.owner_a.get(url).status_code == 200, url
    assert len(routes) >= 10
    assert db_state() == before


def test_library_natural_ids_do_not_cross_tenants_either(world, db_state):
    # given: tenant B has a library "docs" too; B names A's by natural id wherever a route takes a library
    beta_owner = User.objects.get(username="owner-b")
    theirs = Library.objects.create(tenant=beta_owner.tenant, owner=beta_owner, name="Docs", slug="docs", type="local")
    library_grant_owner(theirs, beta_owner)
    before = db_state()
    routes = [
        route for route in OBJECT_ROUTES if any(parameter_kind(route, name) == "library" for name in route.parameters)
    ]

    for route in routes:
        kwargs = world.kwargs(route)
        for name in route.parameters:
            if parameter_kind(route, name) == "library":
                kwargs[name] = "alpha:docs"
        url = build_url(route, kwargs)
        for method in route.methods:
            # when
            response = _request(world.user_b, method, url, route)

            # then
            assert response.status_code == 404, (method, url)
        # while tenant A's owner reaches the same URL
        if "get" in route.methods:
            assert world.owner_a.get(url + GET_QUERIES.get(route.name, "")).status_code == 200, url
    assert len(routes) >= 8
    assert db_state() == before


# --- OPTIONS ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_options_answers_every_route(world, db_state, route):
    # given
    url = world.url(route) if route.parameters else build_url(route, {})
    bound = bool(route.parameters) and tenant_bound(route)
    insider = world.owner_a if bound else world.staff_a  # staff: some cluster-wide routes are theirs alone
    before = db_state()

    # when
    inside = insider.options(url)
    anonymous = APIClient().options(url)
    intruder = world.user_b.options(url)

    # then
    assert inside.status_code == 200, (url, inside.content)
    assert inside.json()["name"]
    assert anonymous.status_code == 401, (url, anonymous.content)
    assert set(anonymous.json()) == {"statusCode", "error", "message", "details"}
    assert intruder.status_code < 500, (url, intruder.content)
    if bound:
        # Existence stays private: what an object's form looks like is only shown to those who may use it.
        assert "PUT" not in intruder.json().get("actions", {}), url
    assert db_state() == before


# --- every write refuses JSON nested too deeply ---------------------------------------------------------

DEEP = "[" * 1000 + "]" * 1000  # Python's decoder would raise RecursionError: a 500 before the parser's cap
WRITE_METHODS = ("post", "put", "patch")
# Writes that never read a JSON body: a deep one is not theirs to refuse. The walk only asks that they
# do not fail on it.
BODY_IGNORED = {
    ("post", "job-draft-edit"): "starts an edit of the job; takes no body",
    ("post", "job-draft-commit"): "commits the draft; takes no body",
    ("post", "job-history-cancel"): "cancels the run; takes no body",
    ("post", "dataset-snapshot-restore"): "makes the snapshot's rows current; takes no body",
    ("put", "job-attachment-file"): "the body is the file's contents, whatever bytes they are",
}
WRITES = [(route, method) for route in ROUTES for method in route.methods if method in WRITE_METHODS]


def test_the_writes_that_ignore_their_body_exist():
    assert set(BODY_IGNORED) <= {(method, route.name) for route, method in WRITES}


@pytest.mark.parametrize(("route", "method"), WRITES, ids=[f"{method} {route}" for route, method in WRITES])
def test_a_body_nested_1000_deep_is_a_400_on_every_write(world, db_state, route, method):
    # given: a caller allowed to write there, so the body is what gets refused
    url = world.url(route) if route.parameters else build_url(route, {})
    client = world.owner_a if route.parameters and tenant_bound(route) else world.staff_a
    before = db_state()

    # when
    response = getattr(client, method)(url, DEEP, content_type="application/json")

    # then
    if (method, route.name) in BODY_IGNORED:
        assert response.status_code < 500, (method, url, response.content)
        return
    assert response.status_code == 400, (method, url, response.content)
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": "The JSON body is nested more than 64 levels deep.",
        "details": {},
    }
    assert db_state() == before, (method, url)
