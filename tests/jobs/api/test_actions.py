"""Actions of a job (§7): ``/api/jobs/{id}/actions[/{jobActionId}]`` — order, validation, embedding, permissions.

The factories and helpers at the top are shared by the other workflow tests (attachments, previews, drafts,
delivery), which import them from here.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import factory
import pytest
from django.core import mail

from jobs.models import Job, JobAction, JobAttachment
from jobs.services import actions as action_services
from tests.conftest import ROLES, Roles, client_for
from tests.factories import JobFactory

ERROR_KEYS = {"statusCode", "error", "message", "details"}
DENIED_OUTSIDE = {"anonymous": 401, "other_tenant": 404, "no_share": 404}
EMAIL_DATA = {"to": "ops@example.com", "subject": "Nightly report"}


class JobActionFactory(factory.django.DjangoModelFactory):
    """An email action appended to its job's workflow."""

    class Meta:
        model = JobAction

    job = factory.SubFactory(JobFactory)
    type = "email"
    name = factory.Sequence(lambda n: f"Action {n:03d}")
    index = factory.LazyAttribute(lambda o: JobAction.objects.filter(job=o.job).count())
    data = factory.LazyFunction(lambda: dict(EMAIL_DATA))


class JobAttachmentFactory(factory.django.DjangoModelFactory):
    """A ``file`` attachment without its file (upload one with ``upload``)."""

    class Meta:
        model = JobAttachment

    action = factory.SubFactory(JobActionFactory)
    type = "file"
    name = factory.Sequence(lambda n: f"file-{n:03d}.bin")
    data = factory.LazyFunction(dict)


def upload(attachment: JobAttachment, content: bytes, content_type: str = "application/octet-stream") -> JobAttachment:
    """Store ``content`` as the file of ``attachment`` the way the upload route does."""
    return action_services.attachment_upload(
        attachment=attachment, stream=io.BytesIO(content), filename=attachment.name, content_type=content_type
    )


def stored_files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (MEDIA_ROOT) by its relative path, with its bytes."""
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def order(job: Job) -> list[tuple[str, int]]:
    """``(name, index)`` of the job's actions in execution order."""
    return list(JobAction.objects.filter(job=job).order_by("index", "created_at").values_list("name", "index"))


def top_fields(details: dict[str, Any]) -> set[str]:
    """``{"data": …, "runCondition.status": …}`` → ``{"data", "runCondition"}``."""
    return {key.split(".")[0].split("[")[0] for key in details}


def expect(view: int, edit: int, admin: int, owner: int) -> dict[str, int]:
    return {**DENIED_OUTSIDE, "view": view, "edit": edit, "admin": admin, "owner": owner}


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


def actions_url(job: Job) -> str:
    return f"/api/jobs/{job.pk}/actions"


def action_url(action: JobAction) -> str:
    return f"/api/jobs/{action.job_id}/actions/{action.pk}"


# --- Create, read ---------------------------------------------------------------------------------------


def test_create_answers_201_with_the_item_and_its_location(job, client):
    # given
    body = {
        "type": "webhook",
        "name": "Ping",
        "data": {"url": "https://example.com/hook", "method": "POST", "body": "{{ job.name }}"},
        "runCondition": {"status": "success"},
    }

    # when
    response = client.post(actions_url(job), body, format="json")

    # then
    assert response.status_code == 201, response.content
    item = response.json()
    action = JobAction.objects.get()
    href = f"http://testserver/api/jobs/{job.pk}/actions/{action.pk}"
    assert response["Location"] == href
    assert {key: value for key, value in item.items() if key not in {"createdAt", "updatedAt"}} == {
        "_links": {"self": {"href": href}},
        "id": str(action.pk),
        "jobId": str(job.pk),
        "type": "webhook",
        "name": "Ping",
        "index": 0,
        "enabled": True,
        "data": {"url": "https://example.com/hook", "method": "POST", "body": "{{ job.name }}"},
        "runCondition": {"status": "success"},
        "attachments": [],
    }
    assert (action.job_id, action.type, action.name, action.index) == (job.pk, "webhook", "Ping", 0)
    assert action.run_condition == {"status": "success"}


