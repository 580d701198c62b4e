"""The ``index-files`` job type (§9) and the indexing after a ``library-sync`` of an embedded library: the data
schema, the rights checked when the job is saved (the caller's) and when its step runs (the owner's), and what
the step does with a local library under a library root of the test's own (with the hashing embedder).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from jobs.drivers.base import StepFailed
from jobs.drivers.registry import job_driver
from jobs.models import Job
from library.models import Chunk, Library, LibraryFile
from library.services.shares import share_set
from library.services.sync import library_sync
from tests.conftest import client_for
from tests.factories import JobFactory, TenantFactory, UserFactory
from tests.jobs.drivers.test_library_drivers import Recorder, assert_data_refused, context_for, library_of, revoke
from tests.library.conftest import local_library_root  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

COUNTS = ("indexed", "unchanged", "noText", "skipped", "chunks")


@pytest.fixture(autouse=True)
def hashing(settings: Any, media: Path) -> None:
    """The hashing stand-in embedder; stored contents in this test's media."""
    settings.INFORMER_EMBEDDER = "library.embedding.HashingEmbedder"


@pytest.fixture
def folder(local_library_root: Path) -> Path:  # noqa: F811 - the fixture imported above
    """The library's folder: two documents, one in a sub-folder."""
    path = local_library_root / "docs"
    (path / "guides").mkdir(parents=True)
    (path / "a.txt").write_bytes(b"Alpha apples are crisp.")
    (path / "guides" / "b.md").write_bytes(b"# Beta\n\nBeta bees make honey.")
    return path


@pytest.fixture
def docs(owner: Any, folder: Path) -> Library:
    return library_of(owner)


@pytest.fixture
def index_job(owner: Any, docs: Library) -> Job:
    job: Job = JobFactory(owner=owner, name="Index", slug="index", type="index-files", data={"library": "alpha:docs"})
    return job


def statuses(library: Library) -> dict[str, str]:
    rows = LibraryFile.objects.filter(library=library, directory=False)
    return dict(rows.values_list("path", "index_status"))


# --- The schema ---------------------------------------------------------------------------------------------

SCHEMA_CASES: list[tuple[str, Any, list[str]]] = [
    ("by natural id", {"library": "alpha:docs"}, []),
    ("by id, forced", {"library": str(uuid.uuid4()), "force": True}, []),
    ("without library", {}, ["data.library: is required."]),
    ("blank library", {"library": ""}, ["data.library: must not be empty."]),
    ("force a string", {"library": "alpha:docs", "force": "yes"}, ["data.force: must be true or false, not a string."]),
    (
        "the old keys",
        {"libraryId": str(uuid.uuid4()), "reindex": True},
        [
            "data.libraryId: is not a known property; the known properties are: library, force.",
            "data.reindex: is not a known property; the known properties are: library, force.",
            "data.library: is required.",
        ],
    ),
]


@pytest.mark.parametrize(("data", "messages"), [case[1:] for case in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES])
def test_the_index_job_checks_its_data(data, messages):
    assert sorted(job_driver("index-files").validation_errors(data)) == sorted(messages)


def test_the_index_job_is_available_and_describes_its_data():
    # when
    described = job_driver("index-files").describe()

    # then
    assert (described["id"], described["name"], described["available"]) == ("index-files", "Index files", True)
    assert described["schema"]["required"] == ["library"]
    assert list(described["schema"]["properties"]) == ["library", "force"]
    assert described["schema"]["properties"]["force"]["default"] is False


# --- Rights when the job is saved ---------------------------------------------------------------------------


@pytest.fixture
def shelf(tenant: Any, local_library_root: Path) -> Library:  # noqa: F811 - the fixture imported above
    """Another user's library ``alpha:shelf``, not shared with anyone yet."""
    return library_of(UserFactory(username="librarian", tenant=tenant), name="Shelf", slug="shelf", folder="shelf")


def index_body(library: str) -> dict[str, Any]:
    return {"name": "Index", "type": "index-files", "interval": "0 * * * *", "data": {"library": library}}


@pytest.mark.parametrize(
    ("level", "message"),
    [
        (0, "data.library: there is no library 'alpha:shelf' that you can read."),
        (
            1,
            "data.library: you need the 'library:sync' permission (sync_library) on library 'Shelf' for a job to "
            "index it.",
        ),
        (2, None),
        (3, None),
    ],
)
def test_an_index_job_needs_the_callers_sync_right(owner, shelf, db_state, level, message):
    # given
    share_set(library=shelf, principal=owner, level=level)
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", index_body("alpha:shelf"), format="json")

    # then
    if message is None:
        assert response.status_code == 201, response.content
        assert Job.objects.get().data == {"library": "alpha:shelf"}
    else:
        assert_data_refused(response, message)
        assert db_state() == before


