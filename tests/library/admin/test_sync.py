"""The library admin's "Sync now" (button and list action), file downloads and deletions through the services."""

from __future__ import annotations

from django.contrib.messages import get_messages
from django.urls import reverse

from library.models import Library, LibraryFile
from library.services import shares as share_services
from tests.informer.admin.pages import logged_in
from tests.library.admin.conftest import fresh


def _sync_url(library: Library) -> str:
    return reverse("admin:library_library_sync", args=[library.pk])


def _messages(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_sync_now_lists_the_folders_files_and_says_what_it_did(world):
    # given
    client = logged_in(world.users["granted"])

    # when
    response = client.post(_sync_url(world.library))

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:library_library_change", args=[world.library.pk])
    paths = list(LibraryFile.objects.filter(library=world.library).values_list("path", "directory"))
    assert paths == [("guides", True), ("guides/setup.md", False), ("readme.txt", False)]
    library = fresh(world.library)
    assert (library.files, library.size, library.synced_at is not None) == (2, 37, True)
    (message,) = _messages(response)
    assert message.startswith(
        "Synced 'Documents': 2 added, 0 updated, 0 deleted, 0 unchanged, 0 skipped (37\xa0bytes stored) in "
    )
    assert message.endswith(" s.")


def test_a_second_sync_finds_them_unchanged(world):
    client = logged_in(world.users["granted"])
    client.post(_sync_url(world.library))

    response = client.post(_sync_url(world.library))

    *_, message = _messages(response)  # the first sync's message was never shown: no page followed it
    assert "0 added, 0 updated, 0 deleted, 2 unchanged, 0 skipped (0\xa0bytes stored)" in message


def test_the_page_has_the_button_for_those_who_may_sync(world):
    # given: level 1 (view) for plain
    share_services.share_set(library=world.library, principal=world.users["plain"], level=1)
    change = reverse("admin:library_library_change", args=[world.library.pk])

    # when
    granted = logged_in(world.users["granted"]).get(change).content.decode()
    viewer = logged_in(world.users["plain"]).get(change).content.decode()

    # then
    assert f'action="{_sync_url(world.library)}"' in granted and ">Sync now</button>" in granted
    assert "Sync now" not in viewer


def test_a_sync_failing_says_why(world):
    # given: the folder is gone
    for path in sorted(world.folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    world.folder.rmdir()

    # when
    response = logged_in(world.users["granted"]).post(_sync_url(world.library))

    # then
    (message,) = _messages(response)
    assert message.startswith("Synced with failures 'Documents': 0 added, 0 updated, 0 deleted, 0 unchanged, 0 skipped")
    assert "Problems: The listing failed, so nothing was changed: " in message
    assert not LibraryFile.objects.filter(library=world.library).exists()


def test_a_sync_already_running_is_not_started_again(world):
    # given: another sync holds the library
    from django.utils import timezone

    Library.objects.filter(pk=world.library.pk).update(sync_started_at=timezone.now())

    # when
    response = logged_in(world.users["granted"]).post(_sync_url(world.library))

    # then
    (message,) = _messages(response)
    assert message == (
        "'Documents' was not synced: The library is being synced; try again once that sync has finished."
    )
    assert not LibraryFile.objects.filter(library=world.library).exists()


def test_the_button_is_a_post(world):
    response = logged_in(world.users["granted"]).get(_sync_url(world.library))

    assert response.status_code == 405
    assert not LibraryFile.objects.filter(library=world.library).exists()


def test_syncing_without_the_right_is_refused_and_changes_nothing(world):
    # given: view access only, then another tenant's staff, then the tenant's staff without a share
    share_services.share_set(library=world.library, principal=world.users["plain"], level=1)
    before = Library.objects.values().get(pk=world.library.pk)

    # when
    viewer = logged_in(world.users["plain"]).post(_sync_url(world.library))
    stranger = logged_in(world.users["stranger"]).post(_sync_url(world.library))
    unshared = logged_in(world.users["plain"]).post(_sync_url(world.dav))

    # then
    assert (viewer.status_code, stranger.status_code, unshared.status_code) == (403, 404, 404)
    assert Library.objects.values().get(pk=world.library.pk) == before
    assert not LibraryFile.objects.filter(library=world.library).exists()


def test_the_list_action_syncs_each_selected_library(world):
    # given
    client = logged_in(world.users["granted"])

    # when
    response = client.post(
        reverse("admin:library_library_changelist"),
        {"action": "sync_now", "_selected_action": [str(world.library.pk)]},
    )

    # then
    assert response.status_code == 302
    assert LibraryFile.objects.filter(library=world.library, directory=False).count() == 2
    (message,) = _messages(response)
    assert message.startswith("Synced 'Documents': 2 added")


def test_the_list_action_refuses_a_selection_holding_one_out_of_reach(world):
    # given: plain may sync 'Documents' but not the WebDAV library; the POST names both
    share_services.share_set(library=world.library, principal=world.users["plain"], level=2)
    share_services.share_set(library=world.dav, principal=world.users["plain"], level=1)

    # when
    response = logged_in(world.users["plain"]).post(
        reverse("admin:library_library_changelist"),
        {"action": "sync_now", "_selected_action": [str(world.library.pk), str(world.dav.pk)]},
    )

    # then: nothing synced at all
    assert response.status_code == 403
    assert not LibraryFile.objects.filter(library=world.library).exists()
    assert fresh(world.library).synced_at is None
