"""The job page of the Django admin shows the next five fire times, local and UTC, to the second."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from informer import redaction
from jobs.drivers.registry import ACTION_DRIVERS, ATTACHMENT_DRIVERS, JOB_DRIVERS
from jobs.models import Job, JobAction, JobAttachment
from jobs.services import actions as action_services
from jobs.services import jobs as job_services
from jobs.services import shares as share_services
from tests.factories import JobFactory, TeamFactory, TenantFactory, UserFactory, make_draft
from tests.informer.admin.pages import form_data, logged_in, model_permissions, staff

PASSWORD = "secret-pass-123"  # the factories' password
DISABLED_NOTE = "<p>Disabled: these are shown but will not fire.</p>"


@pytest.fixture
def admin_client(client: Any, tenant: Any) -> Any:
    """The Django test client for a superuser; `change_page` logs it in."""
    UserFactory(username="root", tenant=tenant, is_superuser=True, is_staff=True)
    return client


def change_page(client: Any, job: Any, moment: datetime) -> str:
    """The job's change page as it reads at ``moment`` (logged in then, so the session is fresh)."""
    with time_machine.travel(moment, tick=False):
        assert client.login(username="root", password=PASSWORD)
        response = client.get(f"/admin/jobs/job/{job.pk}/change/")
    assert response.status_code == 200
    return response.content.decode()


def fire_list(zone: str, walls: list[datetime], moved: frozenset[int] = frozenset()) -> str:
    """The list the page must show, computed with zoneinfo alone: each local wall time and its UTC."""
    rows = []
    for index, wall in enumerate(walls):
        local = wall.replace(tzinfo=ZoneInfo(zone))
        utc = local.astimezone(UTC)
        note = " (moved by DST)" if index in moved else ""
        rows.append(f"<li>{local:%Y-%m-%d %H:%M:%S %Z} &nbsp;({utc:%Y-%m-%d %H:%M:%S} UTC){note}</li>")
    return f"<ul>{''.join(rows)}</ul>"


# (id, job fields, the frozen moment, the expected list)
UPCOMING: list[tuple[str, dict[str, Any], datetime, str]] = [
    (
        "daily in Berlin across spring forward",
        {"interval": "0 8 * * *", "timezone": "Europe/Berlin"},
        datetime(2026, 3, 27, 12, 0, tzinfo=UTC),
        fire_list("Europe/Berlin", [datetime(2026, 3, day, 8) for day in (28, 29, 30, 31)] + [datetime(2026, 4, 1, 8)]),
    ),
    (
        "02:30 in New York: the skipped one runs at 03:00",
        {"interval": "30 2 * * *", "timezone": "America/New_York"},
        datetime(2026, 3, 6, 12, 0, tzinfo=UTC),
        fire_list(
            "America/New_York",
            [datetime(2026, 3, 7, 2, 30), datetime(2026, 3, 8, 3, 0)]
            + [datetime(2026, 3, day, 2, 30) for day in (9, 10, 11)],
            moved=frozenset({1}),
        ),
    ),
    (
        "hourly in New York across fall back",
        {"interval": "0 * * * *", "timezone": "America/New_York"},
        datetime(2026, 11, 1, 4, 30, tzinfo=UTC),
        "<ul>"
        "<li>2026-11-01 01:00:00 EDT &nbsp;(2026-11-01 05:00:00 UTC)</li>"
        "<li>2026-11-01 01:00:00 EST &nbsp;(2026-11-01 06:00:00 UTC)</li>"
        "<li>2026-11-01 02:00:00 EST &nbsp;(2026-11-01 07:00:00 UTC)</li>"
        "<li>2026-11-01 03:00:00 EST &nbsp;(2026-11-01 08:00:00 UTC)</li>"
        "<li>2026-11-01 04:00:00 EST &nbsp;(2026-11-01 09:00:00 UTC)</li>"
        "</ul>",
    ),
    (
        "once",
        {"interval": "", "interval_type": "once", "start_on": "2026-03-05T10:00:00Z", "timezone": "Asia/Tokyo"},
        datetime(2026, 3, 1, 12, 0, tzinfo=UTC),
        fire_list("Asia/Tokyo", [datetime(2026, 3, 5, 19, 0)]),
    ),
]