def test_an_index_job_on_another_tenants_library_is_a_400_that_does_not_say_whether_it_exists(owner, db_state):
    # given
    stranger = UserFactory(username="stranger", tenant=TenantFactory(slug="beta"))
    theirs = library_of(stranger, name="Theirs", slug="theirs", folder="theirs")
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", index_body(str(theirs.pk)), format="json")

    # then
    assert_data_refused(response, f"data.library: there is no library '{theirs.pk}' that you can read.")
    assert db_state() == before


# --- index-files when it runs -------------------------------------------------------------------------------


def test_the_index_step_indexes_the_synced_files_with_its_counts_and_a_climbing_entry(index_job, docs):
    # given
    library_sync(library=docs)
    recorder = Recorder()

    # when
    result = job_driver("index-files").execute(context_for(index_job, recorder=recorder))

    # then
    assert statuses(docs) == {"a.txt": "indexed", "guides/b.md": "indexed"}
    chunks = Chunk.objects.filter(library=docs).count()
    assert result.warning is False
    assert result.message.startswith(
        f"Indexed library 'Docs': 2 indexed, 0 unchanged, 0 without text, 0 skipped, 0 with errors; {chunks} "
        "chunk(s) stored in "
    )
    assert result.data == {
        "library": "alpha:docs",
        "libraryId": str(docs.pk),
        "name": "Docs",
        "indexed": 2,
        "unchanged": 0,
        "noText": 0,
        "skipped": 0,
        "errors": [],
        "chunks": chunks,
        "duration": result.data["duration"],
        "success": True,
    }
    assert result.entry == {"indexed": 2, "unchanged": 0, "noText": 0, "skipped": 0, "chunks": chunks}
    [entry] = recorder.progress.entries
    assert (entry["key"], entry["name"], entry["status"], entry["libraryId"]) == (
        "index:alpha:docs",
        "Index Docs",
        "success",
        str(docs.pk),
    )
    assert (entry["files"], entry["total"], entry["chunks"], entry["indexed"]) == (2, 2, chunks, 2)
    assert entry["message"] == result.message
    running = [
        (item["files"], item["total"]) for write in recorder.writes for item in write if item["status"] == "running"
    ]
    assert running[0] == (0, 0)
    assert {(0, 2), (1, 2), (2, 2)} <= set(running)


def test_a_second_index_step_reads_nothing_and_force_reads_everything(index_job, docs):
    # given
    library_sync(library=docs)
    job_driver("index-files").execute(context_for(index_job))

    # when
    again = job_driver("index-files").execute(context_for(index_job))

    # then
    assert {name: again.data[name] for name in ("indexed", "unchanged")} == {"indexed": 0, "unchanged": 2}

    # when
    Job.objects.filter(pk=index_job.pk).update(data={"library": "alpha:docs", "force": True})
    forced = job_driver("index-files").execute(context_for(index_job))

    # then
    assert {name: forced.data[name] for name in ("indexed", "unchanged")} == {"indexed": 2, "unchanged": 0}


def test_a_file_that_cannot_be_indexed_makes_the_step_a_warning(index_job, docs, folder):
    # given
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 not a PDF")
    library_sync(library=docs)
    recorder = Recorder()

    # when
    result = job_driver("index-files").execute(context_for(index_job, recorder=recorder))

    # then
    assert result.warning is True
    assert statuses(docs) == {"a.txt": "indexed", "broken.pdf": "error", "guides/b.md": "indexed"}
    [error] = result.data["errors"]
    assert error["path"] == "broken.pdf" and error["error"]
    assert f"1 with errors; {result.data['chunks']} chunk(s)" in result.message
    assert "First error, broken.pdf: " in result.message
    assert recorder.progress.entries[0]["status"] == "warning"


@pytest.mark.parametrize(
    ("codename", "message"),
    [
        (
            "sync_library",
            "The job's owner {owner} may no longer index library 'Docs' (alpha:docs): it needs the 'library:sync' "
            "permission (sync_library).",
        ),
        (
            "view_library",
            "The job's owner {owner} may no longer read library 'alpha:docs'; share it with them again or change "
            "the job.",
        ),
    ],
)
def test_an_owner_who_lost_a_right_gets_the_index_step_failed_naming_the_library(
    owner, index_job, docs, codename, message
):
    # given
    library_sync(library=docs)
    revoke(owner, docs, codename)

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("index-files").execute(context_for(index_job))

    # then
    assert failed.value.message == message.format(owner=owner.display_name)
    assert failed.value.permanent is True
    assert not Chunk.objects.exists()
    assert set(statuses(docs).values()) == {"pending"}


