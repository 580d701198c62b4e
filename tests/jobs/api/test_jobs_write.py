"""Writes on ``/api/jobs`` (§2, §4): validation, read-only keys, merge semantics, Location, delete, ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine

from jobs.models import Job, JobGroupObjectPermission, JobTag, JobUserObjectPermission
from jobs.services import shares as share_services
from tests.conftest import client_for
from tests.factories import JobFactory, TeamFactory, TenantFactory, UserFactory, make_draft, tag

ERROR_KEYS = {"statusCode", "error", "message", "details"}
VALID = {"type": "email", "name": "Report", "interval": "0 8 * * *"}
DATASET = str(uuid.uuid4())


def body_without(key: str) -> dict[str, Any]:
    return {name: value for name, value in VALID.items() if name != key}


def top_fields(details: dict[str, Any]) -> set[str]:
    """``{"tags.0": …, "data": …}`` → ``{"tags", "data"}``."""
    return {key.split(".")[0].split("[")[0] for key in details}


# (id, body, the field named in details and message, a value the message must quote or None)
BAD_BODIES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("missing type", body_without("type"), "type", None),
    ("unknown type", {**VALID, "type": "fax"}, "type", "fax"),
    ("null type", {**VALID, "type": None}, "type", None),
    ("missing name", body_without("name"), "name", None),
    ("blank name", {**VALID, "name": ""}, "name", None),
    ("null name", {**VALID, "name": None}, "name", None),
    ("name too long", {**VALID, "name": "n" * 201}, "name", None),
    ("unknown key", {**VALID, "bogus": 1}, "bogus", "bogus"),
    ("snake_case key", {**VALID, "timeout_seconds": 5}, "timeout_seconds", "timeout_seconds"),
    ("data a string", {**VALID, "data": "x"}, "data", None),
    ("data a list", {**VALID, "data": []}, "data", None),
    ("data a number", {**VALID, "data": 0}, "data", None),
    ("data extra key for email", {**VALID, "data": {"url": "https://x.test"}}, "data", "url"),
    ("api-call without url", {**VALID, "type": "api-call", "data": {}}, "data", "url"),
    ("api-call with ftp url", {**VALID, "type": "api-call", "data": {"url": "ftp://x"}}, "data", "ftp://x"),
    (
        "api-call bad method",
        {**VALID, "type": "api-call", "data": {"url": "https://x.test", "method": "FETCH"}},
        "data",
        "FETCH",
    ),
    (
        "snapshot-cleanup without keep or maxAgeDays",
        {**VALID, "type": "snapshot-cleanup", "data": {"datasets": ["sales"]}},
        "data",
        "data: needs one of: keep, maxAgeDays.",
    ),
    (
        "snapshot-cleanup negative keep",
        {**VALID, "type": "snapshot-cleanup", "data": {"datasets": "all", "keep": -1}},
        "data",
        "data.keep: must be at least 0, not -1.",
    ),
    (
        "snapshot-cleanup datasets some other word",
        {**VALID, "type": "snapshot-cleanup", "data": {"datasets": "every", "keep": 1}},
        "data",
        'data.datasets: must be "all".',
    ),
    (
        "dataset-refresh without datasets",
        {**VALID, "type": "dataset-refresh", "data": {}},
        "data",
        "data.datasets: is required.",
    ),
    (
        "dataset-refresh empty datasets",
        {**VALID, "type": "dataset-refresh", "data": {"datasets": []}},
        "data",
        "data.datasets: must not be empty.",
    ),
    (
        "dataset-refresh a param that is an object",
        {**VALID, "type": "dataset-refresh", "data": {"datasets": ["sales"], "params": {"since": {"a": 1}}}},
        "data",
        "data.params.since: must be a string or a number or true or false or null, not an object.",
    ),
    ("enabled maybe", {**VALID, "enabled": "maybe"}, "enabled", None),
    ("timeoutSeconds zero", {**VALID, "timeoutSeconds": 0}, "timeoutSeconds", None),
    ("timeoutSeconds text", {**VALID, "timeoutSeconds": "soon"}, "timeoutSeconds", None),
    ("timeoutSeconds over a week", {**VALID, "timeoutSeconds": 7 * 86400 + 1}, "timeoutSeconds", None),
    ("maxAttempts zero", {**VALID, "maxAttempts": 0}, "maxAttempts", None),
    ("maxAttempts 21", {**VALID, "maxAttempts": 21}, "maxAttempts", None),
    ("maxCatchUp zero", {**VALID, "maxCatchUp": 0}, "maxCatchUp", None),
    ("misfirePolicy sometimes", {**VALID, "misfirePolicy": "sometimes"}, "misfirePolicy", "sometimes"),
    ("overlapPolicy never", {**VALID, "overlapPolicy": "never"}, "overlapPolicy", "never"),
    ("intervalType hourly", {**VALID, "intervalType": "hourly"}, "intervalType", "hourly"),
    ("tags a string", {**VALID, "tags": "a,b"}, "tags", None),
    ("tags an object", {**VALID, "tags": {"a": 1}}, "tags", None),
    ("tag too long", {**VALID, "tags": ["ok", "t" * 65]}, "tags", None),
    ("tag with a slash", {**VALID, "tags": ["a/b"]}, "tags", None),
    ("too many tags", {**VALID, "tags": [f"t{index}" for index in range(51)]}, "tags", None),
    ("startOn yesterday", {**VALID, "startOn": "yesterday"}, "startOn", "yesterday"),
    ("endOn month 13", {**VALID, "endOn": "2026-13-01"}, "endOn", "2026-13-01"),
    ("startOn bad time", {**VALID, "startOn": "2026-03-01T25:00:00Z"}, "startOn", "2026-03-01T25:00:00Z"),
    ("endOn February 30", {**VALID, "endOn": "2026-02-30"}, "endOn", "2026-02-30"),
    ("unknown timezone", {**VALID, "timezone": "Mars/Olympus_Mons"}, "timezone", "Mars/Olympus_Mons"),
    ("slug not a slug", {**VALID, "slug": "not a slug!"}, "slug", None),
]
PUT_IRRELEVANT = {"missing type", "missing name"}


@pytest.mark.parametrize(("body", "field", "value"), [case[1:] for case in BAD_BODIES], ids=[c[0] for c in BAD_BODIES])
def test_bad_body_on_create_is_a_400_naming_the_field(owner, db_state, body, field, value):
    # given
    client = client_for(owner)
    before = db_state()

    # when
    response = client.post("/api/jobs", body, format="json")

    # then
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert error["statusCode"] == 400
    assert error["error"] == "Bad Request"
    assert top_fields(error["details"]) == {field}
    assert field in error["message"]
    if value is not None:
        assert value in error["message"]
    assert Job.objects.count() == 0
    assert db_state() == before


PUT_CASES = [case for case in BAD_BODIES if case[0] not in PUT_IRRELEVANT]


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(("body", "field", "value"), [case[1:] for case in PUT_CASES], ids=[c[0] for c in PUT_CASES])
def test_bad_body_on_update_is_a_400_and_changes_nothing(roles, db_state, method, body, field, value):
    # given: only the keys under test, as Informer clients send them
    partial = {key: val for key, val in body.items() if key not in VALID or key == field or key == "data"}
    if field == "data" and "type" in body:
        partial["type"] = body["type"]
    before = db_state()

    # when
    response = getattr(roles.clients["owner"], method)(f"/api/jobs/{roles.job.pk}", partial, format="json")

    # then
    assert response.status_code == 400, (partial, response.content)
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert top_fields(error["details"]) == {field}
    assert field in error["message"]
    assert db_state() == before


def test_changing_type_validates_the_existing_data_against_the_new_type(roles, db_state):
    # given: an email job (data {}) becomes an api-call, which needs a url
    before = db_state()

    # when
    response = roles.clients["owner"].put(f"/api/jobs/{roles.job.pk}", {"type": "api-call"}, format="json")

    # then
    assert response.status_code == 400
    assert list(response.json()["details"]) == ["data"]
    assert "url" in response.json()["message"]
    assert db_state() == before


def test_read_only_keys_and_hal_keys_in_a_body_are_ignored(owner, tenant):
    # given
    stranger = UserFactory(tenant=TenantFactory())
    sent_id = str(uuid.uuid4())
    body = {
        **VALID,
        "id": sent_id,
        "nextRunAt": "2000-01-01T00:00:00Z",
        "lastRunAt": "2000-01-01T00:00:00Z",
        "lastSuccess": False,
        "lockedAt": "2000-01-01T00:00:00Z",
        "createdAt": "2000-01-01T00:00:00Z",
        "updatedAt": "2000-01-01T00:00:00Z",
        "editingId": str(uuid.uuid4()),
        "naturalId": "other:thing",
        "ownerId": stranger.pk,
        "ownerName": "Mallory",
        "permissions": {"edit": True, "run": True, "delete": True, "share": True},
        "_links": {"self": {"href": "http://evil.test/api/jobs/1"}},
        "_embedded": {"inf:job-action": [{"type": "email"}]},
    }

    # when
    response = client_for(owner).post("/api/jobs", body, format="json")

    # then
    assert response.status_code == 201, response.content
    item = response.json()
    job = Job.objects.get()
    assert item["id"] == str(job.pk) != sent_id
    assert item["ownerId"] == owner.pk == job.owner_id
    assert item["ownerName"] == "owner"
    assert item["naturalId"] == "alpha:report"
    assert item["editingId"] is None and job.editing_of_id is None
    assert item["lastRunAt"] is None and item["lastSuccess"] is None and item["lockedAt"] is None
    assert item["_links"] == {"self": {"href": f"http://testserver/api/jobs/{job.pk}"}}
    assert item["_embedded"] == {"inf:job-action": [], "inf:job-dataset": []}
    assert not job.actions.exists()
    created = datetime.fromisoformat(item["createdAt"])
    assert created.year >= 2026
    assert item["createdAt"].endswith("Z")
    next_run = datetime.fromisoformat(item["nextRunAt"])
    assert next_run > created and (next_run.hour, next_run.minute) == (8, 0)
    assert job.next_run_at == next_run


def test_create_returns_201_with_location_and_grants_the_owner_everything(owner):
    # when
    response = client_for(owner).post(
        "/api/jobs", {**VALID, "name": "Weekly Report", "tags": ["b", "a", "b"]}, format="json"
    )

    # then
    assert response.status_code == 201
    item = response.json()
    assert response["Location"] == item["_links"]["self"]["href"]
    job = Job.objects.get()
    assert response["Location"] == f"http://testserver/api/jobs/{job.pk}"
    assert item["slug"] == job.slug == "weekly-report"
    assert item["tags"] == ["a", "b"]
    assert item["permissions"] == {"edit": True, "run": True, "delete": True, "share": True}
    codenames = set(
        JobUserObjectPermission.objects.filter(content_object=job, user=owner).values_list(
            "permission__codename", flat=True
        )
    )
    assert codenames == {"view_job", "change_job", "run_job", "delete_job", "share_job"}
    assert client_for(owner).get(response["Location"]).json() == item


def test_create_defaults(owner, tenant):
    # given
    tenant.timezone = "Europe/Paris"
    tenant.save()

    # when
    item = client_for(owner).post("/api/jobs", VALID, format="json").json()

    # then
    assert item["timezone"] == "Europe/Paris"
    assert item["enabled"] is True
    assert item["data"] == {}
    assert item["description"] == ""
    assert item["tags"] == []
    assert (item["timeoutSeconds"], item["maxAttempts"]) == (3600, 1)
    assert (item["misfirePolicy"], item["overlapPolicy"], item["intervalType"]) == ("runOnce", "skip", "cron")


def test_slugs_are_made_unique_from_the_name(owner):
    client = client_for(owner)

    slugs = [client.post("/api/jobs", VALID, format="json").json()["slug"] for _ in range(3)]

    assert slugs == ["report", "report-2", "report-3"]


def test_same_slug_in_another_tenant_is_fine(roles):
    response = roles.clients["other_tenant"].post("/api/jobs", {**VALID, "slug": "nightly"}, format="json")

    assert response.status_code == 201
    assert response.json()["naturalId"] == "beta:nightly"


def test_put_to_a_taken_slug_is_a_409_and_changes_nothing(roles, db_state):
    # given
    JobFactory(owner=roles.users["owner"], slug="taken")
    before = db_state()

    # when
    response = roles.clients["owner"].put(f"/api/jobs/{roles.job.pk}", {"slug": "taken"}, format="json")

    # then
    assert response.status_code == 409
    assert response.json()["details"] == {"slug": ["A job with slug 'taken' already exists."]}
    assert db_state() == before


# --- Merge semantics ----------------------------------------------------------------------------------


@pytest.fixture
def rich_job(owner):
    job = JobFactory(
        owner=owner,
        name="Ping",
        slug="ping",
        type="api-call",
        description="old",
        data={"url": "https://status.test/ping", "method": "POST"},
        interval="*/15 * * * *",
        timezone="Europe/Berlin",
        enabled=False,
        timeout_seconds=60,
        max_attempts=3,
        misfire_policy="skip",
        overlap_policy="queue",
    )
    return tag(job, "ops", "health")


@pytest.mark.parametrize("method", ["put", "patch"])
def test_update_with_one_field_keeps_every_other_field(owner, rich_job, method):
    # given
    client = client_for(owner)
    before = client.get(f"/api/jobs/{rich_job.pk}").json()

    # when
    response = getattr(client, method)(f"/api/jobs/{rich_job.pk}", {"description": "x"}, format="json")

    # then
    assert response.status_code == 200
    after = response.json()
    assert after["description"] == "x"
    unchanged = {key for key in before if key not in {"description", "updatedAt"}}
    assert {key: after[key] for key in unchanged} == {key: before[key] for key in unchanged}
    assert after["tags"] == ["health", "ops"]
    assert after == client.get(f"/api/jobs/{rich_job.pk}").json()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"tags": ["new"]}, ["new"]),
        ({"tags": ["ops", "new"]}, ["new", "ops"]),
        ({"tags": []}, []),
        ({"description": "tags untouched"}, ["health", "ops"]),
        ({"name": "Renamed"}, ["health", "ops"]),
    ],
)
def test_tags_are_replaced_when_given_and_kept_when_not(owner, rich_job, body, expected):
    # when
    response = client_for(owner).put(f"/api/jobs/{rich_job.pk}", body, format="json")

    # then
    assert response.status_code == 200
    assert response.json()["tags"] == expected
    assert sorted(JobTag.objects.filter(job=rich_job).values_list("name", flat=True)) == expected


def test_update_ignores_read_only_keys(owner, rich_job):
    # given
    client = client_for(owner)
    before = client.get(f"/api/jobs/{rich_job.pk}").json()

    # when
    response = client.put(
        f"/api/jobs/{rich_job.pk}",
        {**before, "id": str(uuid.uuid4()), "createdAt": "2000-01-01T00:00:00Z", "ownerId": 12345, "name": "New"},
        format="json",
    )

    # then
    assert response.status_code == 200, response.content
    after = response.json()
    assert after["id"] == before["id"]
    assert after["createdAt"] == before["createdAt"]
    assert after["ownerId"] == owner.pk
    assert after["name"] == "New"


def test_update_of_data_replaces_it_whole(owner, rich_job):
    response = client_for(owner).patch(
        f"/api/jobs/{rich_job.pk}", {"data": {"url": "https://other.test"}}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["data"] == {"url": "https://other.test"}


def test_schedule_change_recomputes_next_run_and_disabling_clears_it(owner, rich_job):
    # given
    client = client_for(owner)

    # when
    enabled = client.patch(f"/api/jobs/{rich_job.pk}", {"enabled": True, "interval": "0 3 * * *"}, format="json")
    disabled = client.patch(f"/api/jobs/{rich_job.pk}", {"enabled": False}, format="json")

    # then
    assert enabled.status_code == 200
    next_run = datetime.fromisoformat(enabled.json()["nextRunAt"])
    assert next_run.minute == 0
    assert disabled.json()["nextRunAt"] is None
    rich_job.refresh_from_db()
    assert rich_job.next_run_at is None


# --- Delete -------------------------------------------------------------------------------------------


def test_delete_removes_the_job_its_tags_draft_and_permission_rows(roles):
    # given
    job = tag(roles.job, "a", "b")
    team = TeamFactory(tenant=job.tenant)
    share_services.share_set(job=job, principal=team, level=1)
    draft = make_draft(job)
    other = JobFactory(owner=roles.users["owner"])
    kept_rows = JobUserObjectPermission.objects.filter(content_object=other).count()

    # when
    response = roles.clients["owner"].delete(f"/api/jobs/{job.pk}")

    # then
    assert response.status_code == 204
    assert response.content == b""
    assert not Job.objects.filter(pk__in=[job.pk, draft.pk]).exists()
    assert not JobTag.objects.filter(job_id=job.pk).exists()
    assert not JobUserObjectPermission.objects.filter(content_object_id__in=[job.pk, draft.pk]).exists()
    assert not JobGroupObjectPermission.objects.filter(content_object_id=job.pk).exists()
    assert JobUserObjectPermission.objects.filter(content_object=other).count() == kept_rows == 5
    assert roles.clients["owner"].get(f"/api/jobs/{job.pk}").status_code == 404
    assert roles.clients["owner"].delete(f"/api/jobs/{job.pk}").status_code == 404


# --- Ids: UUID or natural id --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "put", "patch"])
def test_natural_id_addresses_the_job(roles, method):
    # when
    response = getattr(roles.clients["owner"], method)("/api/jobs/alpha:nightly", {}, format="json")

    # then
    assert response.status_code == 200
    assert response.json()["id"] == str(roles.job.pk)
    assert response.json()["naturalId"] == "alpha:nightly"


def test_natural_id_delete(roles):
    response = roles.clients["owner"].delete("/api/jobs/alpha:nightly")

    assert response.status_code == 204
    assert not Job.objects.filter(pk=roles.job.pk).exists()


def test_natural_id_resolves_to_the_committed_job_not_its_draft(roles):
    make_draft(roles.job)

    response = roles.clients["owner"].get("/api/jobs/alpha:nightly")

    assert response.json()["id"] == str(roles.job.pk)


def test_other_tenants_natural_id_is_a_404(roles):
    # given: both tenants have a job with slug "nightly"
    JobFactory(owner=roles.users["other_tenant"], slug="nightly")

    # when
    across = roles.clients["owner"].get("/api/jobs/beta:nightly")
    mine_from_there = roles.clients["other_tenant"].get("/api/jobs/alpha:nightly")
    theirs = roles.clients["other_tenant"].get("/api/jobs/beta:nightly")

    # then
    assert across.status_code == 404
    assert mine_from_there.status_code == 404
    assert theirs.status_code == 200


@pytest.mark.parametrize(
    "key",
    [
        "alpha:",
        ":nightly",
        "alpha",
        "nightly",
        "alpha:nightly:extra",
        "alpha::nightly",
        "ALPHA:nightly",
        "alpha:unknown",
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "12345",
        "alpha%3Anightly%20",
    ],
)
def test_malformed_or_unknown_ids_are_a_404(roles, db_state, key):
    # given
    before = db_state()

    # when
    responses = [
        roles.clients["owner"].get(f"/api/jobs/{key}"),
        roles.clients["owner"].put(f"/api/jobs/{key}", {"name": "x"}, format="json"),
        roles.clients["owner"].delete(f"/api/jobs/{key}"),
        roles.clients["owner"].get(f"/api/jobs/{key}/shares"),
    ]

    # then
    for response in responses:
        assert response.status_code == 404
        assert set(response.json()) == ERROR_KEYS
    assert db_state() == before


def test_retrieve_shows_every_documented_field(roles):
    item = roles.clients["owner"].get(f"/api/jobs/{roles.job.pk}").json()

    assert set(item) == {
        "_links", "id", "type", "name", "slug", "naturalId", "description", "ownerId", "ownerName", "tags",
        "data", "interval", "intervalType", "timezone", "startOn", "endOn", "dstPolicy", "enabled",
        "timeoutSeconds", "maxAttempts", "misfirePolicy", "maxCatchUp", "overlapPolicy", "nextRunAt",
        "lastRunAt", "lastSuccess", "lockedAt", "editingId", "createdAt", "updatedAt", "permissions", "_embedded",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("2026-03-01", "2026-03-01"),
        ("2026-03-01T08:00:00Z", "2026-03-01T08:00:00Z"),
        ("2026-03-01T09:00:00+01:00", "2026-03-01T08:00:00Z"),
        ("2026-03-01T08:00:00.123456Z", "2026-03-01T08:00:00Z"),
        (None, None),
        ("", None),
    ],
)
def test_start_on_accepts_iso_dates_and_offsets(owner, sent, stored):
    response = client_for(owner).post("/api/jobs", {**VALID, "startOn": sent}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["startOn"] == stored


# --- Schedules that have run their course (§5) --------------------------------------------------------

# Half a minute past noon on 2026-03-01: "now" for every case below.
NOW = datetime(2026, 3, 1, 12, 0, 30, tzinfo=UTC)


def spent_once(moment: str) -> str:
    return (
        f"startOn {moment} is not in the future, so this one-off (once) job would never run; "
        "choose a later moment or disable the job."
    )


SPENT_ONCE = spent_once("2026-02-01T00:00:00Z")


def spent_end(moment: str) -> str:
    return f"endOn {moment} is in the past, so this job would never fire again; choose a later end or disable the job."


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


# (id, schedule fields, the field named, its exact message)
SPENT: list[tuple[str, dict[str, Any], str, str]] = [
    ("once in the past", {"intervalType": "once", "startOn": "2026-02-01T00:00:00Z"}, "startOn", SPENT_ONCE),
    (
        "once at this very second",
        {"intervalType": "once", "startOn": "2026-03-01T12:00:30Z"},
        "startOn",
        spent_once("2026-03-01T12:00:30Z"),
    ),
    (
        "once on a past date, read in the zone",
        {"intervalType": "once", "startOn": "2026-03-01", "timezone": "Europe/Berlin"},
        "startOn",
        spent_once("2026-02-28T23:00:00Z"),
    ),
    (
        "cron endOn yesterday",
        {"interval": "0 8 * * *", "endOn": "2026-02-28"},
        "endOn",
        spent_end("2026-02-28T23:59:59Z"),
    ),
    (
        "cron endOn a moment ago",
        {"interval": "* * * * *", "endOn": "2026-03-01T12:00:00Z"},
        "endOn",
        spent_end("2026-03-01T12:00:00Z"),
    ),
    (
        "simple endOn in the past",
        {"interval": "1 day", "intervalType": "simple", "startOn": "2026-02-01", "endOn": "2026-02-20"},
        "endOn",
        spent_end("2026-02-20T23:59:59Z"),
    ),
    (
        "endOn yesterday in the job's zone",
        {"interval": "0 8 * * *", "endOn": "2026-02-28", "timezone": "America/New_York"},
        "endOn",
        spent_end("2026-03-01T04:59:59Z"),
    ),
]


@pytest.mark.parametrize(("fields", "field", "message"), [c[1:] for c in SPENT], ids=[c[0] for c in SPENT])
def test_creating_an_enabled_job_whose_schedule_is_spent_is_a_400_naming_the_field(
    owner, clock, db_state, fields, field, message
):
    # given
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", {"type": "email", "name": "Report", **fields}, format="json")

    # then
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["details"] == {field: [message]}
    assert body["message"] == message  # it opens with its field ("startOn 2026-… is not in the future…"): once
    assert db_state() == before


def test_a_once_in_the_past_with_an_end_in_the_past_names_both(owner, clock, db_state):
    before = db_state()

    response = client_for(owner).post(
        "/api/jobs",
        {
            "type": "email",
            "name": "Report",
            "intervalType": "once",
            "startOn": "2026-02-01T00:00:00Z",
            "endOn": "2026-02-02",
        },
        format="json",
    )

    assert response.status_code == 400, response.content
    assert set(response.json()["details"]) == {"startOn", "endOn"}
    assert db_state() == before


@pytest.mark.parametrize(("fields", "field", "message"), [c[1:] for c in SPENT], ids=[c[0] for c in SPENT])
def test_a_disabled_job_may_keep_a_spent_schedule(owner, clock, fields, field, message):
    response = client_for(owner).post(
        "/api/jobs", {"type": "email", "name": "Report", "enabled": False, **fields}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["nextRunAt"] is None


@pytest.mark.parametrize(
    "fields",
    [
        {"intervalType": "once", "startOn": "2026-03-01T12:00:31Z"},
        {"interval": "0 20 * * *", "endOn": "2026-03-01"},  # the end of today is still to come
        {"interval": "* * * * *", "endOn": "2026-03-01T12:01:00Z"},
    ],
)
def test_a_schedule_still_to_come_is_accepted(owner, clock, fields):
    response = client_for(owner).post("/api/jobs", {"type": "email", "name": "Report", **fields}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["nextRunAt"] is not None


@pytest.fixture
def finished_once(owner: Any) -> Job:
    """An enabled one-off job whose moment has passed (it ran last month)."""
    return JobFactory(
        owner=owner, name="Launch mail", interval="", interval_type="once", start_on="2026-02-01T00:00:00Z"
    )


@pytest.fixture
def ended_cron(owner: Any) -> Job:
    """An enabled cron job whose endOn has passed."""
    return JobFactory(owner=owner, name="Campaign", interval="0 8 * * *", end_on="2026-02-15")


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"startOn": "2026-02-10T00:00:00Z"}, "startOn"),  # moved, but still in the past
        ({"timezone": "Europe/Berlin"}, "startOn"),
        ({"interval": "0 9 * * *"}, "endOn"),
        ({"endOn": "2026-02-20"}, "endOn"),
    ],
)
def test_an_update_that_writes_a_spent_schedule_on_an_enabled_job_is_a_400(
    owner, clock, db_state, finished_once, ended_cron, method, body, field
):
    # given
    job = finished_once if field == "startOn" else ended_cron
    before = db_state()

    # when
    response = getattr(client_for(owner), method)(f"/api/jobs/{job.pk}", body, format="json")

    # then
    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == [field]
    assert db_state() == before


@pytest.mark.parametrize("method", ["put", "patch"])
def test_enabling_a_finished_once_job_again_is_a_400(owner, clock, db_state, finished_once, method):
    # given
    finished_once.enabled = False
    finished_once.save()
    before = db_state()

    # when
    response = getattr(client_for(owner), method)(f"/api/jobs/{finished_once.pk}", {"enabled": True}, format="json")

    # then
    assert response.status_code == 400, response.content
    assert response.json()["details"] == {"startOn": [SPENT_ONCE]}
    assert db_state() == before


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    "body",
    [
        {"name": "Launch mail (sent)"},
        {"description": "Sent on 1 February."},
        {"tags": ["done"]},
        # a client that sends the whole job back, schedule unchanged
        {"name": "Launch mail (sent)", "intervalType": "once", "startOn": "2026-02-01T00:00:00Z", "enabled": True},
        {"startOn": "2026-02-01T01:00:00+01:00"},  # the same moment, written with an offset
    ],
)
def test_an_unrelated_update_of_a_finished_once_job_is_accepted(owner, clock, finished_once, method, body):
    response = getattr(client_for(owner), method)(f"/api/jobs/{finished_once.pk}", body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["nextRunAt"] is None


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_unrelated_update_of_an_ended_job_is_accepted(owner, clock, ended_cron, method):
    response = getattr(client_for(owner), method)(
        f"/api/jobs/{ended_cron.pk}", {"name": "Campaign (over)", "endOn": "2026-02-15"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert Job.objects.get(pk=ended_cron.pk).name == "Campaign (over)"


@pytest.mark.parametrize("method", ["put", "patch"])
def test_disabling_a_finished_job_or_giving_it_a_new_moment_is_accepted(owner, clock, finished_once, method):
    client = client_for(owner)

    disabled = getattr(client, method)(f"/api/jobs/{finished_once.pk}", {"enabled": False}, format="json")
    moved = getattr(client, method)(
        f"/api/jobs/{finished_once.pk}", {"enabled": True, "startOn": "2026-04-01T08:00:00Z"}, format="json"
    )

    assert disabled.status_code == 200, disabled.content
    assert moved.status_code == 200, moved.content
    assert moved.json()["nextRunAt"] == "2026-04-01T08:00:00Z"


# --- Form bodies (the browsable API's HTML form posts these): text fields, JSON-typed ones as JSON text ----

FORM = {
    "type": "email",
    "name": "Form report",
    "interval": "0 8 * * *",
    "enabled": "true",
    "timeoutSeconds": "60",
    "tags": '["reports", "weekly"]',
    "data": "{}",
    "dstPolicy": '{"gap": "skip"}',
}


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_a_form_encoded_create_makes_the_job(owner, encoding):
    # given
    client = client_for(owner)

    # when
    if encoding == "multipart":
        response = client.post("/api/jobs", FORM, format="multipart")
    else:
        response = client.post("/api/jobs", FORM)  # the test client's default: application/x-www-form-urlencoded

    # then
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.type, job.name, job.interval, job.enabled, job.timeout_seconds) == (
        "email",
        "Form report",
        "0 8 * * *",
        True,
        60,
    )
    assert (job.tags, job.data, job.dst_policy) == (["reports", "weekly"], {}, {"gap": "skip"})


def test_the_browsable_apis_form_as_a_browser_posts_it_makes_the_job(owner, tenant):
    # given: every field the HTML form shows, left empty but the few filled in, the checkbox unticked
    untouched = {
        name: ""
        for name in ("slug", "description", "data", "timezone", "startOn", "endOn", "dstPolicy", "timeoutSeconds")
    }
    body = {
        "csrfmiddlewaretoken": "token",
        **untouched,
        "type": "email",
        "name": "From the form",
        "interval": "0 8 * * *",
        "intervalType": "cron",
        "misfirePolicy": "runOnce",
        "overlapPolicy": "skip",
        "maxAttempts": "",
        "maxCatchUp": "",
    }

    # when
    response = client_for(owner).post("/api/jobs", body, format="multipart")

    # then: empty optional fields take their defaults; an unticked checkbox is false, as DRF reads forms
    assert response.status_code == 201, response.content
    job = Job.objects.get()
    assert (job.slug, job.timezone, job.data, job.dst_policy, job.enabled) == (
        "from-the-form",
        tenant.timezone,
        {},
        {},
        False,
    )
    assert (job.start_on, job.end_on, job.timeout_seconds) == ("", "", Job().timeout_seconds)


# (id, changed form values, the field named, text the message contains)
BAD_FORMS: list[tuple[str, dict[str, Any], str, str]] = [
    ("a number in words", {"timeoutSeconds": "sixty"}, "timeoutSeconds", "'sixty' is not a whole number."),
    ("a number in other digits", {"timeoutSeconds": "\u0666\u0660"}, "timeoutSeconds", "is not a whole number."),
    ("not a boolean", {"enabled": "maybe"}, "enabled", "Must be a valid boolean."),
    ("tags not JSON", {"tags": "reports, weekly"}, "tags", "'tags' must be JSON text in a form body"),
    ("tags JSON but not a list", {"tags": '{"a": 1}'}, "tags", "Expected a list of items"),
    ("data not JSON", {"data": "{to: ops}"}, "data", "'data' must be JSON text in a form body"),
    ("data JSON but not an object", {"data": "[]"}, "data", "data"),
    ("data of the wrong type", {"data": '{"url": "https://x.test"}'}, "data", "url"),
    ("dstPolicy not JSON", {"dstPolicy": "skip"}, "dstPolicy", "'dstPolicy' must be JSON text in a form body"),
    ("data nested too deep", {"data": "[" * 65 + "]" * 65}, "data", "nested more than 64 levels deep"),
    ("an unknown field", {"colour": "red"}, "colour", "Unknown field 'colour'."),
    ("a blank name", {"name": ""}, "name", "This field may not be blank."),
]


@pytest.mark.parametrize(("changes", "field", "text"), [c[1:] for c in BAD_FORMS], ids=[c[0] for c in BAD_FORMS])
def test_a_form_encoded_create_with_a_bad_value_is_a_400_naming_the_field(owner, db_state, changes, field, text):
    # given
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", {**FORM, **changes})

    # then
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert top_fields(error["details"]) == {field}
    assert text in error["message"]
    assert db_state() == before


def test_a_form_field_sent_twice_is_a_400_naming_it(owner, db_state):
    before = db_state()

    response = client_for(owner).post("/api/jobs", {**FORM, "name": ["One", "Two"]})

    assert response.status_code == 400, response.content
    assert response.json()["details"] == {"name": ["'name' was sent 2 times; send one value."]}
    assert db_state() == before


@pytest.mark.parametrize("encoding", ["multipart", "urlencoded"])
def test_a_form_encoded_update_merges_like_a_json_one(owner, rich_job, encoding):
    # given
    client = client_for(owner)
    body = {"name": "Renamed", "tags": '["x"]', "timeoutSeconds": "90", "description": ""}

    # when
    if encoding == "multipart":
        response = client.put(f"/api/jobs/{rich_job.pk}", body, format="multipart")
    else:
        response = client.patch(
            f"/api/jobs/{rich_job.pk}", urlencode(body), content_type="application/x-www-form-urlencoded"
        )

    # then: what was not sent is kept, the unsent checkbox included (an update merges)
    assert response.status_code == 200, response.content
    job = Job.objects.get(pk=rich_job.pk)
    assert (job.name, job.tags, job.timeout_seconds, job.description) == ("Renamed", ["x"], 90, "")
    assert (job.enabled, job.interval, job.data) == (rich_job.enabled, rich_job.interval, rich_job.data)


def test_a_form_encoded_update_with_a_bad_value_is_a_400_and_changes_nothing(owner, rich_job, db_state):
    before = db_state()

    response = client_for(owner).put(f"/api/jobs/{rich_job.pk}", {"name": "Renamed", "tags": "x"}, format="multipart")

    assert response.status_code == 400, response.content
    assert top_fields(response.json()["details"]) == {"tags"}
    assert db_state() == before


def test_a_form_encoded_create_from_a_template(owner):
    response = client_for(owner).post("/api/jobs", {"templateId": "weekly-report-email", "name": "Mondays"})

    assert response.status_code == 201, response.content
    job = Job.objects.get()
    assert (job.name, job.type, job.interval) == ("Mondays", "email", "0 8 * * mon")
    assert job.actions.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [({**VALID, "enabled": "true"}, "enabled"), ({**VALID, "timeoutSeconds": "60"}, "timeoutSeconds")],
)
def test_json_bodies_stay_strict(owner, db_state, body, field):
    before = db_state()

    response = client_for(owner).post("/api/jobs", body, format="json")

    assert response.status_code == 400, response.content
    assert top_fields(response.json()["details"]) == {field}
    assert db_state() == before