@pytest.mark.parametrize(
    ("fields", "moment", "expected"), [case[1:] for case in UPCOMING], ids=[case[0] for case in UPCOMING]
)
def test_change_page_shows_the_next_five_fire_times(admin_client, owner, fields, moment, expected):
    job = JobFactory(owner=owner, **fields)

    page = change_page(admin_client, job, moment)

    assert "Next fire times" in page
    assert expected in page
    assert DISABLED_NOTE not in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"interval": "0 0 30 2 *"}, "The cron expression '0 0 30 2 *' can never fire."),
        ({"interval": "61 * * * *"}, "Invalid cron expression '61 * * * *': minute 61 is out of range 0-59."),
        ({"timezone": "Mars/Olympus"}, "Unknown time zone 'Mars/Olympus'."),
        ({"interval_type": "once", "interval": ""}, "A one-off (once) schedule needs startOn: the moment it runs."),
    ],
)
def test_an_invalid_stored_schedule_is_named_not_raised(admin_client, owner, fields, message):
    job = JobFactory(owner=owner, **fields)

    page = change_page(admin_client, job, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))

    assert escape(f"Invalid schedule: {message}") in page
    assert "<li>" not in page.split("Next fire times", 1)[1].split("</fieldset>", 1)[0]


def test_a_disabled_job_shows_its_fire_times_with_the_note(admin_client, owner):
    job = JobFactory(owner=owner, interval="0 8 * * *", timezone="Europe/Berlin", enabled=False)

    page = change_page(admin_client, job, datetime(2026, 3, 27, 12, 0, tzinfo=UTC))

    assert UPCOMING[0][3] + DISABLED_NOTE in page


def test_a_schedule_that_has_ended_says_so(admin_client, owner):
    job = JobFactory(owner=owner, interval="0 8 * * *", end_on="2026-02-28")

    page = change_page(admin_client, job, datetime(2026, 3, 1, 12, 0, tzinfo=UTC))

    assert "No upcoming fire times." in page


def test_the_add_page_renders(admin_client):
    assert admin_client.login(username="root", password=PASSWORD)

    response = admin_client.get("/admin/jobs/job/add/")

    assert response.status_code == 200


# --- Writes go through the services, validated as the API validates -------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
JOB_EDITOR = [*model_permissions("jobs", "job", "jobaction", "jobattachment"), "jobs.run_job"]


def add_job(client: Any, **changes: Any) -> Any:
    """POST the job add page as it stands, with ``changes`` (``actions-0-…`` keys add an action inline)."""
    data = form_data(client.get("/admin/jobs/job/add/"))
    data.update({"type": "email", "name": "Weekly report", "interval": "0 8 * * *", "data": "{}"})
    if any(key.startswith("actions-0-") for key in changes):
        data["actions-TOTAL_FORMS"] = "1"
    data.update(changes)
    return client.post("/admin/jobs/job/add/", data)


def change_job(client: Any, job: Any, **changes: Any) -> Any:
    data = form_data(client.get(f"/admin/jobs/job/{job.pk}/change/"))
    data.update(changes)
    return client.post(f"/admin/jobs/job/{job.pk}/change/", data)


def errors_of(response: Any) -> dict[str, list[str]]:
    """The field errors of the admin form, and of the first inline row as ``actions-0-<field>``."""
    assert response.status_code == 200, "expected the form again, with errors"
    errors = {name: list(messages) for name, messages in response.context["adminform"].form.errors.items()}
    for inline in response.context["inline_admin_formsets"]:
        for index, form in enumerate(inline.formset.forms):
            for name, messages in form.errors.items():
                errors[f"{inline.formset.prefix}-{index}-{name}"] = list(messages)
    return errors


