"""One sync per library: the claim on ``sync_started_at``, its renewal, abandoned claims, cancellation."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from library.integrations.local import LocalIntegration
from library.models import Library, LibraryFile
from library.services import claims as claim_module
from library.services.sync import SyncCancelled, SyncInProgress, SyncProgress, library_sync, sync_claimed
from tests.library.services.conftest import files_of, write


@pytest.fixture
def two(folder: Path) -> Path:
    write(folder / "a.txt", b"alpha")
    write(folder / "b.txt", b"beta")
    return folder


def test_a_library_being_synced_refuses_a_second_sync_with_409(library: Library, two: Path) -> None:
    # given a live claim
    started = timezone.now() - dt.timedelta(minutes=5)
    Library.objects.filter(pk=library.pk).update(sync_started_at=started)

    # when
    with pytest.raises(SyncInProgress) as refused:
        library_sync(library=library)

    # then
    assert refused.value.status_code == 409
    assert refused.value.message == "The library is being synced; try again once that sync has finished."
    assert files_of(library) == {}
    assert Library.objects.get(pk=library.pk).sync_started_at == started


def test_a_second_sync_started_while_one_runs_is_refused(library: Library, two: Path) -> None:
    refusals: list[SyncInProgress] = []

    def second_sync(progress: SyncProgress) -> None:
        if progress.files_done == 1 and not refusals:
            with pytest.raises(SyncInProgress) as refused:
                library_sync(library=library)
            refusals.append(refused.value)

    result = library_sync(library=library, progress=second_sync)

    assert len(refusals) == 1 and result.added == 2
    assert Library.objects.get(pk=library.pk).sync_started_at is None  # released


def test_an_abandoned_claim_is_taken_over(library: Library, two: Path) -> None:
    # given a claim nobody renewed for more than an hour (its process died)
    Library.objects.filter(pk=library.pk).update(sync_started_at=timezone.now() - dt.timedelta(minutes=61))
    assert sync_claimed(Library.objects.get(pk=library.pk)) is False

    result = library_sync(library=library)

    assert (result.added, result.success) == (2, True)
    assert Library.objects.get(pk=library.pk).sync_started_at is None


def test_a_running_sync_renews_its_claim(library: Library, two: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(claim_module, "RENEW_SECONDS", 0.0)
    claims: list[dt.datetime | None] = []

    def look(progress: SyncProgress) -> None:
        claims.append(Library.objects.get(pk=library.pk).sync_started_at)

    library_sync(library=library, progress=look)

    assert all(claim is not None for claim in claims)
    assert claims[-1] is not None and claims[0] is not None and claims[-1] > claims[0]
    assert sync_claimed(Library.objects.get(pk=library.pk)) is False


def test_a_sync_whose_claim_was_taken_over_stops(library: Library, two: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a sync that stalled so long another one took its claim
    monkeypatch.setattr(claim_module, "RENEW_SECONDS", 0.0)
    other = timezone.now() + dt.timedelta(seconds=1)

    def taken_over(progress: SyncProgress) -> None:
        Library.objects.filter(pk=library.pk).update(sync_started_at=other)

    # when
    with pytest.raises(SyncInProgress) as stopped:
        library_sync(library=library, progress=taken_over)

    # then: it leaves the other sync's claim alone
    assert stopped.value.message == "Another sync took this library over (this one had stalled); it stopped."
    assert Library.objects.get(pk=library.pk).sync_started_at == other


def test_a_cancelled_sync_keeps_what_it_fetched_and_deletes_nothing(library: Library, two: Path) -> None:
    # given a synced library whose remote lost a file and gained two
    write(two / "c.txt", b"gamma")
    library_sync(library=library)
    synced_at = Library.objects.get(pk=library.pk).synced_at
    (two / "a.txt").unlink()
    write(two / "d.txt", b"delta")
    write(two / "e.txt", b"epsilon")
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 1  # after the first download

    # when
    with pytest.raises(SyncCancelled) as stopped:
        library_sync(library=library, cancelled=cancelled)

    # then
    assert stopped.value.message == "The sync was cancelled; the files fetched so far are kept and nothing was deleted."
    assert (stopped.value.result.added, stopped.value.result.deleted) == (1, 0)
    assert set(files_of(library)) == {"a.txt", "b.txt", "c.txt", "d.txt"}
    stored = Library.objects.get(pk=library.pk)
    assert (stored.files, stored.synced_at, stored.sync_started_at) == (4, synced_at, None)


@pytest.mark.django_db(transaction=True)
def test_two_syncs_at_once_in_two_threads_one_gets_409(
    tenant: Any, local_library_root: Path, media: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a sync held inside its first download
    from tests.factories import UserFactory
    from tests.library.factories import LibraryFactory

    folder = local_library_root / "docs"
    write(folder / "a.txt", b"alpha")
    library = LibraryFactory(owner=UserFactory(tenant=tenant), settings={"path": "docs"})
    inside, release = threading.Event(), threading.Event()
    original = LocalIntegration.download

    @contextmanager
    def held(self: LocalIntegration, path: str) -> Iterator[Iterator[bytes]]:
        inside.set()
        release.wait(10)
        with original(self, path) as chunks:
            yield chunks

    monkeypatch.setattr(LocalIntegration, "download", held)
    outcome: dict[str, Any] = {}

    def first() -> None:
        try:
            outcome["first"] = library_sync(library=Library.objects.get(pk=library.pk))
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    assert inside.wait(10)

    # when another sync starts meanwhile
    try:
        with pytest.raises(SyncInProgress):
            library_sync(library=Library.objects.get(pk=library.pk))
    finally:
        release.set()
        thread.join(10)

    # then the first one finished its work
    assert outcome["first"].added == 1
    assert LibraryFile.objects.filter(library=library, path="a.txt").exists()
    assert Library.objects.get(pk=library.pk).sync_started_at is None
