"""A library's files in the admin: downloaded as stored, deleted through ``file_delete`` (also on the remote)."""

from __future__ import annotations

from django.urls import reverse

from library.models import Library, LibraryFile
from library.services import shares as share_services
from tests.informer.admin.pages import logged_in
from tests.library.admin.conftest import World, fresh


def _synced(world: World) -> dict[str, LibraryFile]:
    logged_in(world.users["superuser"]).post(reverse("admin:library_library_sync", args=[world.library.pk]))
    return {file.path: file for file in LibraryFile.objects.filter(library=world.library)}


def _download(file: LibraryFile) -> str:
    return reverse("admin:library_libraryfile_download", args=[file.pk])


def _delete(file: LibraryFile) -> str:
    return reverse("admin:library_libraryfile_delete", args=[file.pk])


def test_a_download_streams_the_stored_bytes_under_the_files_name(world):
    # given: view access is enough
    file = _synced(world)["guides/setup.md"]
    share_services.share_set(library=world.library, principal=world.users["plain"], level=1)

    # when
    response = logged_in(world.users["plain"]).get(_download(file))

    # then
    assert response.status_code == 200
    assert response.streaming
    assert b"".join(response.streaming_content) == b"# Setup\n\nPlug it in.\n"
    assert response["Content-Disposition"] == 'attachment; filename="setup.md"'
    assert response["Content-Type"] == file.content_type


def test_a_folder_or_a_file_not_stored_has_nothing_to_download(world):
    files = _synced(world)
    LibraryFile.objects.filter(pk=files["readme.txt"].pk).update(sha256="", index_status="skipped")
    client = logged_in(world.users["granted"])

    assert client.get(_download(files["guides"])).status_code == 404
    assert client.get(_download(files["readme.txt"])).status_code == 404


def test_deleting_a_file_removes_it_from_the_folder_too(world):
    # given
    file = _synced(world)["readme.txt"]
    client = logged_in(world.users["granted"])

    # when
    page = client.get(_delete(file)).content.decode()
    response = client.post(_delete(file), {"post": "yes"})

    # then
    assert "Documents: readme.txt (also on the library's remote)" in page
    assert response.status_code == 302
    assert not LibraryFile.objects.filter(pk=file.pk).exists()
    assert not (world.folder / "readme.txt").exists()
    assert (fresh(world.library).files, fresh(world.library).size) == (1, 21)


def test_a_folder_with_files_is_not_deleted_and_the_page_says_why(world):
    folder = _synced(world)["guides"]

    response = logged_in(world.users["granted"]).post(_delete(folder), {"post": "yes"}, follow=True)

    assert "Not deleted: The folder &#x27;guides&#x27; is not empty; delete what it holds first." in (
        response.content.decode()
    )
    assert LibraryFile.objects.filter(pk=folder.pk).exists()
    assert (world.folder / "guides" / "setup.md").exists()


def test_deleting_without_change_library_is_refused_and_changes_nothing(world):
    # given: view access (level 1), and another tenant's staff
    file = _synced(world)["readme.txt"]
    share_services.share_set(library=world.library, principal=world.users["plain"], level=1)
    before = list(LibraryFile.objects.filter(library=world.library).order_by("path").values())

    # when
    viewer = logged_in(world.users["plain"]).post(_delete(file), {"post": "yes"})
    stranger = logged_in(world.users["stranger"]).post(_delete(file), {"post": "yes"})
    action = logged_in(world.users["plain"]).post(
        reverse("admin:library_libraryfile_changelist"),
        {"action": "delete_selected", "_selected_action": [str(file.pk)], "post": "yes"},
    )

    # then
    assert (viewer.status_code, stranger.status_code, action.status_code) == (403, 302, 403)
    assert list(LibraryFile.objects.filter(library=world.library).order_by("path").values()) == before
    assert (world.folder / "readme.txt").exists()
    assert Library.objects.get(pk=world.library.pk).files == 2


def test_the_delete_action_deletes_each_through_the_service(world):
    files = _synced(world)

    response = logged_in(world.users["granted"]).post(
        reverse("admin:library_libraryfile_changelist"),
        {"action": "delete_selected", "_selected_action": [str(files["readme.txt"].pk)], "post": "yes"},
    )

    assert response.status_code == 302
    assert not (world.folder / "readme.txt").exists()
    assert sorted(LibraryFile.objects.filter(library=world.library).values_list("path", flat=True)) == [
        "guides",
        "guides/setup.md",
    ]