@pytest.fixture
def editor(tenant: Any) -> Any:
    return staff(tenant, *JOB_EDITOR, username="editor")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"type": "nope"}, "type", "Select a valid choice. nope is not one of the available choices."),
        (
            {"interval": "61 25 * * *"},
            "interval",
            "Invalid cron expression '61 25 * * *': minute 61 is out of range 0-59.",
        ),
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone 'Mars/Olympus'."),
        (
            {"interval_type": "once", "interval": ""},
            "start_on",
            "A one-off (once) schedule needs startOn: the moment it runs.",
        ),
        ({"type": "api-call", "data": "{}"}, "data", "data.url: is required."),
        ({"tags": "ok, not/ok"}, "tags", "[1]: This value does not match the required pattern."),
    ],
    ids=["unknown type", "invalid cron", "unknown zone", "once without start", "type data", "bad tag"],
)
def test_an_invalid_job_is_refused_on_its_field_and_nothing_is_saved(editor, db_state, changes, field, message):
    client = logged_in(editor)
    before = db_state()

    response = add_job(client, **changes)

    assert message in errors_of(response)[field]
    assert db_state() == before


def test_an_email_action_without_its_fields_is_refused_with_its_job(editor, db_state):
    client = logged_in(editor)
    before = db_state()

    response = add_job(
        client, **{"actions-0-name": "Mail", "actions-0-type": "email", "actions-0-data": '{"body": "hi"}'}
    )

    assert sorted(errors_of(response)["actions-0-data"]) == [
        "data.subject: is required.",
        "data.to: is required.",
    ]
    assert db_state() == before


def test_a_job_added_in_the_admin_is_made_as_the_api_makes_it(tenant, editor):
    # given
    tenant.timezone = "Europe/Berlin"
    tenant.save()
    client = logged_in(editor)

    # when
    with time_machine.travel(NOW, tick=False):
        response = add_job(
            client,
            tags="reports, weekly",
            **{
                "actions-0-name": "Mail",
                "actions-0-type": "email",
                "actions-0-data": '{"to": "a@example.com", "subject": "Hi"}',
            },
        )

    # then
    assert response.status_code == 302, errors_of(response)
    job = Job.objects.get()
    assert (job.owner, job.tenant, job.slug, job.timezone) == (editor, tenant, "weekly-report", "Europe/Berlin")
    assert job.next_run_at == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
    assert job.tags == ["reports", "weekly"]
    assert job_codenames_of(editor, job) == {"view_job", "change_job", "run_job", "delete_job", "share_job"}
    assert list(job.actions.values_list("name", "index")) == [("Mail", 0)]


def test_changing_the_schedule_in_the_admin_recomputes_the_next_run(owner, editor):
    job = JobFactory(owner=owner, interval="0 8 * * *")
    share_services.share_set(job=job, principal=editor, level=2)
    with time_machine.travel(NOW, tick=False):
        job_services.job_refresh_next_run(job)
        client = logged_in(editor)

        response = change_job(client, job, interval="30 18 * * *")

    assert response.status_code == 302, errors_of(response)
    job.refresh_from_db()
    assert job.next_run_at == datetime(2026, 3, 1, 18, 30, tzinfo=UTC)


def test_a_slug_taken_in_the_tenant_is_shown_on_the_slug_field(owner, editor, db_state):
    JobFactory(owner=owner, slug="taken")
    client = logged_in(editor)
    before = db_state()

    response = add_job(client, slug="taken")

    assert errors_of(response)["slug"] == ["A job with slug 'taken' already exists."]
    assert db_state() == before


