"""The datasource admin: the password is write-only on every page, and saves go through the API's service."""

from __future__ import annotations

import pytest
from django.urls import reverse

from datasets.models import Datasource
from datasets.services.datasources import dataset_config
from tests.datasets.admin.conftest import SECRET, World, fresh
from tests.informer.admin.pages import form_data, logged_in

NEW_SECRET = "n3w-Pa55word?"


def _change(world: World) -> str:
    return reverse("admin:datasets_datasource_change", args=[world.datasource.pk])


def _password(datasource: Datasource) -> str:
    return dataset_config(fresh(datasource)).password


def _save(world: World, **changes: object) -> object:
    client = logged_in(world.users["granted"])
    data = {**form_data(client.get(_change(world))), **changes}
    return client.post(_change(world), data)


@pytest.mark.parametrize("role", ["superuser", "granted"])
def test_the_password_never_appears_on_any_page(world, role):
    # given
    client = logged_in(world.users[role])
    pages = [
        reverse("admin:datasets_datasource_changelist"),
        _change(world),
        reverse("admin:datasets_datasource_add"),
        reverse("admin:datasets_datasource_delete", args=[world.datasource.pk]),
        reverse("admin:datasets_datasource_history", args=[world.datasource.pk]),
        reverse("admin:datasets_dataset_change", args=[world.dataset.pk]),
        reverse("admin:datasets_dataset_changelist"),
    ]

    for url in pages:
        # when
        html = client.get(url).content.decode()
        # then
        assert SECRET not in html, url
        assert world.datasource.password_encrypted not in html, url
    change = client.get(_change(world)).content.decode()
    assert '<input type="password" name="password" autocomplete="new-password"' in change
    assert 'name="password" value=' not in change


def test_a_page_shown_again_with_errors_does_not_echo_the_typed_password(world):
    response = _save(world, password=NEW_SECRET, database="../outside.sqlite3")

    assert response.status_code == 200
    assert NEW_SECRET not in response.content.decode()
    assert _password(world.datasource) == SECRET


def test_a_blank_password_keeps_the_stored_one(world):
    response = _save(world, name="Renamed", password="")

    assert response.status_code == 302
    assert fresh(world.datasource).name == "Renamed"
    assert _password(world.datasource) == SECRET


def test_a_new_password_replaces_it_and_clear_removes_it(world):
    assert _save(world, password=NEW_SECRET).status_code == 302
    assert _password(world.datasource) == NEW_SECRET

    assert _save(world, clear_password="on").status_code == 302
    assert _password(world.datasource) == ""
    assert fresh(world.datasource).has_password is False


def test_a_new_password_and_clear_together_are_refused(world):
    response = _save(world, password=NEW_SECRET, clear_password="on")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["clear_password"] == [
        "Either type a new password or clear it, not both."
    ]
    assert _password(world.datasource) == SECRET


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ("../outside.sqlite3", "Refusing SQLite path '../outside.sqlite3': '..' is not allowed in it."),
        (
            "/etc/passwd",
            "Refusing SQLite path '/etc/passwd': absolute paths are not allowed; give a path relative to the "
            "datasource root.",
        ),
    ],
)
def test_the_connectors_refusal_is_shown_on_its_field_and_nothing_is_saved(world, database, message):
    # given
    before = Datasource.objects.values().get(pk=world.datasource.pk)

    # when
    response = _save(world, name="Renamed", database=database)

    # then
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {"database": [message]}
    assert Datasource.objects.values().get(pk=world.datasource.pk) == before


def test_adding_a_datasource_goes_through_the_service(world):
    # given
    client = logged_in(world.users["granted"])
    data = {
        "name": "Second source",
        "slug": "",
        "description": "",
        "type": "sqlite",
        "host": "",
        "port": "",
        "database": "source.sqlite3",
        "username": "",
        "password": NEW_SECRET,
        "options": "{}",
    }

    # when
    response = client.post(reverse("admin:datasets_datasource_add"), data)

    # then: the slug made from the name, the creator its owner with every right, the password sealed
    assert response.status_code == 302
    created = Datasource.objects.get(name="Second source")
    assert (created.slug, created.owner, created.tenant) == ("second-source", world.users["granted"], world.tenant)
    assert _password(created) == NEW_SECRET
    from datasets import selectors

    codenames = selectors.datasource_permissions_for_user(world.users["granted"], [created.pk])[created.pk]
    assert codenames == {"view_datasource", "change_datasource", "delete_datasource", "share_datasource"}


def test_a_staff_user_with_view_access_cannot_change_it(world):
    # given: level 1 on the datasource
    from datasets.services import shares as share_services

    viewer = world.users["plain"]
    share_services.share_set(obj=world.datasource, principal=viewer, level=1)
    client = logged_in(viewer)
    before = Datasource.objects.values().get(pk=world.datasource.pk)

    # when
    page = client.get(_change(world))
    posted = client.post(_change(world), {"name": "Renamed", "type": "sqlite", "database": "x.sqlite3"})

    # then
    html = page.content.decode()
    assert page.status_code == 200 and 'name="_save"' not in html and 'name="password"' not in html
    assert posted.status_code == 403
    assert Datasource.objects.values().get(pk=world.datasource.pk) == before


def test_a_datasource_datasets_read_is_not_deleted(world):
    client = logged_in(world.users["granted"])

    page = client.get(reverse("admin:datasets_datasource_delete", args=[world.datasource.pk]))
    client.post(reverse("admin:datasets_datasource_delete", args=[world.datasource.pk]), {"post": "yes"})

    assert "Sales" in page.content.decode()  # named as what protects it
    assert Datasource.objects.filter(pk=world.datasource.pk).exists()