def test_an_empty_run_condition_is_stored_as_none(job, client):
    response = client.post(
        actions_url(job), {"type": "email", "name": "Send", "data": EMAIL_DATA, "runCondition": {}}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["runCondition"] is None
    assert JobAction.objects.get().run_condition is None


def test_without_an_index_an_action_is_appended(job, client):
    # when
    for name in ("first", "second", "third"):
        response = client.post(actions_url(job), {"type": "email", "name": name, "data": EMAIL_DATA}, format="json")
        assert response.status_code == 201, response.content

    # then
    assert order(job) == [("first", 0), ("second", 1), ("third", 2)]


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (0, ["new", "a", "b", "c"]),
        (1, ["a", "new", "b", "c"]),
        (2, ["a", "b", "new", "c"]),
        (3, ["a", "b", "c", "new"]),
        (99, ["a", "b", "c", "new"]),  # past the end: last
    ],
)
def test_inserting_at_an_index_shifts_the_others(job, client, index, expected):
    # given
    for name in ("a", "b", "c"):
        JobActionFactory(job=job, name=name)

    # when
    response = client.post(
        actions_url(job), {"type": "email", "name": "new", "index": index, "data": EMAIL_DATA}, format="json"
    )

    # then
    assert response.status_code == 201, response.content
    assert response.json()["index"] == expected.index("new")
    assert order(job) == [(name, number) for number, name in enumerate(expected)]