def test_an_action_edited_on_its_page_is_validated_and_saved_by_the_services(owner, editor, db_state):
    # given
    job = JobFactory(owner=owner)
    share_services.share_set(job=job, principal=editor, level=2)
    first = action_services.action_create(job=job, fields={"name": "One", "type": "webhook", "data": WEBHOOK})
    second = action_services.action_create(job=job, fields={"name": "Two", "type": "webhook", "data": WEBHOOK})
    client = logged_in(editor)
    url = f"/admin/jobs/jobaction/{second.pk}/change/"
    data = form_data(client.get(url))
    before = db_state()

    # when
    bad_data = client.post(url, {**data, "data": '{"url": "https://example.com", "colour": "red"}'})
    bad_condition = client.post(url, {**data, "run_condition": '{"nope": 1}'})
    unchanged = db_state()
    moved = client.post(url, {**data, "index": "0"})

    # then
    assert errors_of(bad_data)["data"] == [
        "data.colour: is not a known property; the known properties are: url, method, headers, body, timeoutSeconds, "
        "expectStatus."
    ]
    assert errors_of(bad_condition)["run_condition"]
    assert unchanged == before
    assert moved.status_code == 302
    assert list(job.actions.order_by("index").values_list("name", flat=True)) == ["Two", "One"]
    first.refresh_from_db()
    assert first.index == 1


def test_an_attachment_keeps_its_type_and_its_data_is_validated(owner, editor, db_state):
    job = JobFactory(owner=owner)
    share_services.share_set(job=job, principal=editor, level=2)
    action = action_services.action_create(job=job, fields={"name": "Mail", "type": "email", "data": EMAIL})
    action_services.attachment_create(action=action, fields={"name": "report", "type": "file", "data": {}})
    client = logged_in(editor)
    url = f"/admin/jobs/jobaction/{action.pk}/change/"
    data = form_data(client.get(url))
    before = db_state()

    response = client.post(url, {**data, "attachments-0-type": "dataset"})

    assert "The type of an attachment cannot change" in " ".join(errors_of(response)["attachments-0-type"])
    assert db_state() == before


# --- Object permissions apply as in the API -------------------------------------------------------------


@pytest.fixture
def shared(owner: Any, tenant: Any) -> Any:
    """A job, and a staff user with every model permission at each access level on it."""
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")
    action_services.action_create(job=job, fields={"name": "Mail", "type": "email", "data": EMAIL})
    users = {}
    for level in (0, 1, 2, 3):
        users[level] = staff(tenant, *JOB_EDITOR, "runs.view_run", username=f"level{level}")
        if level:
            share_services.share_set(job=job, principal=users[level], level=level)
    return job, users


@pytest.mark.parametrize(
    ("level", "listed", "page", "saved"),
    [(0, False, 302, False), (1, True, 200, False), (2, True, 200, True), (3, True, 200, True)],
    ids=["no share", "view", "edit", "admin"],
)
def test_the_job_pages_follow_the_staff_users_share(shared, db_state, level, listed, page, saved):
    # given
    job, users = shared
    data = form_data(logged_in(users[3]).get(f"/admin/jobs/job/{job.pk}/change/"))
    client = logged_in(users[level])
    before = db_state()

    # when
    listing = client.get("/admin/jobs/job/").content.decode()
    change_page = client.get(f"/admin/jobs/job/{job.pk}/change/")
    posted = client.post(f"/admin/jobs/job/{job.pk}/change/", {**data, "name": "Renamed"})

    # then
    assert (f"/admin/jobs/job/{job.pk}/change/" in listing) is listed
    assert change_page.status_code == page
    job.refresh_from_db()
    if saved:
        assert posted.status_code == 302
        assert job.name == "Renamed"
    else:
        assert posted.status_code in (302, 403)
        assert job.name == "Nightly"
        assert db_state() == before
    if page == 200 and not saved:
        assert "Save" not in change_page.content.decode()


@pytest.mark.parametrize(("level", "allowed"), [(0, False), (1, False), (2, False), (3, True)])
def test_deleting_a_job_needs_job_delete(shared, db_state, level, allowed):
    job, users = shared
    client = logged_in(users[level])
    before = db_state()

    single = client.post(f"/admin/jobs/job/{job.pk}/delete/", {"post": "yes"})
    bulk = client.post("/admin/jobs/job/", {"action": "delete_selected", "_selected_action": [job.pk], "post": "yes"})

    if allowed:
        assert single.status_code == 302
        assert not Job.objects.filter(pk=job.pk).exists()
    else:
        assert single.status_code in (302, 403) and bulk.status_code in (302, 403)
        assert db_state() == before


