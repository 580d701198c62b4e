"""The library admin's form: secrets write-only on every page, saves through the API's services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from library import selectors
from library.models import Library
from library.services import shares as share_services
from library.services.libraries import library_config
from tests.informer.admin.pages import form_data, logged_in
from tests.library.admin.conftest import SECRET, World, fresh

NEW_SECRET = "n3w-Pa55word?"


@pytest.fixture(autouse=True)
def _loopback(settings):
    # The WebDAV library's URL is on loopback, which the address guard refuses unless allowed.
    settings.INFORMER_OUTBOUND_ALLOW = ["127.0.0.1"]


def _change(library: Library) -> str:
    return reverse("admin:library_library_change", args=[library.pk])


def _secrets(library: Library) -> dict[str, object]:
    return library_config(fresh(library)).secrets


def _save(world: World, library: Library, **changes: object) -> object:
    client = logged_in(world.users["granted"])
    data = {**form_data(client.get(_change(library))), **changes}
    return client.post(_change(library), data)


@pytest.mark.parametrize("role", ["superuser", "granted"])
def test_the_secrets_never_appear_on_any_page(world, role):
    # given: a synced library too, so that every kind of page has something on it
    client = logged_in(world.users[role])
    client.post(reverse("admin:library_library_sync", args=[world.library.pk]))
    pages = [
        reverse("admin:library_library_changelist"),
        _change(world.dav),
        reverse("admin:library_library_add"),
        reverse("admin:library_library_delete", args=[world.dav.pk]),
        reverse("admin:library_library_history", args=[world.dav.pk]),
        reverse("admin:library_libraryfile_changelist"),
    ]

    for url in pages:
        # when
        html = client.get(url).content.decode()
        # then
        assert SECRET not in html, url
        assert world.dav.secrets_encrypted not in html, url
    change = client.get(_change(world.dav)).content.decode()
    assert '<input type="password" name="password" autocomplete="new-password"' in change
    assert 'name="password" value=' not in change
    assert "password set" in change


def test_a_page_shown_again_with_errors_does_not_echo_the_typed_secret(world):
    response = _save(world, world.dav, password=NEW_SECRET, settings='{"url": "ftp://127.0.0.1/", "username": "ann"}')

    assert response.status_code == 200
    assert NEW_SECRET not in response.content.decode()
    assert _secrets(world.dav) == {"password": SECRET}


def test_a_blank_secret_keeps_the_stored_one(world):
    response = _save(world, world.dav, name="Renamed", password="")

    assert response.status_code == 302
    assert fresh(world.dav).name == "Renamed"
    assert _secrets(world.dav) == {"password": SECRET}


def test_a_new_secret_replaces_it_and_clear_removes_it(world):
    assert _save(world, world.dav, password=NEW_SECRET).status_code == 302
    assert _secrets(world.dav) == {"password": NEW_SECRET}

    assert _save(world, world.dav, clear_password="on").status_code == 302
    assert _secrets(world.dav) == {}
    assert "none" in logged_in(world.users["granted"]).get(_change(world.dav)).content.decode()


def test_a_new_secret_and_clear_together_are_refused(world):
    response = _save(world, world.dav, password=NEW_SECRET, clear_password="on")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["clear_password"] == [
        "Either type a new WebDAV password or clear it, not both."
    ]
    assert _secrets(world.dav) == {"password": SECRET}


def test_a_secret_typed_into_the_settings_box_is_refused(world):
    # given
    before = Library.objects.values().get(pk=world.dav.pk)

    # when
    response = _save(world, world.dav, settings='{"url": "http://127.0.0.1:9/dav/", "password": "in-the-box"}')

    # then
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["settings"] == [
        "password: type it in its own box below, where it is never shown again."
    ]
    assert Library.objects.values().get(pk=world.dav.pk) == before


def test_a_secret_the_type_has_not_is_refused_on_its_box(world):
    response = _save(world, world.library, secret_access_key=NEW_SECRET)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["secret_access_key"]
    assert errors["secret_access_key"][0].startswith("'secretAccessKey' is not a setting of a local library")
    assert _secrets(world.library) == {}


@pytest.mark.parametrize("path", ["../outside", "/etc"])
def test_the_integrations_refusal_is_shown_on_the_settings_and_nothing_is_saved(world, path):
    # given
    before = Library.objects.values().get(pk=world.library.pk)

    # when
    response = _save(world, world.library, name="Renamed", settings=f'{{"path": "{path}"}}')

    # then
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["settings"]
    assert errors["settings"][0].startswith("path: ")
    assert Library.objects.values().get(pk=world.library.pk) == before


def test_a_key_taken_out_of_the_settings_box_goes(world):
    # when
    response = _save(world, world.dav, settings='{"url": "http://127.0.0.1:9/other/", "username": "ann"}')

    # then: "root" is gone, the password kept
    assert response.status_code == 302
    assert fresh(world.dav).settings == {"url": "http://127.0.0.1:9/other/", "username": "ann"}
    assert _secrets(world.dav) == {"password": SECRET}


def test_adding_a_library_goes_through_the_service(world):
    # given
    (world.folder.parent / "more").mkdir()
    client = logged_in(world.users["granted"])
    data = {
        "name": "More documents",
        "slug": "",
        "description": "",
        "type": "local",
        "embedded": "on",
        "settings": '{"path": "more"}',
        "password": "",
        "secret_access_key": "",
    }

    # when
    response = client.post(reverse("admin:library_library_add"), data)

    # then: the slug made from the name, the creator its owner with every right
    assert response.status_code == 302
    created = Library.objects.get(name="More documents")
    assert (created.slug, created.owner, created.tenant, created.embedded, created.settings) == (
        "more-documents",
        world.users["granted"],
        world.tenant,
        True,
        {"path": "more"},
    )
    codenames = selectors.library_permissions_for_user(world.users["granted"], [created.pk])[created.pk]
    assert codenames == {"view_library", "change_library", "sync_library", "delete_library", "share_library"}


def test_a_taken_slug_is_refused_on_its_field(world):
    response = _save(world, world.dav, slug="documents")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["slug"] == ["A library with slug 'documents' already exists."]
    assert fresh(world.dav).slug == "shared-drive"


def test_a_staff_user_with_view_access_cannot_change_it(world):
    # given: level 1 on the library
    viewer = world.users["plain"]
    share_services.share_set(library=world.dav, principal=viewer, level=1)
    client = logged_in(viewer)
    before = Library.objects.values().get(pk=world.dav.pk)

    # when
    posted = client.post(_change(world.dav), {"name": "Renamed", "type": "webdav", "settings": "{}", "password": "x"})
    deleted = client.post(reverse("admin:library_library_delete", args=[world.dav.pk]), {"post": "yes"})

    # then
    assert (posted.status_code, deleted.status_code) == (403, 403)
    assert Library.objects.values().get(pk=world.dav.pk) == before
    assert _secrets(world.dav) == {"password": SECRET}


def test_deleting_a_library_goes_with_its_files_and_leaves_the_folder(world):
    # given
    client = logged_in(world.users["granted"])
    client.post(reverse("admin:library_library_sync", args=[world.library.pk]))
    url = reverse("admin:library_library_delete", args=[world.library.pk])

    # when
    page = client.get(url).content.decode()
    response = client.post(url, {"post": "yes"})

    # then
    assert "Library: Documents (3 file and folder rows; the files on its remote stay)" in page
    assert response.status_code == 302
    assert not Library.objects.filter(pk=world.library.pk).exists()
    assert (world.folder / "readme.txt").read_bytes() == b"Hello, library.\n"


def test_a_library_syncing_is_not_deleted_and_the_page_says_why(world):
    # given
    from django.utils import timezone

    Library.objects.filter(pk=world.library.pk).update(sync_started_at=timezone.now())
    client = logged_in(world.users["granted"])

    # when
    response = client.post(
        reverse("admin:library_library_delete", args=[world.library.pk]), {"post": "yes"}, follow=True
    )

    # then
    assert Library.objects.filter(pk=world.library.pk).exists()
    assert "Not deleted: Library &#x27;Documents&#x27; is syncing; delete it once the sync has finished." in (
        response.content.decode()
    )