def test_an_indexing_already_running_fails_the_step_for_a_retry(index_job, docs):
    # given
    library_sync(library=docs)
    Library.objects.filter(pk=docs.pk).update(index_started_at=timezone.now())
    recorder = Recorder()

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("index-files").execute(context_for(index_job, recorder=recorder))

    # then
    assert failed.value.message == "Indexing library 'Docs' failed: The library is already being indexed."
    assert failed.value.permanent is False
    assert [(entry["status"], entry["message"]) for entry in recorder.progress.entries] == [
        ("error", failed.value.message)
    ]
    assert not Chunk.objects.exists()


def test_a_run_that_stops_stops_the_indexing(index_job, docs):
    # given
    library_sync(library=docs)
    context = context_for(index_job)
    context.should_stop = lambda: True

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("index-files").execute(context)

    # then
    assert failed.value.message.startswith("Indexing library 'Docs' stopped: The indexing was cancelled")
    assert failed.value.permanent is False
    assert failed.value.data["index"]["indexed"] == 0
    assert not Chunk.objects.exists()


# --- library-sync of an embedded library --------------------------------------------------------------------


@pytest.fixture
def sync_job(owner: Any, docs: Library) -> Job:
    job: Job = JobFactory(
        owner=owner, name="Hourly", slug="hourly", type="library-sync", data={"library": "alpha:docs"}
    )
    return job


def test_a_sync_of_an_embedded_library_indexes_it_under_an_entry_of_its_own(sync_job, docs):
    # given
    Library.objects.filter(pk=docs.pk).update(embedded=True)
    recorder = Recorder()

    # when
    result = job_driver("library-sync").execute(context_for(sync_job, recorder=recorder))

    # then
    assert statuses(docs) == {"a.txt": "indexed", "guides/b.md": "indexed"}
    assert [(entry["key"], entry["name"], entry["status"]) for entry in recorder.progress.entries] == [
        ("sync:alpha:docs", "Sync Docs", "success"),
        ("index:alpha:docs", "Index Docs", "success"),
    ]
    assert result.data["added"] == 2
    assert {name: result.data["index"][name] for name in COUNTS} == {
        "indexed": 2,
        "unchanged": 0,
        "noText": 0,
        "skipped": 0,
        "chunks": Chunk.objects.filter(library=docs).count(),
    }
    assert result.message.startswith("Synced library 'Docs': 2 added")
    assert " Indexed library 'Docs': 2 indexed, " in result.message
    assert result.warning is False

    # when: again, nothing changed
    again = job_driver("library-sync").execute(context_for(sync_job))

    # then
    assert (again.data["unchanged"], again.data["index"]["indexed"], again.data["index"]["unchanged"]) == (2, 0, 2)


def test_a_sync_of_a_library_that_is_not_embedded_does_not_index(sync_job, docs):
    # given
    recorder = Recorder()

    # when
    result = job_driver("library-sync").execute(context_for(sync_job, recorder=recorder))

    # then
    assert [entry["key"] for entry in recorder.progress.entries] == ["sync:alpha:docs"]
    assert "index" not in result.data
    assert set(statuses(docs).values()) == {"pending"}
    assert not Chunk.objects.exists()


def test_a_failed_sync_does_not_index(sync_job, docs, folder):
    # given: an embedded library whose folder is gone (the listing fails)
    Library.objects.filter(pk=docs.pk).update(embedded=True)
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()
    recorder = Recorder()

    # when
    with pytest.raises(StepFailed):
        job_driver("library-sync").execute(context_for(sync_job, recorder=recorder))

    # then
    assert [(entry["key"], entry["status"]) for entry in recorder.progress.entries] == [("sync:alpha:docs", "error")]
    assert Library.objects.get(pk=docs.pk).indexed_at is None


def test_an_indexing_that_cannot_run_after_a_sync_fails_the_step_for_a_retry_keeping_the_sync_counts(sync_job, docs):
    # given
    Library.objects.filter(pk=docs.pk).update(embedded=True, index_started_at=timezone.now())
    recorder = Recorder()

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("library-sync").execute(context_for(sync_job, recorder=recorder))

    # then: the sync is done; the indexing is for the retry
    assert failed.value.message == "Indexing library 'Docs' failed: The library is already being indexed."
    assert failed.value.permanent is False
    assert failed.value.data["added"] == 2
    assert [(entry["key"], entry["status"]) for entry in recorder.progress.entries] == [
        ("sync:alpha:docs", "success"),
        ("index:alpha:docs", "error"),
    ]
    assert sorted(statuses(docs)) == ["a.txt", "guides/b.md"]