@pytest.mark.parametrize("action", ["enable", "disable"])
def test_enabling_a_job_needs_job_edit(shared, db_state, action):
    job, users = shared
    client = logged_in(users[1])
    before = db_state()

    response = client.post("/admin/jobs/job/", {"action": action, "_selected_action": [job.pk], "index": 0})

    assert response.status_code == 403
    assert db_state() == before


def test_actions_are_listed_and_previewed_as_their_job_allows(shared):
    job, users = shared
    action = job.actions.get()

    pages = {
        level: (
            action.name in logged_in(users[level]).get("/admin/jobs/jobaction/").content.decode(),
            logged_in(users[level]).get(f"/admin/jobs/jobaction/{action.pk}/preview/").status_code,
        )
        for level in (0, 1, 2)
    }

    assert pages == {0: (False, 404), 1: (True, 404), 2: (True, 200)}


def test_an_action_is_added_only_to_a_job_the_staff_user_may_edit(shared, tenant, db_state):
    # given
    job, users = shared
    client = logged_in(users[1])
    choices = client.get("/admin/jobs/jobaction/add/").context["adminform"].form.fields["job"].queryset
    before = db_state()

    # when
    response = client.post(
        "/admin/jobs/jobaction/add/",
        {
            "job": job.pk,
            "name": "Sneaky",
            "type": "webhook",
            "index": 0,
            "data": json.dumps(WEBHOOK),
            "attachments-TOTAL_FORMS": 0,
            "attachments-INITIAL_FORMS": 0,
        },
    )

    # then
    assert list(choices) == []
    assert "job" in errors_of(response)
    assert db_state() == before


def test_the_job_inline_offers_no_actions_to_a_viewer(shared, db_state):
    job, users = shared
    client = logged_in(users[1])
    data = form_data(logged_in(users[3]).get(f"/admin/jobs/job/{job.pk}/change/"))
    before = db_state()

    client.post(f"/admin/jobs/job/{job.pk}/change/", {**data, "actions-0-name": "Changed"})

    assert db_state() == before


# --- Shares (guardian's pages) --------------------------------------------------------------------------


def test_a_sharer_sets_an_access_level_through_share_set(shared, tenant):
    job, users = shared
    colleague = UserFactory(username="colleague", tenant=tenant)
    client = logged_in(users[3])

    response = client.post(f"/admin/jobs/job/{job.pk}/permissions/user-manage/{colleague.pk}/", {"access_level": 2})

    assert response.status_code == 302
    assert share_services.share_get(job=job, principal=colleague) == 2


def test_the_owners_access_cannot_be_lowered_from_the_share_page(shared, owner, db_state):
    job, users = shared
    client = logged_in(users[3])
    before = db_state()

    response = client.post(f"/admin/jobs/job/{job.pk}/permissions/user-manage/{owner.pk}/", {"access_level": 0})

    assert response.status_code == 200
    assert response.context["form"].errors["access_level"] == ["The owner always has admin access to their job."]
    assert db_state() == before


def test_share_pages_need_job_share_and_stay_in_the_tenant(shared, tenant, db_state):
    # given
    job, users = shared
    stranger = UserFactory(username="stranger", tenant=TenantFactory(slug="beta"))
    colleague = UserFactory(username="colleague", tenant=tenant)
    team = TeamFactory(name="beta-team", tenant=stranger.tenant)
    before = db_state()
    base = f"/admin/jobs/job/{job.pk}/permissions/"

    # when
    by_editor = logged_in(users[2]).post(f"{base}user-manage/{colleague.pk}/", {"access_level": 3})
    to_stranger = logged_in(users[3]).post(f"{base}user-manage/{stranger.pk}/", {"access_level": 3})
    to_team = logged_in(users[3]).post(f"{base}group-manage/{team.pk}/", {"access_level": 3})
    picked = logged_in(users[3]).post(base, {"user": "stranger", "submit_manage_user": "1"})

    # then
    assert (by_editor.status_code, to_stranger.status_code, to_team.status_code) == (403, 404, 404)
    assert picked.status_code == 200 and picked.context["user_form"].errors
    assert db_state() == before


