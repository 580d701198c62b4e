"""Users, teams, tokens and tenants in the admin: a staff user never hands out more than they hold."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from informer.models import ApiToken, Team, User
from tests.factories import TeamFactory, TenantFactory, UserFactory, make_token
from tests.informer.admin.pages import form_data, logged_in, model_permissions, staff

USER_ADMIN = model_permissions("informer", "user")


@pytest.fixture
def beta(db: Any) -> Any:
    return TenantFactory(slug="beta")


def permission(name: str) -> Permission:
    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


# --- Tokens ---------------------------------------------------------------------------------------------


def test_a_staff_user_cannot_create_a_token_for_another_tenants_superuser(tenant, beta, db_state):
    # given: the attack of issue #11 — a staff user of beta, and alpha's superuser
    victim = UserFactory(username="root", tenant=tenant, is_staff=True, is_superuser=True)
    attacker = staff(beta, "informer.add_apitoken", "informer.view_user", "informer.change_user")
    client = logged_in(attacker)

    # when
    response = client.post("/admin/informer/apitoken/add/", {"user": victim.pk, "name": "backdoor"}, follow=True)

    # then: whatever was made is the attacker's own; nothing can act as the victim
    assert response.status_code == 200
    assert not ApiToken.objects.filter(user=victim).exists()
    assert list(ApiToken.objects.values_list("user_id", flat=True)) == [attacker.pk]


def test_a_staff_user_cannot_create_a_token_for_a_colleague(tenant, db_state):
    colleague = UserFactory(username="colleague", tenant=tenant)
    attacker = staff(tenant, *model_permissions("informer", "apitoken"))
    client = logged_in(attacker)

    client.post("/admin/informer/apitoken/add/", {"user": colleague.pk, "name": "theirs"})

    assert not ApiToken.objects.filter(user=colleague).exists()


def test_the_add_page_offers_no_user_to_a_staff_user(tenant):
    client = logged_in(staff(tenant, *model_permissions("informer", "apitoken")))

    form = client.get("/admin/informer/apitoken/add/").context["adminform"].form

    assert "user" not in form.fields


def test_a_superuser_creates_a_token_for_someone_else_and_sees_the_secret_once(tenant):
    someone = UserFactory(username="someone", tenant=tenant)
    client = logged_in(UserFactory(tenant=TenantFactory(slug="ops"), is_staff=True, is_superuser=True))

    response = client.post("/admin/informer/apitoken/add/", {"user": someone.pk, "name": "ci"}, follow=True)

    token = ApiToken.objects.get()
    assert token.user == someone
    shown = [str(message) for message in response.context["messages"]]
    assert any(message.startswith("Copy the new token now") and token.key_hint in message for message in shown)


def test_a_token_cannot_be_moved_to_another_user(tenant, db_state):
    # given: a staff user's own token, whose secret they know
    attacker = staff(tenant, *model_permissions("informer", "apitoken"))
    victim = UserFactory(username="root", tenant=tenant, is_staff=True, is_superuser=True)
    token, _ = make_token(attacker, name="mine")
    client = logged_in(attacker)
    data = form_data(client.get(f"/admin/informer/apitoken/{token.pk}/change/"))
    before = db_state()

    # when
    response = client.post(f"/admin/informer/apitoken/{token.pk}/change/", {**data, "user": victim.pk})

    # then
    assert response.status_code == 302
    assert db_state() == before
    token.refresh_from_db()
    assert token.user == attacker


def test_another_users_token_is_seen_but_not_changed_nor_revoked(tenant, db_state):
    staff_user = staff(tenant, *model_permissions("informer", "apitoken"))
    colleague = UserFactory(username="colleague", tenant=tenant)
    token, _ = make_token(colleague, name="theirs")
    client = logged_in(staff_user)
    before = db_state()

    page = client.get(f"/admin/informer/apitoken/{token.pk}/change/")
    posted = client.post(f"/admin/informer/apitoken/{token.pk}/change/", {"name": "mine now"})
    deleted = client.post(f"/admin/informer/apitoken/{token.pk}/delete/", {"post": "yes"})
    revoked = client.post("/admin/informer/apitoken/", {"action": "revoke", "_selected_action": [token.pk], "index": 0})
    bulk = client.post(
        "/admin/informer/apitoken/", {"action": "delete_selected", "_selected_action": [token.pk], "post": "yes"}
    )

    assert page.status_code == 200  # read-only
    assert "Save" not in page.content.decode()
    assert (posted.status_code, deleted.status_code, revoked.status_code, bulk.status_code) == (403, 403, 403, 403)
    assert db_state() == before


def test_a_staff_user_revokes_their_own_token(tenant):
    staff_user = staff(tenant, *model_permissions("informer", "apitoken"))
    token, _ = make_token(staff_user)
    client = logged_in(staff_user)

    client.post("/admin/informer/apitoken/", {"action": "revoke", "_selected_action": [token.pk], "index": 0})

    assert not ApiToken.objects.exists()


# --- Users ----------------------------------------------------------------------------------------------


def test_the_user_list_shows_only_the_staff_users_tenant(tenant, beta):
    UserFactory(username="alpha-member", tenant=tenant)
    UserFactory(username="beta-member", tenant=beta)
    client = logged_in(staff(beta, "informer.view_user"))

    page = client.get("/admin/informer/user/").content.decode()

    assert "beta-member" in page
    assert "alpha-member" not in page
    assert "Alpha" not in page  # not even in a tenant filter


def change_user(client: Any, user: User, **changes: Any) -> Any:
    data = form_data(client.get(f"/admin/informer/user/{user.pk}/change/"))
    data.update(changes)
    return client.post(f"/admin/informer/user/{user.pk}/change/", data)


@pytest.mark.parametrize("self_edit", [True, False], ids=["own account", "a colleague"])
def test_a_staff_user_cannot_grant_superuser_nor_move_a_user_to_another_tenant(tenant, beta, db_state, self_edit):
    # given (whole seconds: the admin's date widgets send no microseconds back)
    joined = timezone.now().replace(microsecond=0)
    editor = staff(tenant, *USER_ADMIN, username="editor", date_joined=joined)
    target = editor if self_edit else UserFactory(username="member", tenant=tenant, date_joined=joined)
    client = logged_in(editor)
    form = client.get(f"/admin/informer/user/{target.pk}/change/").context["adminform"].form
    before = db_state()

    # when
    response = change_user(client, target, is_superuser="on", tenant=beta.pk)

    # then
    assert "is_superuser" not in form.fields and "tenant" not in form.fields
    assert response.status_code == 302
    assert db_state() == before
    target.refresh_from_db()
    assert (target.is_superuser, target.tenant_id) == (False, tenant.pk)


def test_a_staff_user_cannot_grant_a_permission_they_do_not_hold(tenant, db_state):
    editor = staff(tenant, *USER_ADMIN)
    target = UserFactory(username="member", tenant=tenant)
    client = logged_in(editor)
    before = db_state()

    response = change_user(client, target, user_permissions=[permission("informer.add_tenant").pk])

    assert response.status_code == 200
    assert "user_permissions" in response.context["adminform"].form.errors
    assert db_state() == before


def test_a_staff_user_grants_a_permission_they_hold(tenant):
    editor = staff(tenant, *USER_ADMIN, "jobs.view_job")
    target = UserFactory(username="member", tenant=tenant)

    response = change_user(logged_in(editor), target, user_permissions=[permission("jobs.view_job").pk])

    assert response.status_code == 302
    assert User.objects.get(pk=target.pk).has_perm("jobs.view_job")


@pytest.mark.parametrize("which", ["other tenant's team", "team with more rights", "plain group"])
def test_a_staff_user_cannot_put_a_user_in_a_team_beyond_their_rights(tenant, beta, db_state, which):
    # given
    editor = staff(tenant, *USER_ADMIN)
    target = UserFactory(username="member", tenant=tenant)
    if which == "other tenant's team":
        group = TeamFactory(name="beta-team", tenant=beta)
    elif which == "team with more rights":
        group = TeamFactory(name="admins", tenant=tenant)
        group.permissions.add(permission("informer.add_tenant"))
    else:
        group = Group.objects.create(name="installation")
    client = logged_in(editor)
    before = db_state()

    # when
    response = change_user(client, target, groups=[group.pk])

    # then
    assert response.status_code == 200
    assert "groups" in response.context["adminform"].form.errors
    assert db_state() == before


def test_a_staff_user_puts_a_user_in_a_team_of_their_tenant(tenant):
    editor = staff(tenant, *USER_ADMIN)
    target = UserFactory(username="member", tenant=tenant)
    team = TeamFactory(name="readers", tenant=tenant)

    response = change_user(logged_in(editor), target, groups=[team.pk])

    assert response.status_code == 302
    assert list(target.groups.all()) == [team.group_ptr]


@pytest.mark.parametrize("which", ["superuser", "holds more", "holds more, inactive", "in a stronger team"])
def test_an_account_holding_more_than_the_editor_is_read_only_password_included(tenant, db_state, which):
    # given
    editor = staff(tenant, *USER_ADMIN)
    if which == "superuser":
        target = UserFactory(username="root", tenant=tenant, is_staff=True, is_superuser=True)
    elif which == "in a stronger team":
        target = UserFactory(username="boss", tenant=tenant, is_staff=True)
        team = TeamFactory(name="admins", tenant=tenant)
        team.permissions.add(permission("informer.add_tenant"))
        target.groups.add(team)
    else:
        target = staff(tenant, *USER_ADMIN, "informer.add_tenant", username="boss", is_active="inactive" not in which)
    client = logged_in(editor)
    before = db_state()

    # when
    page = client.get(f"/admin/informer/user/{target.pk}/change/")
    posted = client.post(f"/admin/informer/user/{target.pk}/change/", {"username": "pwned", "first_name": "x"})
    password = client.post(
        f"/admin/informer/user/{target.pk}/password/", {"password1": "new-pass-123!", "password2": "new-pass-123!"}
    )
    deleted = client.post(f"/admin/informer/user/{target.pk}/delete/", {"post": "yes"})

    # then
    assert page.status_code == 200 and "Save" not in page.content.decode()
    assert (posted.status_code, password.status_code, deleted.status_code) == (403, 403, 403)
    assert db_state() == before


def test_a_staff_user_adds_a_user_to_their_own_tenant_only(tenant, beta):
    client = logged_in(staff(tenant, *USER_ADMIN))

    response = client.post(
        "/admin/informer/user/add/",
        {"username": "newbie", "tenant": beta.pk, "password1": "Pass-word-123!", "password2": "Pass-word-123!"},
    )

    assert response.status_code == 302
    assert User.objects.get(username="newbie").tenant == tenant


def test_a_superuser_still_grants_superuser_and_moves_tenants(tenant, beta):
    root = UserFactory(username="root", tenant=TenantFactory(slug="ops"), is_staff=True, is_superuser=True)
    target = UserFactory(username="member", tenant=tenant)

    response = change_user(logged_in(root), target, is_superuser="on", tenant=beta.pk)

    assert response.status_code == 302
    target.refresh_from_db()
    assert (target.is_superuser, target.tenant_id) == (True, beta.pk)


# --- Teams ----------------------------------------------------------------------------------------------

TEAM_ADMIN = model_permissions("informer", "team")


def test_a_staff_user_cannot_give_a_team_a_permission_they_do_not_hold(tenant, db_state):
    team = TeamFactory(name="readers", tenant=tenant)
    client = logged_in(staff(tenant, *TEAM_ADMIN))
    data = form_data(client.get(f"/admin/informer/team/{team.pk}/change/"))
    before = db_state()

    response = client.post(
        f"/admin/informer/team/{team.pk}/change/", {**data, "permissions": [permission("informer.add_tenant").pk]}
    )

    assert response.status_code == 200
    assert "permissions" in response.context["adminform"].form.errors
    assert db_state() == before


def test_a_team_with_more_rights_than_the_editor_is_read_only(tenant, db_state):
    team = TeamFactory(name="admins", tenant=tenant)
    team.permissions.add(permission("informer.add_tenant"))
    client = logged_in(staff(tenant, *TEAM_ADMIN))
    before = db_state()

    response = client.post(f"/admin/informer/team/{team.pk}/change/", {"local_name": "admins", "permissions": []})

    assert response.status_code == 403
    assert db_state() == before


def test_a_new_team_belongs_to_the_staff_users_tenant(tenant, beta):
    client = logged_in(staff(tenant, *TEAM_ADMIN))

    response = client.post("/admin/informer/team/add/", {"local_name": "writers", "tenant": beta.pk})

    assert response.status_code == 302
    assert Team.objects.get(local_name="writers").tenant == tenant


# --- Tenants --------------------------------------------------------------------------------------------


def test_a_staff_user_neither_adds_nor_deletes_tenants_nor_raises_their_limits(tenant, db_state):
    client = logged_in(staff(tenant, *model_permissions("informer", "tenant")))
    data = form_data(client.get(f"/admin/informer/tenant/{tenant.pk}/change/"))
    before = db_state()

    added = client.post("/admin/informer/tenant/add/", {"slug": "gamma", "name": "Gamma", "timezone": "UTC"})
    deleted = client.post(f"/admin/informer/tenant/{tenant.pk}/delete/", {"post": "yes"})
    changed = client.post(
        f"/admin/informer/tenant/{tenant.pk}/change/", {**data, "slug": "hijacked", "max_concurrent_jobs": 10_000}
    )

    assert (added.status_code, deleted.status_code, changed.status_code) == (403, 403, 302)
    assert db_state() == before


# --- Installation-wide models ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "permissions"),
    [
        ("/admin/auth/group/", model_permissions("auth", "group")),
        ("/admin/django_q/schedule/", model_permissions("django_q", "schedule")),
        ("/admin/django_q/ormq/", model_permissions("django_q", "ormq")),
        ("/admin/runs/worker/", model_permissions("runs", "worker")),
    ],
)
def test_installation_wide_models_are_for_superusers_only(tenant, db_state, url, permissions):
    client = logged_in(staff(tenant, *permissions))
    before = db_state()
    if not any(url == f"/admin/{model._meta.app_label}/{model._meta.model_name}/" for model in admin.site._registry):
        # django-q2 registers its queue table only with the ORM broker; with Redis there is no page at all
        assert client.get(url).status_code == 404
        assert db_state() == before
        return

    listed = client.get(url)
    added = client.post(f"{url}add/", {"name": "x", "func": "os.system", "args": "'id'", "schedule_type": "O"})

    assert (listed.status_code, added.status_code) == (403, 403)
    assert db_state() == before
    assert logged_in(UserFactory(is_staff=True, is_superuser=True, tenant=tenant)).get(url).status_code == 200
