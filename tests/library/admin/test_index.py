"""The library admin's "Index now" (button and list action) and what the files admin shows of the index."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from library.models import Chunk, Library, LibraryFile
from library.services import shares as share_services
from library.services.sync import library_sync
from tests.informer.admin.pages import logged_in
from tests.library.admin.conftest import fresh


@pytest.fixture(autouse=True)
def hashing(settings: Any) -> None:
    settings.INFORMER_EMBEDDER = "library.embedding.HashingEmbedder"


@pytest.fixture
def synced(world: Any) -> Any:
    """The world, its local library synced (not indexed)."""
    library_sync(library=world.library)
    return world


def _index_url(library: Library) -> str:
    return reverse("admin:library_library_index", args=[library.pk])


def _messages(response: Any) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_index_now_indexes_the_library_and_says_what_it_did(synced):
    # given
    client = logged_in(synced.users["granted"])

    # when
    response = client.post(_index_url(synced.library))

    # then
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:library_library_change", args=[synced.library.pk])
    statuses = set(LibraryFile.objects.filter(library=synced.library, directory=False).values_list("index_status"))
    assert statuses == {("indexed",)}
    (message,) = _messages(response)
    assert message.startswith(
        "Indexed 'Documents': 2 indexed, 0 unchanged, 0 without text, 0 skipped, 0 with errors; 2 chunks in "
    )
    assert fresh(synced.library).index_model == "hashing-test-embedder"

    # when: again
    again = client.post(_index_url(synced.library))

    # then
    *_, message = _messages(again)
    assert "0 indexed, 2 unchanged" in message


def test_the_page_has_the_button_beside_sync_now_for_those_who_may_sync(synced):
    # given
    share_services.share_set(library=synced.library, principal=synced.users["plain"], level=1)
    change = reverse("admin:library_library_change", args=[synced.library.pk])

    # when
    granted = logged_in(synced.users["granted"]).get(change).content.decode()
    viewer = logged_in(synced.users["plain"]).get(change).content.decode()

    # then
    assert f'action="{_index_url(synced.library)}"' in granted and ">Index now</button>" in granted
    assert granted.index(">Sync now</button>") < granted.index(">Index now</button>")
    assert "Index now" not in viewer


def test_indexing_without_the_right_is_refused_and_changes_nothing(synced):
    # given
    share_services.share_set(library=synced.library, principal=synced.users["plain"], level=1)
    before = Library.objects.values().get(pk=synced.library.pk)

    # when
    viewer = logged_in(synced.users["plain"]).post(_index_url(synced.library))
    stranger = logged_in(synced.users["stranger"]).post(_index_url(synced.library))
    getting = logged_in(synced.users["granted"]).get(_index_url(synced.library))

    # then
    assert (viewer.status_code, stranger.status_code, getting.status_code) == (403, 404, 405)
    assert Library.objects.values().get(pk=synced.library.pk) == before
    assert not Chunk.objects.exists()


def test_an_indexing_already_running_is_not_started_again(synced):
    # given
    Library.objects.filter(pk=synced.library.pk).update(index_started_at=timezone.now())

    # when
    response = logged_in(synced.users["granted"]).post(_index_url(synced.library))

    # then
    (message,) = _messages(response)
    assert message == "'Documents' was not indexed: The library is already being indexed."
    assert not Chunk.objects.exists()


def test_the_list_action_indexes_each_selected_library_it_may(synced):
    # given
    changelist = reverse("admin:library_library_changelist")
    body = {"action": "index_now", "_selected_action": [str(synced.library.pk)]}

    # when
    response = logged_in(synced.users["granted"]).post(changelist, body)

    # then
    assert response.status_code == 302
    assert Chunk.objects.filter(library=synced.library).count() == 2


def test_a_files_page_shows_its_index_status_chunks_and_reason(synced):
    # given: indexed; one file without text
    (synced.folder / "blank.txt").write_bytes(b"   \n")
    library_sync(library=synced.library)
    logged_in(synced.users["granted"]).post(_index_url(synced.library))
    readme = LibraryFile.objects.get(library=synced.library, path="readme.txt")
    blank = LibraryFile.objects.get(library=synced.library, path="blank.txt")
    client = logged_in(synced.users["granted"])

    # when
    page = client.get(reverse("admin:library_libraryfile_change", args=[readme.pk])).content.decode()
    empty = client.get(reverse("admin:library_libraryfile_change", args=[blank.pk])).content.decode()
    listing = client.get(reverse("admin:library_libraryfile_changelist")).content.decode()

    # then
    assert "<li>#0: Hello, library.</li>" in page
    assert '<div class="readonly">Indexed</div>' in page
    assert "No text was found in the file" in empty
    assert "column-chunks" in listing
    assert "Save" not in page  # read-only