def job_codenames_of(user: Any, job: Any) -> set[str]:
    from jobs.selectors import job_permissions_for_user

    return set(job_permissions_for_user(user, [job.pk])[job.pk])


EMAIL = {"to": "a@example.com", "subject": "Hi"}
WEBHOOK = {"url": "https://example.com/hook"}


def test_actions_edited_and_deleted_on_the_job_page_go_through_the_services(owner, editor):
    # given
    job = JobFactory(owner=owner)
    share_services.share_set(job=job, principal=editor, level=2)
    first = action_services.action_create(job=job, fields={"name": "One", "type": "webhook", "data": WEBHOOK})
    action_services.action_create(job=job, fields={"name": "Two", "type": "webhook", "data": WEBHOOK})
    client = logged_in(editor)

    # when: the first row is deleted, the second renamed
    response = change_job(client, job, **{"actions-0-DELETE": "on", "actions-1-name": "Second"})

    # then: the order stays dense, as action_delete keeps it
    assert response.status_code == 302, errors_of(response)
    assert not JobAction.objects.filter(pk=first.pk).exists()
    assert list(job.actions.values_list("name", "index")) == [("Second", 0)]


def test_a_file_uploaded_on_the_action_page_is_stored_with_its_checksum(owner, editor, media):
    job = JobFactory(owner=owner)
    share_services.share_set(job=job, principal=editor, level=2)
    action = action_services.action_create(job=job, fields={"name": "Mail", "type": "email", "data": EMAIL})
    client = logged_in(editor)
    url = f"/admin/jobs/jobaction/{action.pk}/change/"
    data = form_data(client.get(url))
    upload = SimpleUploadedFile("report.csv", b"a,b\n1,2\n", content_type="text/csv")

    response = client.post(
        url,
        {
            **data,
            "attachments-TOTAL_FORMS": "1",
            "attachments-0-name": "report",
            "attachments-0-type": "file",
            "attachments-0-data": "{}",
            "attachments-0-file": upload,
        },
    )

    assert response.status_code == 302, errors_of(response)
    attachment = JobAttachment.objects.get()
    assert (attachment.size, attachment.content_type) == (8, "text/csv")
    assert attachment.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()


def test_a_draft_is_seen_by_whoever_may_see_its_original(shared):
    job, users = shared
    draft = make_draft(job)

    pages = {level: logged_in(users[level]).get("/admin/jobs/job/?draft=yes").content.decode() for level in (0, 1)}

    assert f"/admin/jobs/job/{draft.pk}/change/" not in pages[0]
    assert f"/admin/jobs/job/{draft.pk}/change/" in pages[1]


def test_types_are_chosen_among_the_registered_drivers(editor, owner):
    job = JobFactory(owner=owner)
    share_services.share_set(job=job, principal=editor, level=2)
    action = action_services.action_create(job=job, fields={"name": "Mail", "type": "email", "data": EMAIL})
    client = logged_in(editor)

    job_form = client.get("/admin/jobs/job/add/").context["adminform"].form
    action_page = client.get(f"/admin/jobs/jobaction/{action.pk}/change/").context
    attachment_form = action_page["inline_admin_formsets"][0].formset.empty_form

    assert [kind for kind, _ in job_form.fields["type"].choices] == list(JOB_DRIVERS)
    assert [kind for kind, _ in action_page["adminform"].form.fields["type"].choices] == list(ACTION_DRIVERS)
    assert [kind for kind, _ in attachment_form.fields["type"].choices] == list(ATTACHMENT_DRIVERS)


# --- Credentials: header values and URL credentials are masked on pages the staff user may only view -----

SECRET_CALL = {"url": "https://api.example.com/v1/report?apiKey=abc123", "headers": {"X-Api-Key": "k3y-456"}}
SECRET_HOOK = {
    "url": "https://ops:pa55@hooks.example.com/in?token=t0k3n",
    "headers": {"Authorization": "Bearer s3cret", "X-Api-Key": "k3y-123"},
}
SECRET_LINK = {"url": "https://reader:r3ader-pass@files.example.com/report.csv"}
SECRETS = ("abc123", "k3y-456", "pa55", "t0k3n", "s3cret", "k3y-123", "r3ader-pass")


