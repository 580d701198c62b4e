"""The library admin's pages: who sees what, read-only pages without a Save button, other tenants out of reach."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models import Model
from django.urls import reverse

from library.models import Library, LibraryFile, StoredContent
from library.services import shares as share_services
from tests.informer.admin.pages import logged_in
from tests.library.admin.conftest import World

SAVE_BUTTONS = ('name="_save"', 'name="_continue"', 'name="_addanother"')


def _url(model: type[Model], page: str, *args: object) -> str:
    return reverse(f"admin:library_{model._meta.model_name}_{page}", args=args)


def _synced(world: World) -> LibraryFile:
    """Sync the local library (through its button); its file ``readme.txt``."""
    logged_in(world.users["superuser"]).post(_url(Library, "sync", world.library.pk))
    return LibraryFile.objects.get(library=world.library, path="readme.txt")


@pytest.mark.parametrize("role", ["superuser", "granted"])
def test_every_library_page_renders_for_superusers_and_the_tenants_staff(world, role):
    # given
    file = _synced(world)
    client = logged_in(world.users[role])

    for model, obj in {Library: world.library, LibraryFile: file}.items():
        # when
        listing = client.get(_url(model, "changelist"))
        change = client.get(_url(model, "change", obj.pk))
        add = client.get(_url(model, "add"))

        # then
        assert listing.status_code == 200, model
        assert obj.pk in [row.pk for row in listing.context["cl"].result_list], model
        assert change.status_code == 200, model
        assert add.status_code == (200 if model is Library else 403), model


def test_stored_contents_are_the_superusers_alone_and_read_only(world):
    # given
    file = _synced(world)
    content = StoredContent.objects.get(pk=file.sha256)

    # when
    superuser = logged_in(world.users["superuser"])
    listing = superuser.get(_url(StoredContent, "changelist"))
    page = superuser.get(_url(StoredContent, "change", content.pk)).content.decode()
    staff = logged_in(world.users["granted"])

    # then
    assert listing.status_code == 200
    assert [(row.pk, row.reference_count) for row in listing.context["cl"].result_list if row.pk == content.pk] == [
        (content.pk, 1)
    ]
    for button in SAVE_BUTTONS:
        assert button not in page
    assert superuser.get(_url(StoredContent, "delete", content.pk)).status_code == 403
    assert superuser.get(_url(StoredContent, "add")).status_code == 403
    assert staff.get(_url(StoredContent, "changelist")).status_code == 403
    assert staff.get(_url(StoredContent, "change", content.pk)).status_code == 403


def test_the_library_page_shows_its_files_and_last_sync(world):
    # given: synced at a moment no other time on the page has
    _synced(world)
    Library.objects.filter(pk=world.library.pk).update(synced_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))

    # when
    page = logged_in(world.users["granted"]).get(_url(Library, "change", world.library.pk)).content.decode()

    # then
    assert '<div class="readonly">2026-01-02 03:04:05 UTC</div>' in page  # with its seconds and zone
    files = f"{_url(LibraryFile, 'changelist')}?library__id__exact={world.library.pk}"
    assert f'<a href="{files}">2 file(s)</a>' in page
    assert "37\xa0bytes" in page
    assert "default:documents" not in page and "alpha:documents" in page


def test_a_file_page_is_read_only_with_a_download_link(world):
    file = _synced(world)

    page = logged_in(world.users["granted"]).get(_url(LibraryFile, "change", file.pk)).content.decode()

    for button in SAVE_BUTTONS:
        assert button not in page
    assert f'<a href="{_url(LibraryFile, "download", file.pk)}" download>Download readme.txt</a>' in page
    assert _url(LibraryFile, "delete", file.pk) in page


def test_a_library_only_viewable_shows_no_save_no_secret_boxes_nor_sync(world):
    # given: view access only (level 1)
    viewer = world.users["plain"]
    share_services.share_set(library=world.dav, principal=viewer, level=1)

    # when
    page = logged_in(viewer).get(_url(Library, "change", world.dav.pk)).content.decode()

    # then
    for button in SAVE_BUTTONS:
        assert button not in page
    assert 'name="password"' not in page and 'name="clear_password"' not in page
    assert "password set" in page
    assert "Sync now" not in page


@pytest.mark.parametrize("model", [Library, LibraryFile])
@pytest.mark.parametrize("role", ["stranger", "plain"])
def test_objects_out_of_reach_are_absent_and_unreachable(world, model, role):
    # given: another tenant's staff, and the tenant's staff without a share
    file = _synced(world)
    obj = {Library: world.library, LibraryFile: file}[model]
    client = logged_in(world.users[role])

    # when
    listing = client.get(_url(model, "changelist"))
    change = client.get(_url(model, "change", obj.pk))
    delete = client.get(_url(model, "delete", obj.pk))

    # then: Django's admin answers an object it cannot find with a redirect to the admin's index
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 0
    assert change.status_code == 302 and change["Location"] == reverse("admin:index")
    assert delete.status_code == 302
    if model is LibraryFile:
        assert client.get(_url(LibraryFile, "download", file.pk)).status_code == 404


def test_no_list_names_another_tenants_objects(world):
    # given
    _synced(world)
    client = logged_in(world.users["granted"])

    for model in (Library, LibraryFile):
        # when
        html = client.get(_url(model, "changelist")).content.decode()
        # then: neither in the rows nor in the filters
        for name in ("Their library", "their-notes.txt"):
            assert name not in html, (model, name)
