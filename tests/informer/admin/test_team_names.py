"""Team names in the admin: unique per tenant whatever their case, refused on the form with a readable message."""

from __future__ import annotations

import pytest

from informer.models import Team
from tests.factories import TeamFactory, TenantFactory, UserFactory
from tests.informer.admin.pages import logged_in, model_permissions, staff

TEAM_ADMIN = model_permissions("informer", "team")
TAKEN = "A team named 'Analysts' already exists in this tenant (team names ignore case)."


@pytest.mark.parametrize("who", ["staff", "superuser"])
def test_adding_a_team_whose_name_differs_only_in_case_is_refused_on_the_form(tenant, db_state, who):
    # given
    TeamFactory(name="analysts", tenant=tenant)
    if who == "staff":
        editor = staff(tenant, *TEAM_ADMIN)
    else:
        editor = UserFactory(username="root", tenant=tenant, is_staff=True, is_superuser=True)
    before = db_state()

    # when
    response = logged_in(editor).post(
        "/admin/informer/team/add/", {"local_name": "Analysts", "tenant": tenant.pk, "permissions": []}
    )

    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["local_name"] == [TAKEN]
    assert db_state() == before


def test_renaming_a_team_onto_another_of_its_tenant_is_refused_on_the_form(tenant, db_state):
    # given
    TeamFactory(name="analysts", tenant=tenant)
    team = TeamFactory(name="finance", tenant=tenant)
    client = logged_in(staff(tenant, *TEAM_ADMIN))
    before = db_state()

    # when
    response = client.post(f"/admin/informer/team/{team.pk}/change/", {"local_name": "Analysts", "permissions": []})

    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["local_name"] == [TAKEN]
    assert db_state() == before


def test_a_staff_user_adds_a_team_named_like_another_tenants(tenant):
    # given
    TeamFactory(name="analysts", tenant=TenantFactory(slug="beta"))

    # when
    response = logged_in(staff(tenant, *TEAM_ADMIN)).post(
        "/admin/informer/team/add/", {"local_name": "analysts", "permissions": []}
    )

    # then
    assert response.status_code == 302
    assert sorted(Team.objects.values_list("tenant__slug", "local_name")) == [
        ("alpha", "analysts"),
        ("beta", "analysts"),
    ]