@pytest.fixture
def secret_job(shared: Any) -> Any:
    """The shared job as an api-call job with credentials; its action a webhook, with an attachment, holding more."""
    job, users = shared
    Job.objects.filter(pk=job.pk).update(type="api-call", data=SECRET_CALL)
    action = job.actions.get()
    JobAction.objects.filter(pk=action.pk).update(type="webhook", data=SECRET_HOOK)
    JobAttachment.objects.create(action=action, name="report.csv", type="file", data=SECRET_LINK)
    return job, action, users


def pages_of(user: Any, job: Any, action: Any) -> dict[str, Any]:
    client = logged_in(user)
    return {
        "job": client.get(f"/admin/jobs/job/{job.pk}/change/"),
        "action": client.get(f"/admin/jobs/jobaction/{action.pk}/change/"),
    }


def test_a_viewer_sees_the_credentials_masked_on_every_page(secret_job):
    # given
    job, action, users = secret_job

    # when
    pages = pages_of(users[1], job, action)

    # then
    for name, response in pages.items():
        assert response.status_code == 200, name
        page = response.content.decode()
        for secret in SECRETS:
            assert secret not in page, (name, secret)
    job_page, action_page = (pages[name].content.decode() for name in ("job", "action"))
    # the values as the database hands them back: PostgreSQL's jsonb orders keys its own way
    stored_call = Job.objects.get(pk=job.pk).data
    stored_hook = JobAction.objects.get(pk=action.pk).data
    stored_link = JobAttachment.objects.get(action=action).data
    masked_call = escape(json.dumps(redaction.mask_data(stored_call), ensure_ascii=False))
    masked_hook = escape(json.dumps(redaction.mask_data(stored_hook), ensure_ascii=False))
    masked_link = escape(json.dumps(redaction.mask_data(stored_link), ensure_ascii=False))
    assert masked_call in job_page and masked_hook in job_page  # the job, and its action inline
    assert masked_hook in action_page and masked_link in action_page  # the action, and its attachment inline


def test_view_only_model_permissions_mask_the_credentials_too(secret_job, tenant):
    # given: an edit share, but model permissions that only let the admin show the pages
    job, action, _ = secret_job
    reader = staff(tenant, *(name for name in JOB_EDITOR if ".view_" in name), username="reader")
    share_services.share_set(job=job, principal=reader, level=2)

    # when
    pages = pages_of(reader, job, action)

    # then
    for name, response in pages.items():
        assert response.status_code == 200, name
        assert "Save" not in response.content.decode()
        for secret in SECRETS:
            assert secret not in response.content.decode(), (name, secret)


@pytest.mark.parametrize("level", [2, 3])
def test_an_editor_sees_and_keeps_the_stored_values(secret_job, level):
    # given
    job, action, users = secret_job

    # when
    pages = pages_of(users[level], job, action)
    forms = {name: response.context["adminform"].form for name, response in pages.items()}

    # then
    assert "data" in forms["job"].fields and "data" in forms["action"].fields
    assert json.loads(forms["job"]["data"].value()) == SECRET_CALL
    assert json.loads(forms["action"]["data"].value()) == SECRET_HOOK
    attachment_form = pages["action"].context["inline_admin_formsets"][0].formset.forms[0]
    assert json.loads(attachment_form["data"].value()) == SECRET_LINK


def test_a_viewers_post_changes_nothing_however_it_names_the_data(secret_job, db_state):
    # given
    job, action, users = secret_job
    client = logged_in(users[1])
    before = db_state()

    # when
    posted = [
        client.post(f"/admin/jobs/job/{job.pk}/change/", {"data": "{}", "masked_data": "{}", "name": "x"}),
        client.post(f"/admin/jobs/jobaction/{action.pk}/change/", {"data": "{}", "masked_data": "{}"}),
    ]

    # then
    assert [response.status_code for response in posted] == [403, 403]
    assert db_state() == before
