"""Authentication (§3): bearer API tokens and session login/logout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from informer import services
from informer.api.exceptions import Conflict, DomainError
from informer.models import ApiToken, Team, hash_token
from tests.conftest import bearer_client, client_for
from tests.factories import JobFactory, TeamFactory, TenantFactory, UserFactory, make_token

ERROR_KEYS = {"statusCode", "error", "message", "details"}
PASSWORD = "secret-pass-123"  # what UserFactory sets


def assert_401(response, word: str | None = None) -> None:
    assert response.status_code == 401, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert (body["statusCode"], body["error"]) == (401, "Unauthorized")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    if word:
        assert word in body["message"]


# --- Tokens -------------------------------------------------------------------------------------------


def test_created_token_is_shown_once_and_stored_hashed(owner):
    # given
    client = client_for(owner)

    # when
    response = client.post("/api/tokens", {"name": "ci"}, format="json")

    # then
    assert response.status_code == 201
    item = response.json()
    secret = item["token"]
    assert secret.startswith("inf_") and len(secret) > 40
    assert item["keyHint"] == secret[:10]
    assert item["name"] == "ci"
    assert item["expiresAt"] is None and item["expired"] is False and item["lastUsedAt"] is None
    assert response["Location"] == item["_links"]["self"]["href"] == f"http://testserver/api/tokens/{item['id']}"
    row = ApiToken.objects.get()
    assert str(row.pk) == item["id"]
    assert row.user == owner
    assert row.key_hash == hash_token(secret)
    assert all(secret not in str(value) for value in ApiToken.objects.values().get().values())
    detail = client.get(f"/api/tokens/{row.pk}")
    listing = client.get("/api/tokens")
    for response in (detail, listing):
        assert response.status_code == 200
        assert secret not in response.content.decode()
    assert "token" not in detail.json()
    assert "token" not in listing.json()["_embedded"]["inf:token"][0]


def test_created_token_authenticates_and_records_last_use(owner):
    # given
    secret = client_for(owner).post("/api/tokens", {}, format="json").json()["token"]
    JobFactory(owner=owner, name="Mine")
    JobFactory(owner=UserFactory(tenant=owner.tenant), name="Not mine")

    # when
    me = bearer_client(secret).get("/api/me")
    jobs = bearer_client(secret).get("/api/jobs")

    # then
    assert me.status_code == 200
    assert me.json()["username"] == "owner"
    assert [item["name"] for item in jobs.json()["_embedded"]["inf:job"]] == ["Mine"]
    assert ApiToken.objects.get().last_used_at is not None


def test_last_used_is_written_at_most_once_per_resolution(owner, settings, time_machine):
    # given
    settings.INFORMER_TOKEN_LAST_USED_RESOLUTION = 60
    token, secret = make_token(owner)
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    client = bearer_client(secret)

    # when / then
    time_machine.move_to(start, tick=False)
    client.get("/api/me")
    token.refresh_from_db()
    assert token.last_used_at == start

    time_machine.move_to(start + timedelta(seconds=59), tick=False)
    client.get("/api/me")
    token.refresh_from_db()
    assert token.last_used_at == start

    time_machine.move_to(start + timedelta(seconds=61), tick=False)
    client.get("/api/me")
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(seconds=61)
    assert client.get("/api/tokens").json()["_embedded"]["inf:token"][0]["lastUsedAt"] == "2026-03-01T12:01:01Z"


def test_token_with_expiry_expires(owner, time_machine):
    # given
    time_machine.move_to(datetime(2026, 3, 1, tzinfo=UTC), tick=False)
    created = client_for(owner).post("/api/tokens", {"expiresDays": 2}, format="json").json()
    client = bearer_client(created["token"])

    # when
    time_machine.move_to(datetime(2026, 3, 2, 23, 59, tzinfo=UTC), tick=False)
    before_expiry = client.get("/api/me")
    time_machine.move_to(datetime(2026, 3, 3, 0, 0, 1, tzinfo=UTC), tick=False)
    after_expiry = client.get("/api/me")

    # then
    assert created["expiresAt"] == "2026-03-03T00:00:00Z"
    assert before_expiry.status_code == 200
    assert_401(after_expiry, "expired")
    assert client_for(owner).get(f"/api/tokens/{created['id']}").json()["expired"] is True


def test_expired_token_is_a_401_and_not_touched(owner, db_state):
    # given
    token, secret = make_token(owner, expires_at=datetime(2020, 1, 1, tzinfo=UTC))
    before = db_state()

    # when
    response = bearer_client(secret).get("/api/jobs")

    # then
    assert_401(response, "expired")
    token.refresh_from_db()
    assert token.last_used_at is None
    assert db_state() == before


def test_revoked_token_is_a_401(owner):
    # given
    token, secret = make_token(owner)
    assert bearer_client(secret).get("/api/me").status_code == 200

    # when
    revoke = client_for(owner).delete(f"/api/tokens/{token.pk}")
    after = bearer_client(secret).get("/api/me")

    # then
    assert revoke.status_code == 204
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert_401(after, "revoked")


def test_a_token_can_revoke_itself(owner):
    token, secret = make_token(owner)
    client = bearer_client(secret)

    assert client.delete(f"/api/tokens/{token.pk}").status_code == 204
    assert_401(client.get("/api/me"))


def test_inactive_users_token_is_a_401(owner):
    _, secret = make_token(owner)
    owner.is_active = False
    owner.save()

    assert_401(bearer_client(secret).get("/api/me"), "inactive")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer inf_wrong",
        "Bearer {secret}x",
        "Bearer",
        "Bearer ",
        "Bearer {secret} extra",
        "Token {secret}",
        "Basic b3duZXI6c2VjcmV0LXBhc3MtMTIz",
        "{secret}",
        "",
    ],
)
def test_wrong_or_malformed_authorization_is_a_401(owner, db_state, header):
    # given
    _, secret = make_token(owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(secret=secret))
    before = db_state()

    # when
    get = client.get("/api/jobs")
    post = client.post("/api/jobs", {"type": "email", "name": "x", "interval": "@daily"}, format="json")

    # then
    assert_401(get)
    assert_401(post)
    assert db_state() == before


def test_keyword_is_case_insensitive(owner):
    _, secret = make_token(owner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"bearer {secret}")

    assert client.get("/api/me").status_code == 200


def test_a_user_cannot_see_or_delete_another_users_token(tenant, owner, db_state):
    # given: a colleague of the same tenant, and a superuser
    token, _ = make_token(owner, name="mine")
    colleague = client_for(UserFactory(tenant=tenant))
    root = client_for(UserFactory(tenant=tenant, is_superuser=True))
    before = db_state()

    # when
    responses = [
        colleague.get(f"/api/tokens/{token.pk}"),
        colleague.delete(f"/api/tokens/{token.pk}"),
        root.get(f"/api/tokens/{token.pk}"),
        root.delete(f"/api/tokens/{token.pk}"),
    ]
    listing = colleague.get("/api/tokens").json()

    # then
    assert [response.status_code for response in responses] == [404, 404, 404, 404]
    assert all(set(response.json()) == ERROR_KEYS for response in responses)
    assert listing["total"] == 0
    assert ApiToken.objects.filter(pk=token.pk).exists()
    assert db_state() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expiresDays": 0}, "expiresDays"),
        ({"expiresDays": 3651}, "expiresDays"),
        ({"expiresDays": "soon"}, "expiresDays"),
        ({"name": "n" * 201}, "name"),
        ({"secret": "mine"}, "secret"),
    ],
)
def test_bad_token_body_is_a_400_and_creates_nothing(owner, db_state, body, field):
    before = db_state()

    response = client_for(owner).post("/api/tokens", body, format="json")

    assert response.status_code == 400
    assert list(response.json()["details"]) == [field]
    assert field in response.json()["message"]
    assert db_state() == before


def test_token_ignores_read_only_keys(owner):
    response = client_for(owner).post(
        "/api/tokens", {"name": "x", "keyHint": "inf_hint", "expiresAt": "2000-01-01T00:00:00Z"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["keyHint"] == response.json()["token"][:10]
    assert response.json()["expiresAt"] is None


# --- Session login and logout -------------------------------------------------------------------------


def test_login_session_and_logout(owner):
    # given
    client = APIClient()

    # when
    login = client.post("/api/login", {"username": "owner", "password": PASSWORD}, format="json")
    me = client.get("/api/me")
    logout = client.post("/api/logout")
    after = client.get("/api/me")

    # then
    assert login.status_code == 200
    assert login.json() == {
        "id": owner.pk,
        "username": "owner",
        "displayName": "owner",
        "email": "",
        "tenantId": owner.tenant_id,
        "tenantSlug": "alpha",
        "isStaff": False,
        "isSuperuser": False,
    }
    assert "csrftoken" in login.cookies
    assert me.status_code == 200 and me.json()["username"] == "owner"
    assert logout.status_code == 204
    assert_401(after)


@pytest.mark.parametrize(
    ("username", "password"),
    [("owner", "wrong"), ("owner", ""), ("nobody-here", PASSWORD), ("OWNER", PASSWORD)],
)
def test_bad_credentials_are_a_401_with_one_message(owner, db_state, username, password):
    # given
    client = APIClient()
    before = db_state()

    # when
    response = client.post("/api/login", {"username": username, "password": password or "x"}, format="json")

    # then
    assert_401(response)
    assert response.json()["message"] == "Invalid username or password."
    assert_401(client.get("/api/me"))
    assert db_state() == before


def test_inactive_user_cannot_log_in(owner):
    owner.is_active = False
    owner.save()

    assert_401(APIClient().post("/api/login", {"username": "owner", "password": PASSWORD}, format="json"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "owner"}, "password"),
        ({"password": PASSWORD}, "username"),
        ({"username": "", "password": "x"}, "username"),
    ],
)
def test_login_body_errors_name_the_field(owner, body, field):
    response = APIClient().post("/api/login", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["details"]


def test_session_writes_need_the_csrf_token(owner, db_state):
    # given
    client = APIClient(enforce_csrf_checks=True)
    first = client.get("/api/login").json()["csrfToken"]
    client.post("/api/login", {"username": "owner", "password": PASSWORD}, format="json", HTTP_X_CSRFTOKEN=first)
    csrf = client.cookies["csrftoken"].value  # rotated by the login
    body = {"type": "email", "name": "Via session", "interval": "@daily"}
    before = db_state()

    # when
    without = client.post("/api/jobs", body, format="json")
    unchanged = db_state() == before
    with_token = client.post("/api/jobs", body, format="json", HTTP_X_CSRFTOKEN=csrf)

    # then
    assert without.status_code == 403
    assert set(without.json()) == ERROR_KEYS
    assert "CSRF" in without.json()["message"]
    assert unchanged
    assert with_token.status_code == 201


def test_bearer_requests_need_no_csrf(owner):
    _, secret = make_token(owner)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")

    response = client.post("/api/jobs", {"type": "email", "name": "Via token", "interval": "@daily"}, format="json")

    assert response.status_code == 201


def test_logout_without_a_session_is_harmless():
    assert APIClient().post("/api/logout").status_code == 204


# --- Teams --------------------------------------------------------------------------------------------


def test_two_tenants_each_have_their_own_team_of_the_same_name(tenant):
    # given
    beta = TenantFactory(slug="beta")

    # when
    ours = services.team_create(tenant=tenant, name="analysts")
    theirs = services.team_create(tenant=beta, name="analysts")

    # then: two teams, each showing its own name; the groups behind them are told apart by tenant
    assert ours.pk != theirs.pk
    assert (ours.local_name, theirs.local_name) == ("analysts", "analysts")
    assert (ours.name, theirs.name) == (f"{tenant.pk}:analysts", f"{beta.pk}:analysts")
    assert (str(ours), str(theirs)) == ("analysts", "analysts")


@pytest.mark.parametrize("name", ["analysts", "Analysts", "ANALYSTS", "  analysts "])
def test_a_team_name_is_unique_in_its_tenant_whatever_its_case(tenant, db_state, name):
    # given
    services.team_create(tenant=tenant, name="analysts")
    before = db_state()

    # when
    with pytest.raises(Conflict) as refused:
        services.team_create(tenant=tenant, name=name)

    # then
    taken = f"A team named '{name.strip()}' already exists in this tenant (team names ignore case)."
    assert refused.value.message == taken
    assert refused.value.details == {"group": [refused.value.message]}
    assert db_state() == before


def test_the_database_refuses_a_team_name_differing_only_in_case(tenant):
    # given
    TeamFactory(name="analysts", tenant=tenant)

    # when / then: even past the services, the constraint holds
    with pytest.raises(IntegrityError), transaction.atomic():
        Team.objects.create(tenant=tenant, local_name="Analysts")
    assert list(Team.objects.values_list("local_name", flat=True)) == ["analysts"]


def test_validation_names_the_field_with_a_readable_message(tenant):
    # given
    TeamFactory(name="analysts", tenant=tenant)

    # when
    with pytest.raises(ValidationError) as refused:
        Team(tenant=tenant, local_name="ANALYSTS").full_clean()

    # then
    assert refused.value.message_dict["local_name"] == [
        "A team named 'ANALYSTS' already exists in this tenant (team names ignore case)."
    ]


def test_renaming_a_team_renames_its_group(tenant):
    # given
    team = TeamFactory(name="analysts", tenant=tenant)

    # when
    team.local_name = "Data analysts"
    team.save(update_fields=["local_name"])

    # then
    assert Group.objects.get(pk=team.pk).name == f"{tenant.pk}:Data analysts"


@pytest.mark.parametrize(("name", "message"), [("  ", "cannot be empty"), ("x" * 101, "at most 100 characters")])
def test_a_bad_team_name_is_refused(tenant, db_state, name, message):
    before = db_state()

    with pytest.raises(DomainError) as refused:
        services.team_create(tenant=tenant, name=name)

    assert message in refused.value.message
    assert list(refused.value.details) == ["group"]
    assert db_state() == before


def test_principals_and_shares_show_the_teams_own_name(tenant, owner):
    # given: a team of the same name in another tenant
    team = TeamFactory(name="analysts", display_name="The analysts", tenant=tenant)
    TeamFactory(name="analysts", tenant=TenantFactory(slug="beta"))
    job = JobFactory(owner=owner)
    client = client_for(owner)

    # when
    principals = client.get("/api/principals", {"q": "analysts"}).json()["_embedded"]["inf:principal"]
    shared = client.put(f"/api/jobs/{job.pk}/shares/group:{team.pk}", {"accessLevel": 1}, format="json")
    shares = client.get(f"/api/jobs/{job.pk}/shares").json()["_embedded"]["inf:share"]

    # then
    assert principals == [
        {"id": f"group:{team.pk}", "type": "group", "name": "analysts", "displayName": "The analysts"}
    ]
    assert shared.status_code == 200, shared.content
    assert [(item["principalId"], item["name"]) for item in shares if item["type"] == "group"] == [
        (f"group:{team.pk}", "analysts")
    ]