@pytest.mark.parametrize(
    ("moved", "index", "expected"),
    [
        ("a", 2, ["b", "c", "a", "d"]),
        ("a", 3, ["b", "c", "d", "a"]),
        ("a", 50, ["b", "c", "d", "a"]),
        ("d", 0, ["d", "a", "b", "c"]),
        ("c", 1, ["a", "c", "b", "d"]),
        ("b", 1, ["a", "b", "c", "d"]),  # where it already is
    ],
)
def test_moving_an_action_renumbers_the_others(job, client, moved, index, expected):
    # given
    actions = {name: JobActionFactory(job=job, name=name) for name in "abcd"}

    # when
    response = client.put(action_url(actions[moved]), {"index": index}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["index"] == expected.index(moved)
    assert order(job) == [(name, number) for number, name in enumerate(expected)]
    assert JobAction.objects.get(pk=actions[moved].pk).data == EMAIL_DATA


@pytest.mark.parametrize(("deleted", "expected"), [("a", ["b", "c"]), ("b", ["a", "c"]), ("c", ["a", "b"])])
def test_deleting_an_action_closes_the_gap(job, client, deleted, expected):
    # given
    actions = {name: JobActionFactory(job=job, name=name) for name in "abc"}

    # when
    response = client.delete(action_url(actions[deleted]))

    # then
    assert response.status_code == 204
    assert response.content == b""
    assert order(job) == [(name, number) for number, name in enumerate(expected)]


def test_deleting_an_action_deletes_its_attachments_and_their_files(
    job, client, media, django_capture_on_commit_callbacks
):
    # given
    action = JobActionFactory(job=job)
    upload(JobAttachmentFactory(action=action, name="a.bin"), b"first")
    kept = upload(JobAttachmentFactory(action=JobActionFactory(job=job), name="b.bin"), b"second")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(action_url(action))

    # then
    assert response.status_code == 204
    assert list(JobAttachment.objects.values_list("pk", flat=True)) == [kept.pk]
    assert stored_files(media) == {f"attachments/{kept.pk}/b.bin": b"second"}


def test_put_merges_the_fields_it_is_given(job, client):
    # given
    action = JobActionFactory(job=job, name="Send", run_condition={"status": "failure"}, enabled=True)

    # when
    response = client.put(action_url(action), {"name": "Send it", "enabled": False}, format="json")

    # then
    assert response.status_code == 200, response.content
    action.refresh_from_db()
    assert (action.name, action.enabled, action.index) == ("Send it", False, 0)
    assert action.data == EMAIL_DATA
    assert action.run_condition == {"status": "failure"}


def test_patch_replaces_data_as_a_whole_and_clears_a_run_condition(job, client):
    # given
    action = JobActionFactory(job=job, run_condition={"status": "failure"})

    # when
    response = client.patch(
        action_url(action), {"data": {"to": ["a@example.com"], "subject": "New"}, "runCondition": None}, format="json"
    )

    # then
    assert response.status_code == 200, response.content
    action.refresh_from_db()
    assert action.data == {"to": ["a@example.com"], "subject": "New"}
    assert action.run_condition is None


def test_list_is_an_envelope_in_execution_order(job, client):
    # given
    second = JobActionFactory(job=job, name="second", index=1)
    first = JobActionFactory(job=job, name="first", index=0)
    JobActionFactory(job=JobFactory(owner=job.owner), name="elsewhere")

    # when
    response = client.get(actions_url(job))

    # then
    assert response.status_code == 200
    body = response.json()
    assert body["_links"] == {"self": {"href": f"http://testserver/api/jobs/{job.pk}/actions"}}
    assert (body["start"], body["count"], body["total"]) == (0, 2, 2)
    items = body["_embedded"]["inf:job-action"]
    assert [item["id"] for item in items] == [str(first.pk), str(second.pk)]
    assert items[0]["_links"] == {"self": {"href": f"http://testserver{action_url(first)}"}}


def test_the_job_embeds_its_actions_with_their_attachments(job, client, media):
    # given
    # created out of order: the embedding follows the index, not the creation
    JobActionFactory(job=job, name="Notify", type="webhook", index=1, data={"url": "https://example.com/x"})
    first = JobActionFactory(job=job, name="Send", index=0)
    attachment = upload(JobAttachmentFactory(action=first, name="report.pdf"), b"%PDF-1.7", "application/pdf")
    JobAttachmentFactory(action=first, type="dataset", name="sales.csv", data={"dataset": "sales"})

    # when
    response = client.get(f"/api/jobs/{job.pk}")

    # then
    assert response.status_code == 200
    embedded = response.json()["_embedded"]
    assert embedded["inf:job-dataset"] == []
    actions = embedded["inf:job-action"]
    assert [(item["name"], item["index"], item["type"]) for item in actions] == [
        ("Send", 0, "email"),
        ("Notify", 1, "webhook"),
    ]
    assert actions[1]["attachments"] == []
    file_item, dataset_item = actions[0]["attachments"]
    assert {key: value for key, value in file_item.items() if key not in {"createdAt", "updatedAt"}} == {
        "_links": {
            "self": {"href": f"http://testserver/api/jobs/{job.pk}/actions/{first.pk}/attachments/{attachment.pk}"}
        },
        "id": str(attachment.pk),
        "jobActionId": str(first.pk),
        "type": "file",
        "name": "report.pdf",
        "data": {},
        "contentType": "application/pdf",
        "size": 8,
        "sha256": hashlib.sha256(b"%PDF-1.7").hexdigest(),
        "hasFile": True,
    }
    assert (dataset_item["type"], dataset_item["name"], dataset_item["data"], dataset_item["hasFile"]) == (
        "dataset",
        "sales.csv",
        {"dataset": "sales"},
        False,
    )


@pytest.mark.parametrize("key", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_action_is_a_404(job, client, key):
    response = client.get(f"/api/jobs/{job.pk}/actions/{key}")

    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_an_action_of_another_job_is_a_404_under_this_job(job, client, db_state, method):
    # given: both jobs belong to the caller
    other = JobActionFactory(job=JobFactory(owner=job.owner), name="theirs")
    before = db_state()

    # when
    response = getattr(client, method)(f"/api/jobs/{job.pk}/actions/{other.pk}", {"name": "mine"}, format="json")

    # then
    assert response.status_code == 404
    assert db_state() == before


def test_actions_of_a_job_are_reachable_by_its_natural_id(job, client):
    action = JobActionFactory(job=job)

    response = client.get(f"/api/jobs/alpha:nightly/actions/{action.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == str(action.pk)


# --- Validation -----------------------------------------------------------------------------------------

VALID = {"type": "email", "name": "Send", "data": EMAIL_DATA}
WEBHOOK = {"type": "webhook", "name": "Ping", "data": {"url": "https://example.com/hook"}}


def with_data(base: dict[str, Any], **data: Any) -> dict[str, Any]:
    return {**base, "data": {**base["data"], **data}}


def without(base: dict[str, Any], key: str) -> dict[str, Any]:
    return {name: value for name, value in base.items() if name != key}


# (id, body, the field named in details and message, text the message must contain or None)
BAD_BODIES: list[tuple[str, dict[str, Any], str, str | None]] = [
    ("unknown type", {**VALID, "type": "fax"}, "type", "fax"),
    ("missing type", without(VALID, "type"), "type", None),
    ("missing name", without(VALID, "name"), "name", None),
    ("blank name", {**VALID, "name": ""}, "name", None),
    ("name too long", {**VALID, "name": "n" * 201}, "name", None),
    ("unknown key", {**VALID, "bogus": 1}, "bogus", "bogus"),
    ("snake_case key", {**VALID, "run_condition": None}, "run_condition", "run_condition"),
    ("data a string", {**VALID, "data": "x"}, "data", None),
    ("data a list", {**VALID, "data": []}, "data", None),
    ("email without to", {**VALID, "data": {"subject": "Hi"}}, "data", "data.to: is required."),
    ("email without subject", {**VALID, "data": {"to": "ops@example.com"}}, "data", "data.subject: is required."),
    ("email bad address", with_data(VALID, to="not-an-address"), "data", "'not-an-address'"),
    ("email one bad address of a list", with_data(VALID, to=["a@example.com", "b@"]), "data", "'b@'"),
    ("email bad cc", with_data(VALID, cc="ops@example.com, nope"), "data", "data.cc"),
    ("email bad template in to", with_data(VALID, to="{{ params.to|nosuchfilter }}"), "data", "data.to"),
    ("email bad template syntax in subject", with_data(VALID, subject="Report {% if %}"), "data", "data.subject"),
    ("email bad template in body", with_data(VALID, body="{% for row in %}"), "data", "data.body"),
    ("email unknown format", with_data(VALID, format="pdf"), "data", 'data.format: "pdf" is not one of'),
    ("email unknown data key", with_data(VALID, attachments=[]), "data", "data.attachments: is not a known"),
    ("webhook with ftp url", with_data(WEBHOOK, url="ftp://example.com/file"), "data", "ftp://example.com/file"),
    ("webhook without url", {**WEBHOOK, "data": {"method": "POST"}}, "data", "data.url: is required."),
    ("webhook unknown method", with_data(WEBHOOK, method="FETCH"), "data", 'data.method: "FETCH" is not one of'),
    (
        "webhook header value with a newline",
        with_data(WEBHOOK, headers={"X-Token": "a\r\nInjected: yes"}),
        "data",
        "data.headers.X-Token",
    ),
    ("webhook header name with a newline", with_data(WEBHOOK, headers={"X-A\nB": "v"}), "data", "data.headers"),
    ("webhook header not a string", with_data(WEBHOOK, headers={"X-Count": 3}), "data", "data.headers.X-Count"),
    ("webhook zero timeout", with_data(WEBHOOK, timeoutSeconds=0), "data", "data.timeoutSeconds"),
    ("webhook status out of range", with_data(WEBHOOK, expectStatus=[99]), "data", "data.expectStatus[0]"),
    ("webhook bad template in body", with_data(WEBHOOK, body="{% endif %}"), "data", "data.body"),
    ("dataset without operation", {"type": "dataset", "name": "d", "data": {"dataset": "sales"}}, "data", "operation"),
    ("library blank", {"type": "library", "name": "l", "data": {"library": ""}}, "data", "data.library: must not be"),
    (
        "library unknown",
        {"type": "library", "name": "l", "data": {"library": "alpha:nope"}},
        "data",
        "data.library: there is no library 'alpha:nope' that you can read.",
    ),
    (
        "library escaping folder",
        {"type": "library", "name": "l", "data": {"library": "alpha:nope", "path": "../up"}},
        "data",
        "data.path: '../up' cannot be a library's folder: it contains '..'.",
    ),
    ("negative index", {**VALID, "index": -1}, "index", None),
    ("index not a number", {**VALID, "index": "first"}, "index", None),
    ("enabled maybe", {**VALID, "enabled": "maybe"}, "enabled", None),
    ("runCondition unknown status", {**VALID, "runCondition": {"status": "maybe"}}, "runCondition", None),
    (
        "runCondition nested error",
        {**VALID, "runCondition": {"all": [{"status": "success"}, {"param": ""}]}},
        "runCondition",
        "runCondition.all[1].param",
    ),
    (
        "runCondition two operators",
        {**VALID, "runCondition": {"status": "success", "param": "x", "equals": 1}},
        "runCondition",
        "exactly one",
    ),
    ("runCondition a list", {**VALID, "runCondition": [{"status": "success"}]}, "runCondition", "must be an object"),
    ("runCondition unknown key", {**VALID, "runCondition": {"status": "any", "when": 1}}, "runCondition", "when"),
]


@pytest.mark.parametrize(("body", "field", "text"), [case[1:] for case in BAD_BODIES], ids=[c[0] for c in BAD_BODIES])
def test_a_bad_body_on_create_is_a_400_naming_the_field_and_writes_nothing(job, client, db_state, body, field, text):
    # given
    JobActionFactory(job=job, name="existing")
    before = db_state()

    # when
    response = client.post(actions_url(job), body, format="json")

    # then
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert (error["statusCode"], error["error"]) == (400, "Bad Request")
    assert top_fields(error["details"]) == {field}
    assert error["message"].startswith(field)
    if text is not None:
        assert text in error["message"]
    assert JobAction.objects.count() == 1
    assert db_state() == before


def test_a_bad_run_condition_names_its_error_path(job, client):
    response = client.post(actions_url(job), {**VALID, "runCondition": {"status": "maybe"}}, format="json")

    assert response.status_code == 400
    assert response.json()["message"] == (
        "runCondition.status: invalid status 'maybe'; expected 'success', 'failure', 'any'"
    )
    assert response.json()["details"] == {
        "runCondition": ["runCondition.status: invalid status 'maybe'; expected 'success', 'failure', 'any'"]
    }


PUT_CASES = [case for case in BAD_BODIES if case[0] not in {"missing type", "missing name", "unknown type"}]
GOOD_DATA = {
    "email": EMAIL_DATA,
    "webhook": WEBHOOK["data"],
    "dataset": {"operation": "refresh", "dataset": "sales"},
    "library": {"library": "6f1c1f4e-4c55-4a39-8f0a-3f0c2f1f7d11"},
}


@pytest.mark.parametrize(("body", "field", "text"), [case[1:] for case in PUT_CASES], ids=[c[0] for c in PUT_CASES])
def test_a_bad_body_on_put_is_a_400_and_changes_nothing(job, client, db_state, body, field, text):
    # given: an action of the body's type, so that only the bad part is wrong
    action = JobActionFactory(job=job, type=body["type"], name="existing", data=GOOD_DATA[body["type"]])
    before = db_state()

    # when
    response = client.put(action_url(action), without(body, "type"), format="json")

    # then
    assert response.status_code == 400, response.content
    assert top_fields(response.json()["details"]) == {field}
    if text is not None:
        assert text in response.json()["message"]
    assert db_state() == before


def test_a_put_changing_the_type_validates_data_against_the_new_type(job, client, db_state):
    # given
    action = JobActionFactory(job=job)
    before = db_state()

    # when
    response = client.put(action_url(action), {"type": "webhook"}, format="json")

    # then
    assert response.status_code == 400
    assert response.json()["message"] == (
        "data.to: is not a known property; the known properties are: url, method, headers, body, timeoutSeconds, "
        "expectStatus."
    )
    assert response.json()["details"]["data"][1].startswith("data.subject: is not a known property;")
    assert db_state() == before


def test_read_only_fields_and_links_in_a_body_are_ignored(job, client):
    # given
    action = JobActionFactory(job=job, name="Send")
    other = JobFactory(owner=job.owner)

    # when
    response = client.put(
        action_url(action),
        {"name": "Sent", "id": "x", "jobId": str(other.pk), "attachments": [], "_links": {}, "createdAt": "x"},
        format="json",
    )

    # then
    assert response.status_code == 200, response.content
    stored = JobAction.objects.get()
    assert (stored.pk, stored.job_id, stored.name) == (action.pk, job.pk, "Sent")


# --- Permissions ----------------------------------------------------------------------------------------

NEW_ACTION = {"type": "email", "name": "Added", "data": EMAIL_DATA}
# (method, path with {job} and {action} placeholders, body, expected status per role)
ROUTES: dict[str, tuple[str, str, dict[str, Any] | None, dict[str, int]]] = {
    "list": ("get", "/api/jobs/{job}/actions", None, expect(200, 200, 200, 200)),
    "list by natural id": ("get", "/api/jobs/alpha:nightly/actions", None, expect(200, 200, 200, 200)),
    "retrieve": ("get", "/api/jobs/{job}/actions/{action}", None, expect(200, 200, 200, 200)),
    "create": ("post", "/api/jobs/{job}/actions", NEW_ACTION, expect(403, 201, 201, 201)),
    "put": ("put", "/api/jobs/{job}/actions/{action}", {"name": "Renamed"}, expect(403, 200, 200, 200)),
    "patch": ("patch", "/api/jobs/{job}/actions/{action}", {"name": "Renamed"}, expect(403, 200, 200, 200)),
    "delete": ("delete", "/api/jobs/{job}/actions/{action}", None, expect(403, 204, 204, 204)),
    "preview": ("post", "/api/jobs/{job}/actions/{action}/_preview", {}, expect(403, 200, 200, 200)),
}


def effect_happened(route: str, roles: Roles) -> None:
    """Assert that the successful request did what it says, and nothing else."""
    names = list(JobAction.objects.filter(job=roles.job).order_by("index").values_list("name", flat=True))
    if route == "create":
        assert names == ["Existing", "Added"]
    elif route in {"put", "patch"}:
        assert names == ["Renamed"]
    elif route == "delete":
        assert names == []
    else:
        assert names == ["Existing"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(roles, db_state, route, role):
    # given
    method, path, body, statuses = ROUTES[route]
    action = JobActionFactory(job=roles.job, name="Existing")
    path = path.replace("{job}", str(roles.job.pk)).replace("{action}", str(action.pk))
    before = db_state()

    # when
    kwargs = {"data": body, "format": "json"} if body is not None else {}
    response = getattr(roles.clients[role], method)(path, **kwargs)

    # then
    assert response.status_code == statuses[role], response.content
    assert mail.outbox == []
    if response.status_code >= 400:
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["statusCode"] == statuses[role]
        assert db_state() == before
    elif method == "get" or route == "preview":
        assert db_state() == before
    else:
        effect_happened(route, roles)


# --- Run conditions that can never be true --------------------------------------------------------------

NEVER_TRUE_CONDITIONS = [
    ({"all": [{"any": []}]}, "runCondition.all[0].any"),
    ({"any": []}, "runCondition.any"),
    ({"not": {"all": []}}, "runCondition.not"),
    ({"param": "region", "in": []}, "runCondition.in"),
    ({"all": [{"status": "success"}, {"status": "failure"}]}, "runCondition.all"),
]


@pytest.mark.parametrize(("condition", "path"), NEVER_TRUE_CONDITIONS)
def test_a_run_condition_that_can_never_be_true_is_a_400_on_create(job, client, db_state, condition, path):
    # given
    before = db_state()

    # when
    response = client.post(actions_url(job), {**NEW_ACTION, "runCondition": condition}, format="json")

    # then
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert list(body["details"]) == ["runCondition"]
    assert body["details"]["runCondition"][0].startswith(f"{path}: ")
    assert body["details"]["runCondition"][0].endswith(
        "so the condition can never be true and the action would never run"
    )
    assert body["message"].startswith(f"{path}: ")
    assert db_state() == before


@pytest.mark.parametrize("method", ["put", "patch"])
def test_a_run_condition_that_can_never_be_true_is_a_400_on_update(job, client, db_state, method):
    # given
    action = JobActionFactory(job=job, run_condition={"status": "success"})
    before = db_state()

    # when
    response = getattr(client, method)(action_url(action), {"runCondition": {"all": [{"any": []}]}}, format="json")

    # then
    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == ["runCondition"]
    assert db_state() == before


def test_a_run_condition_with_a_dead_branch_is_accepted(job, client):
    condition = {"any": [{"any": []}, {"status": "failure"}]}

    response = client.post(actions_url(job), {**NEW_ACTION, "runCondition": condition}, format="json")

    assert response.status_code == 201, response.content
    assert JobAction.objects.get().run_condition == condition


# --- Credentials: header values and URL credentials are write-only without job:edit --------------------

M = "••••"
SECRET_HOOK = {
    "url": "https://ops:pa55@hooks.example.com/in?token=t0k3n&team=ops",
    "method": "POST",
    "headers": {"Authorization": "Bearer s3cret", "X-Api-Key": "k3y-123", "Content-Type": "application/json"},
    "body": "{{ job.name }}",
}
MASKED_HOOK = {
    "url": f"https://{M}@hooks.example.com/in?token={M}&team={M}",
    "method": "POST",
    "headers": {"Authorization": M, "X-Api-Key": M, "Content-Type": M},
    "body": "{{ job.name }}",
}
SECRET_CALL = {"url": "https://api.example.com/v1/report?apiKey=abc123", "headers": {"X-Api-Key": "k3y-456"}}
MASKED_CALL = {"url": f"https://api.example.com/v1/report?apiKey={M}", "headers": {"X-Api-Key": M}}
SEES = {"view": "masked", "edit": "visible", "admin": "visible", "owner": "visible"}


@pytest.fixture
def secret_job(roles: Roles) -> tuple[Roles, JobAction]:
    """The roles' job as an api-call job with credentials, and a webhook action with credentials of its own."""
    Job.objects.filter(pk=roles.job.pk).update(type="api-call", data=SECRET_CALL)
    action = JobActionFactory(job=roles.job, type="webhook", name="Hook", data=SECRET_HOOK)
    return roles, action


# (path with {job} and {action}, where the job's data and the action's data are in the body)
SECRET_ROUTES: dict[str, tuple[str, Any]] = {
    "actions list": ("/api/jobs/{job}/actions", lambda body: (None, body["_embedded"]["inf:job-action"][0]["data"])),
    "action detail": ("/api/jobs/{job}/actions/{action}", lambda body: (None, body["data"])),
    "job detail": ("/api/jobs/{job}", lambda body: (body["data"], body["_embedded"]["inf:job-action"][0]["data"])),
    "job by natural id": (
        "/api/jobs/alpha:nightly",
        lambda body: (body["data"], body["_embedded"]["inf:job-action"][0]["data"]),
    ),
    "jobs list": ("/api/jobs", lambda body: (body["_embedded"]["inf:job"][0]["data"], None)),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(SECRET_ROUTES))
def test_credentials_matrix(secret_job, db_state, route, role):
    # given
    roles, action = secret_job
    path, extract = SECRET_ROUTES[route]
    path = path.replace("{job}", str(roles.job.pk)).replace("{action}", str(action.pk))
    before = db_state()

    # when
    response = roles.clients[role].get(path)

    # then
    assert db_state() == before
    if role in DENIED_OUTSIDE:
        expected = 200 if route == "jobs list" and role != "anonymous" else DENIED_OUTSIDE[role]
        assert response.status_code == expected, response.content
        if expected == 200:  # a list the job is not in
            assert response.json()["_embedded"]["inf:job"] == []
        return
    assert response.status_code == 200, response.content
    job_data, action_data = extract(response.json())
    masked = SEES[role] == "masked"
    if job_data is not None:
        assert job_data == (MASKED_CALL if masked else SECRET_CALL)
    if action_data is not None:
        assert action_data == (MASKED_HOOK if masked else SECRET_HOOK)


def test_a_viewer_sees_no_credential_anywhere_in_the_job(secret_job):
    # given
    roles, _ = secret_job

    # when
    text = roles.clients["view"].get(f"/api/jobs/{roles.job.pk}").content.decode()

    # then
    for secret in ("pa55", "t0k3n", "s3cret", "k3y-123", "abc123", "k3y-456", "application/json"):
        assert secret not in text


@pytest.mark.parametrize("role", ["edit", "owner"])
def test_a_put_sending_the_masks_back_keeps_the_stored_values(secret_job, role):
    # given
    roles, action = secret_job

    # when: the action and the job as a viewer sees them, with one header and the name changed
    hook = {**MASKED_HOOK, "headers": {**MASKED_HOOK["headers"], "X-Api-Key": "k3y-new"}}
    response = roles.clients[role].put(action_url(action), {"name": "Hook 2", "data": hook}, format="json")
    job_response = roles.clients[role].put(f"/api/jobs/{roles.job.pk}", {"data": MASKED_CALL}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert job_response.status_code == 200, job_response.content
    expected = {**SECRET_HOOK, "headers": {**SECRET_HOOK["headers"], "X-Api-Key": "k3y-new"}}
    stored = JobAction.objects.get(pk=action.pk)
    assert (stored.name, stored.data) == ("Hook 2", expected)
    assert response.json()["data"] == expected
    assert Job.objects.get(pk=roles.job.pk).data == SECRET_CALL
    assert job_response.json()["data"] == SECRET_CALL


def test_a_patch_dropping_a_header_while_keeping_the_others(secret_job):
    # given
    roles, action = secret_job

    # when
    body = {"data": {**MASKED_HOOK, "headers": {"authorization": M}}}
    response = roles.clients["edit"].patch(action_url(action), body, format="json")

    # then
    assert response.status_code == 200, response.content
    assert JobAction.objects.get(pk=action.pk).data["headers"] == {"authorization": "Bearer s3cret"}


MASK_ERRORS = [
    (
        "a mask for a header never stored",
        "put",
        {"data": {**SECRET_HOOK, "headers": {"X-Signature": M}}},
        "data.headers.X-Signature: '••••' stands for the stored value",
    ),
    (
        "a masked URL that is not the stored one",
        "put",
        {"data": {**SECRET_HOOK, "url": f"https://{M}@elsewhere.example.com/in?token={M}"}},
        "data.url: '••••' stands for the stored URL's credentials",
    ),
    (
        "a mask in a new action",
        "post",
        {"type": "webhook", "name": "New", "data": {"url": "https://example.com/", "headers": {"X-Api-Key": M}}},
        "data.headers.X-Api-Key: '••••' stands for the stored value",
    ),
]


@pytest.mark.parametrize(("method", "body", "text"), [c[1:] for c in MASK_ERRORS], ids=[c[0] for c in MASK_ERRORS])
def test_a_mask_standing_for_nothing_is_a_400_and_changes_nothing(secret_job, db_state, method, body, text):
    # given
    roles, action = secret_job
    before = db_state()
    path = action_url(action) if method == "put" else actions_url(roles.job)

    # when
    response = getattr(roles.clients["owner"], method)(path, body, format="json")

    # then
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert list(error["details"]) == ["data"]
    assert error["details"]["data"][0].startswith(text)
    assert db_state() == before
    assert JobAction.objects.get(pk=action.pk).data == SECRET_HOOK


def test_a_job_put_with_a_mask_for_a_header_never_stored_is_a_400(secret_job, db_state):
    # given
    roles, _ = secret_job
    before = db_state()

    # when
    body = {"data": {**SECRET_CALL, "headers": {"X-Other": M}}}
    response = roles.clients["edit"].put(f"/api/jobs/{roles.job.pk}", body, format="json")

    # then
    assert response.status_code == 400, response.content
    assert response.json()["details"]["data"][0].startswith("data.headers.X-Other: '••••' stands for")
    assert db_state() == before


def test_a_viewer_cannot_write_even_the_masks_back(secret_job, db_state):
    # given
    roles, action = secret_job
    before = db_state()

    # when
    response = roles.clients["view"].put(action_url(action), {"data": MASKED_HOOK}, format="json")

    # then
    assert response.status_code == 403
    assert db_state() == before


# --- The actions collection follows §2's list conventions (default sort: index) --------------------------


@pytest.fixture
def workflow(job: Job) -> list[JobAction]:
    """Four actions whose execution order differs from their name order, names in mixed case."""
    return [
        JobActionFactory(job=job, name=name, index=index, type=kind)
        for index, (name, kind) in enumerate(
            [("beta call", "webhook"), ("alpha refresh", "email"), ("Zeta report", "email"), ("Mid sync", "webhook")]
        )
    ]


def listed(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["_embedded"]["inf:job-action"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["beta call", "alpha refresh", "Zeta report", "Mid sync"]),
        ({"sort": "index"}, ["beta call", "alpha refresh", "Zeta report", "Mid sync"]),
        ({"sort": "-index"}, ["Mid sync", "Zeta report", "alpha refresh", "beta call"]),
        ({"sort": "name"}, ["alpha refresh", "beta call", "Mid sync", "Zeta report"]),
        ({"sort": "-name"}, ["Zeta report", "Mid sync", "beta call", "alpha refresh"]),
        ({"sort": "type,-index"}, ["Zeta report", "alpha refresh", "Mid sync", "beta call"]),
        ({"q": "RE"}, ["alpha refresh", "Zeta report"]),
        ({"q": "sync"}, ["Mid sync"]),
    ],
)
def test_the_actions_list_sorts_and_searches(job, client, workflow, query, expected):
    assert listed(client.get(actions_url(job), query)) == expected


def test_the_actions_list_pages_with_limit_and_start(job, client, workflow):
    # when
    response = client.get(actions_url(job), {"limit": 2, "start": 1})

    # then
    assert listed(response) == ["alpha refresh", "Zeta report"]
    body = response.json()
    assert (body["start"], body["count"], body["total"]) == (1, 2, 4)
    assert body["_links"]["next"]["href"] == f"http://testserver{actions_url(job)}?limit=2&start=3"
    assert body["_links"]["prev"]["href"] == f"http://testserver{actions_url(job)}?limit=2"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sort": "unknown"}, "sort"),
        ({"sort": "-data"}, "sort"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "\u0661"}, "limit"),
        ({"start": "-1"}, "start"),
    ],
)
def test_a_bad_actions_list_parameter_is_a_400_naming_it(job, client, workflow, query, field):
    response = client.get(actions_url(job), query)

    assert response.status_code == 400, response.content
    assert set(response.json()) == ERROR_KEYS
    assert list(response.json()["details"]) == [field]


def test_the_actions_list_still_embeds_attachments(job, client, workflow):
    JobAttachmentFactory(action=workflow[0], name="report.csv")

    body = client.get(actions_url(job), {"limit": 1}).json()

    assert [item["name"] for item in body["_embedded"]["inf:job-action"][0]["attachments"]] == ["report.csv"]
