"""``POST /api/libraries/{id}/_sync`` of an ``embedded`` library enqueues its indexing (``library.tasks``).

django-q2 runs tasks inline in unit tests (``Conf.SYNC``); the enqueue waits for the commit, which
``django_capture_on_commit_callbacks(execute=True)`` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from library import tasks
from library.models import Chunk, Library, LibraryFile
from tests.library.api.roles import assert_error, library_state, make_folder, make_library, make_roles


@pytest.fixture(autouse=True)
def hashing(settings: Any, media: Path) -> None:
    settings.INFORMER_EMBEDDER = "library.embedding.HashingEmbedder"


@pytest.fixture
def root(local_library_root: Path) -> Path:
    make_folder(local_library_root, "docs", {"a.txt": b"Alpha apples.", "guides/b.md": b"# Bravo\n\nBravo bees."})
    return local_library_root


@pytest.fixture
def roles(root: Path, tenant: Any, owner: Any) -> Any:
    return make_roles(tenant, owner, make_library(owner, embedded=True))


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """What is handed to django-q2 (nothing runs)."""
    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr("django_q.tasks.async_task", lambda *args, **kwargs: calls.append(args))
    return calls


def statuses(library: Library) -> dict[str, str]:
    return dict(LibraryFile.objects.filter(library=library, directory=False).values_list("path", "index_status"))


def test_a_sync_of_an_embedded_library_enqueues_its_indexing_once_committed(
    roles, enqueued, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = roles.clients["edit"].post(f"/api/libraries/{roles.obj.pk}/_sync")

        # then: not before the commit
        assert response.status_code == 200, response.content
        assert enqueued == []
    for callback in callbacks:
        callback()
    assert enqueued == [("library.tasks.index_library", str(roles.obj.pk))]
    assert set(response.json()) == {
        "added",
        "updated",
        "deleted",
        "unchanged",
        "skipped",
        "bytes",
        "duration",
        "errors",
        "success",
    }


def test_the_enqueued_indexing_indexes_the_synced_files(roles, django_capture_on_commit_callbacks):
    # when: the task runs inline (django-q2's sync mode)
    with django_capture_on_commit_callbacks(execute=True):
        response = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_sync")

    # then
    assert response.status_code == 200, response.content
    assert statuses(roles.obj) == {"a.txt": "indexed", "guides/b.md": "indexed"}
    assert Chunk.objects.filter(library=roles.obj).count() == 2
    roles.obj.refresh_from_db()
    assert (roles.obj.index_model, roles.obj.index_started_at) == ("hashing-test-embedder", None)
    assert roles.obj.indexed_at is not None


def test_a_library_that_is_not_embedded_is_not_indexed(roles, enqueued, django_capture_on_commit_callbacks):
    # given
    Library.objects.filter(pk=roles.obj.pk).update(embedded=False)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_sync")

    # then
    assert response.status_code == 200, response.content
    assert enqueued == []
    assert set(statuses(roles.obj).values()) == {"pending"}


def test_a_failed_sync_enqueues_nothing(roles, root, enqueued, django_capture_on_commit_callbacks):
    # given: the folder is gone (the listing fails)
    for path in sorted((root / "docs").rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    (root / "docs").rmdir()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_sync")

    # then
    assert_error(response, 400, "settings")
    assert enqueued == []


@pytest.mark.parametrize(("role", "status_code"), [("view", 403), ("no_share", 404), ("other_tenant", 404)])
def test_a_refused_sync_enqueues_nothing_and_changes_nothing(
    roles, enqueued, db_state, django_capture_on_commit_callbacks, role, status_code
):
    # given
    before = {**db_state(), **library_state()}

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = roles.clients[role].post(f"/api/libraries/{roles.obj.pk}/_sync")

    # then
    assert_error(response, status_code)
    assert enqueued == []
    assert {**db_state(), **library_state()} == before


# --- The task -----------------------------------------------------------------------------------------------


def test_the_task_indexes_by_id_and_a_second_delivery_reads_nothing(roles):
    # given
    roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_sync")

    # when
    first = tasks.index_library(str(roles.obj.pk))
    second = tasks.index_library(str(roles.obj.pk))

    # then
    assert first is not None and second is not None
    assert (first["indexed"], first["success"]) == (2, True)
    assert (second["indexed"], second["unchanged"]) == (0, 2)


def test_the_task_leaves_a_library_gone_not_embedded_or_being_indexed_alone(roles):
    # given
    roles.clients["owner"].post(f"/api/libraries/{roles.obj.pk}/_sync")

    # then: gone
    assert tasks.index_library("6a2f0c1e-8d8b-4a39-9a55-0f4f3b7f1c2d") is None
    # being indexed by another
    Library.objects.filter(pk=roles.obj.pk).update(index_started_at=timezone.now())
    assert tasks.index_library(str(roles.obj.pk)) is None
    # no longer embedded
    Library.objects.filter(pk=roles.obj.pk).update(index_started_at=None, embedded=False)
    assert tasks.index_library(str(roles.obj.pk)) is None
    assert set(statuses(roles.obj).values()) == {"pending"}
    assert not Chunk.objects.exists()
