"""The library drivers (§9): the ``library-sync`` job type and the ``library`` action — their data schemas, the
rights checked when a job or action is saved (the caller's) and when its step runs (the owner's), and what each
step does with a local library under a library root of the test's own.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from jobs.drivers.base import RunContext, StepFailed, StepProgress
from jobs.drivers.registry import action_driver, job_driver
from jobs.models import Job, JobAction
from jobs.selectors import job_definition
from jobs.services import shares as job_shares
from library.integrations.base import IntegrationError
from library.integrations.local import LocalIntegration
from library.models import Library, LibraryFile, LibraryUserObjectPermission
from library.services.shares import share_set
from tests.conftest import client_for
from tests.factories import JobFactory, TenantFactory, UserFactory
from tests.jobs.api.test_actions import ERROR_KEYS, JobActionFactory, JobAttachmentFactory, upload
from tests.library.conftest import local_library_root  # noqa: F401 - fixture
from tests.library.factories import LibraryFactory

pytestmark = pytest.mark.django_db


# --- Fixtures and helpers -----------------------------------------------------------------------------------


def library_of(user: Any, *, name: str = "Docs", slug: str = "docs", folder: str = "docs") -> Library:
    """A local library of ``user``'s (who holds every right on it) on ``folder`` under the library root."""
    library: Library = LibraryFactory(owner=user, name=name, slug=slug, settings={"path": folder})
    return library


def revoke(user: Any, library: Library, codename: str) -> None:
    LibraryUserObjectPermission.objects.filter(
        user=user, content_object=library, permission__codename=codename
    ).delete()


@pytest.fixture
def folder(local_library_root: Path) -> Path:  # noqa: F811 - the fixture imported above
    """The local library's folder, holding three files (one in a sub-folder)."""
    path = local_library_root / "docs"
    (path / "guides").mkdir(parents=True)
    (path / "a.txt").write_bytes(b"alpha\n")
    (path / "b.md").write_bytes(b"# beta\n")
    (path / "guides" / "c.csv").write_bytes(b"x,y\n1,2\n")
    return path


@pytest.fixture
def docs(owner: Any, folder: Path) -> Library:
    return library_of(owner)


@pytest.fixture
def sync_job(owner: Any, docs: Library) -> Job:
    job: Job = JobFactory(
        owner=owner, name="Hourly", slug="hourly", type="library-sync", data={"library": "alpha:docs"}
    )
    return job


class Recorder:
    """A StepProgress whose writes are recorded: each time it says it changed, a copy of its entries."""

    def __init__(self) -> None:
        self.writes: list[list[dict[str, Any]]] = []
        self.progress = StepProgress(changed=self.changed)

    def changed(self) -> None:
        self.writes.append([dict(entry) for entry in self.progress.entries])


def context_for(job: Job, *, recorder: Recorder | None = None) -> RunContext:
    """What a run of ``job`` gives its steps (its definition frozen now)."""
    job.refresh_from_db()
    return RunContext(
        run_id=str(uuid.uuid4()),
        job=job_definition(job),
        params={},
        results={},
        progress=(recorder or Recorder()).progress,
    )


def paths(library: Library) -> list[str]:
    return sorted(LibraryFile.objects.filter(library=library, directory=False).values_list("path", flat=True))


# --- Schemas ------------------------------------------------------------------------------------------------

# (id, kind, data, the messages)
SCHEMA_CASES: list[tuple[str, str, Any, list[str]]] = [
    ("sync by natural id", "job", {"library": "alpha:docs"}, []),
    ("sync by id, mass delete", "job", {"library": str(uuid.uuid4()), "allowMassDelete": True}, []),
    ("sync without library", "job", {}, ["data.library: is required."]),
    ("sync blank library", "job", {"library": ""}, ["data.library: must not be empty."]),
    ("sync library a number", "job", {"library": 3}, ["data.library: must be a string, not an integer."]),
    ("sync library too long", "job", {"library": "x" * 201}, ["data.library: must be at most 200 characters long."]),
    (
        "sync mass delete a string",
        "job",
        {"library": "alpha:docs", "allowMassDelete": "yes"},
        ["data.allowMassDelete: must be true or false, not a string."],
    ),
    (
        "sync the old key",
        "job",
        {"libraryId": "x"},
        [
            "data.libraryId: is not a known property; the known properties are: library, allowMassDelete.",
            "data.library: is required.",
        ],
    ),
    ("write to the top", "action", {"library": "alpha:docs"}, []),
    ("write to a folder", "action", {"library": "alpha:docs", "path": "reports/2026", "overwrite": True}, []),
    ("write to a slashed folder", "action", {"library": "alpha:docs", "path": "/reports/"}, []),
    ("write to a templated folder", "action", {"library": "alpha:docs", "path": "runs/{{ run.id }}"}, []),
    ("write without library", "action", {"path": "x"}, ["data.library: is required."]),
    (
        "write above the library",
        "action",
        {"library": "alpha:docs", "path": "../up"},
        ["data.path: '../up' cannot be a library's folder: it contains '..'."],
    ),
    (
        "write to an empty segment",
        "action",
        {"library": "alpha:docs", "path": "a//b"},
        ["data.path: 'a//b' cannot be a library's folder: it has an empty segment."],
    ),
    (
        "write through a backslash",
        "action",
        {"library": "alpha:docs", "path": "a\\b"},
        ["data.path: 'a\\b' cannot be a library's folder: it contains a backslash."],
    ),
    (
        "write to a bad template",
        "action",
        {"library": "alpha:docs", "path": "{% if %}"},
        ["data.path: not a valid template: Unexpected end of expression in if tag."],
    ),
    (
        "write overwrite a string",
        "action",
        {"library": "alpha:docs", "overwrite": "no"},
        ["data.overwrite: must be true or false, not a string."],
    ),
    (
        "write the old key",
        "action",
        {"library": "alpha:docs", "folder": "a"},
        ["data.folder: is not a known property; the known properties are: library, path, overwrite."],
    ),
]


@pytest.mark.parametrize(
    ("kind", "data", "messages"), [case[1:] for case in SCHEMA_CASES], ids=[case[0] for case in SCHEMA_CASES]
)
def test_each_driver_checks_its_data(kind, data, messages):
    # when
    problems = (
        job_driver("library-sync").validation_errors(data) if kind == "job" else action_driver("library").errors(data)
    )

    # then
    assert problems == messages


def test_both_drivers_are_available_and_describe_their_data():
    # when
    sync = job_driver("library-sync").describe()
    write = action_driver("library").describe()

    # then
    assert (sync["id"], sync["name"], sync["available"]) == ("library-sync", "Library sync", True)
    assert sync["schema"]["required"] == ["library"]
    assert list(sync["schema"]["properties"]) == ["library", "allowMassDelete"]
    assert sync["schema"]["properties"]["allowMassDelete"]["default"] is False
    assert (write["id"], write["name"], write["available"]) == ("library", "Library update", True)
    assert write["schema"]["required"] == ["library"]
    assert list(write["schema"]["properties"]) == ["library", "path", "overwrite"]
    assert write["schema"]["properties"]["overwrite"]["default"] is False


# --- Rights when a job or action is saved -------------------------------------------------------------------


@pytest.fixture
def librarian(tenant: Any) -> Any:
    """Another user of the tenant, whose library the owner may be given shares of."""
    return UserFactory(username="librarian", tenant=tenant)


@pytest.fixture
def shelf(librarian: Any, local_library_root: Path) -> Library:  # noqa: F811 - the fixture imported above
    """The librarian's library ``alpha:shelf``, not shared with anyone yet."""
    return library_of(librarian, name="Shelf", slug="shelf", folder="shelf")


def sync_body(library: str) -> dict[str, Any]:
    return {"name": "Sync", "type": "library-sync", "interval": "0 * * * *", "data": {"library": library}}


def assert_data_refused(response: Any, message: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert (error["message"], error["details"]) == (message, {"data": [message]})


@pytest.mark.parametrize("level", [2, 3])
@pytest.mark.parametrize("by", ["natural id", "id"])
def test_a_sync_job_is_saved_when_the_caller_may_sync_the_library(owner, shelf, level, by):
    # given
    share_set(library=shelf, principal=owner, level=level)
    key = "alpha:shelf" if by == "natural id" else str(shelf.pk)

    # when
    response = client_for(owner).post("/api/jobs", sync_body(key), format="json")

    # then
    assert response.status_code == 201, response.content
    assert response.json()["data"] == {"library": key}
    assert Job.objects.get().data == {"library": key}


def test_a_sync_job_on_a_library_the_caller_may_only_read_is_a_400_naming_the_right(owner, shelf, db_state):
    # given
    share_set(library=shelf, principal=owner, level=1)
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", sync_body("alpha:shelf"), format="json")

    # then
    assert_data_refused(
        response,
        "data.library: you need the 'library:sync' permission (sync_library) on library 'Shelf' for a job to sync it.",
    )
    assert db_state() == before


@pytest.mark.parametrize("case", ["no share", "unknown", "other tenant", "other tenant by id"])
def test_a_sync_job_on_a_library_the_caller_cannot_read_is_a_400_that_does_not_say_whether_it_exists(
    owner, shelf, db_state, case
):
    # given: the same answer whether the library exists or not
    stranger = UserFactory(username="stranger", tenant=TenantFactory(slug="beta"))
    theirs = library_of(stranger, name="Theirs", slug="theirs", folder="theirs")
    key = {
        "no share": "alpha:shelf",
        "unknown": "alpha:nothing",
        "other tenant": "beta:theirs",
        "other tenant by id": str(theirs.pk),
    }[case]
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", sync_body(key), format="json")

    # then
    assert_data_refused(response, f"data.library: there is no library '{key}' that you can read.")
    assert db_state() == before


def test_an_editor_keeps_a_library_they_have_no_right_on_but_cannot_point_the_job_at_another(
    owner, tenant, sync_job, shelf, db_state
):
    # given: an editor of the job who holds nothing on either library
    editor = UserFactory(username="editor", tenant=tenant)
    job_shares.share_set(job=sync_job, principal=editor, level=2)
    client = client_for(editor)

    # when: a write that keeps the library (a full PUT sends it back)
    response = client.put(
        f"/api/jobs/{sync_job.pk}", {"name": "Renamed", "data": {"library": "alpha:docs"}}, format="json"
    )

    # then
    assert response.status_code == 200, response.content
    assert Job.objects.get(pk=sync_job.pk).name == "Renamed"

    # when: pointing it at another library
    before = db_state()
    response = client.patch(f"/api/jobs/{sync_job.pk}", {"data": {"library": "alpha:shelf"}}, format="json")

    # then
    assert_data_refused(response, "data.library: there is no library 'alpha:shelf' that you can read.")
    assert db_state() == before


def test_changing_a_job_to_library_sync_checks_the_library(owner, shelf, db_state):
    # given
    job = JobFactory(owner=owner, type="email", data={})
    share_set(library=shelf, principal=owner, level=1)
    before = db_state()

    # when
    response = client_for(owner).patch(
        f"/api/jobs/{job.pk}", {"type": "library-sync", "data": {"library": "alpha:shelf"}}, format="json"
    )

    # then
    assert_data_refused(
        response,
        "data.library: you need the 'library:sync' permission (sync_library) on library 'Shelf' for a job to sync it.",
    )
    assert db_state() == before


@pytest.mark.parametrize(
    ("level", "message"),
    [
        (0, "data.library: there is no library 'alpha:shelf' that you can read."),
        (
            1,
            "data.library: you need the 'library:edit' permission (change_library) on library 'Shelf' for a job to "
            "write files into it.",
        ),
        (2, None),
        (3, None),
    ],
)
def test_a_library_action_needs_the_callers_change_right(owner, job, shelf, db_state, level, message):
    # given
    share_set(library=shelf, principal=owner, level=level)
    before = db_state()
    body = {"type": "library", "name": "Keep", "data": {"library": "alpha:shelf", "path": "reports"}}

    # when
    response = client_for(owner).post(f"/api/jobs/{job.pk}/actions", body, format="json")

    # then
    if message is None:
        assert response.status_code == 201, response.content
        assert JobAction.objects.get(job=job).data == {"library": "alpha:shelf", "path": "reports"}
    else:
        assert_data_refused(response, message)
        assert db_state() == before


def test_an_action_keeping_its_library_is_saved_by_an_editor_without_rights_on_it(owner, tenant, job, docs):
    # given
    action = JobActionFactory(job=job, type="library", name="Keep", data={"library": "alpha:docs"})
    editor = UserFactory(username="editor", tenant=tenant)
    job_shares.share_set(job=job, principal=editor, level=2)

    # when
    response = client_for(editor).put(
        f"/api/jobs/{job.pk}/actions/{action.pk}", {"name": "Keep it", "data": {"library": "alpha:docs"}}, format="json"
    )

    # then
    assert response.status_code == 200, response.content
    assert JobAction.objects.get(pk=action.pk).name == "Keep it"


# --- library-sync when it runs ------------------------------------------------------------------------------


def test_the_sync_step_mirrors_the_library_with_its_counts_and_a_climbing_entry(sync_job, docs):
    # given
    recorder = Recorder()

    # when
    result = job_driver("library-sync").execute(context_for(sync_job, recorder=recorder))

    # then
    assert paths(docs) == ["a.txt", "b.md", "guides/c.csv"]
    assert result.warning is False
    assert result.message.startswith(
        "Synced library 'Docs': 3 added, 0 updated, 0 deleted, 0 unchanged, 0 skipped; 0.0 MiB fetched in "
    )
    counts = {key: result.data[key] for key in ("added", "updated", "deleted", "unchanged", "skipped", "bytes")}
    assert counts == {"added": 3, "updated": 0, "deleted": 0, "unchanged": 0, "skipped": 0, "bytes": 21}
    assert (result.data["library"], result.data["libraryId"], result.data["name"]) == (
        "alpha:docs",
        str(docs.pk),
        "Docs",
    )
    assert (result.data["errors"], result.data["success"]) == ([], True)
    assert result.entry == counts
    [entry] = recorder.progress.entries
    assert (entry["key"], entry["name"], entry["status"], entry["libraryId"]) == (
        "sync:alpha:docs",
        "Sync Docs",
        "success",
        str(docs.pk),
    )
    assert (entry["files"], entry["total"], entry["added"], entry["bytes"]) == (3, 3, 3, 21)
    assert entry["message"] == result.message
    running = [
        (item["files"], item["total"]) for write in recorder.writes for item in write if item["status"] == "running"
    ]
    assert running[0] == (0, 0)
    assert [files for files, _ in running] == sorted(files for files, _ in running)
    assert {(1, 3), (2, 3), (3, 3)} <= set(running)


def test_a_second_sync_finds_everything_unchanged(sync_job, docs):
    # given
    job_driver("library-sync").execute(context_for(sync_job))

    # when
    result = job_driver("library-sync").execute(context_for(sync_job))

    # then
    counts = {key: result.data[key] for key in ("added", "updated", "deleted", "unchanged", "skipped", "bytes")}
    assert counts == {"added": 0, "updated": 0, "deleted": 0, "unchanged": 3, "skipped": 0, "bytes": 0}
    assert result.warning is False


@pytest.mark.parametrize(
    ("codename", "message"),
    [
        (
            "sync_library",
            "The job's owner {owner} may no longer sync library 'Docs' (alpha:docs): it needs the 'library:sync' "
            "permission (sync_library).",
        ),
        (
            "view_library",
            "The job's owner {owner} may no longer read library 'alpha:docs'; share it with them again or change "
            "the job.",
        ),
    ],
)
def test_an_owner_who_lost_a_right_gets_the_step_failed_naming_the_library(owner, sync_job, docs, codename, message):
    # given
    revoke(owner, docs, codename)

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("library-sync").execute(context_for(sync_job))

    # then
    assert failed.value.message == message.format(owner=owner.display_name)
    assert failed.value.permanent is True
    assert paths(docs) == []


def test_a_library_of_another_tenant_is_not_found_when_the_step_runs(owner, sync_job):
    # given: a job saved with another tenant's library id (by a superuser, say)
    stranger = UserFactory(username="stranger", tenant=TenantFactory(slug="beta"))
    theirs = library_of(stranger, name="Theirs", slug="theirs", folder="theirs")
    Job.objects.filter(pk=sync_job.pk).update(data={"library": str(theirs.pk)})

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("library-sync").execute(context_for(sync_job))

    # then
    assert failed.value.message == f"Library '{theirs.pk}' is not a library of the job's tenant."
    assert failed.value.permanent is True


def test_a_sync_already_running_fails_the_step_for_a_retry(sync_job, docs):
    # given: another sync holds the library
    Library.objects.filter(pk=docs.pk).update(sync_started_at=timezone.now())
    recorder = Recorder()

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("library-sync").execute(context_for(sync_job, recorder=recorder))

    # then
    assert failed.value.message == (
        "Syncing library 'Docs' failed: The library is being synced; try again once that sync has finished."
    )
    assert failed.value.permanent is False
    assert [(entry["status"], entry["message"]) for entry in recorder.progress.entries] == [
        ("error", failed.value.message)
    ]
    assert paths(docs) == []


def test_a_run_that_stops_stops_the_sync_and_keeps_what_it_fetched(sync_job, docs):
    # given: the run is being cancelled
    context = context_for(sync_job)
    context.should_stop = lambda: True

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("library-sync").execute(context)

    # then
    assert failed.value.message == (
        "Syncing library 'Docs' stopped: The sync was cancelled; the files fetched so far are kept and nothing was "
        "deleted."
    )
    assert failed.value.permanent is False
    assert failed.value.data["added"] == 0
    assert paths(docs) == []


def test_a_failed_listing_fails_the_step_for_a_retry_and_changes_nothing(sync_job, docs, folder):
    # given: synced once, then the folder goes away
    job_driver("library-sync").execute(context_for(sync_job))
    for path in sorted(folder.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    folder.rmdir()
    recorder = Recorder()

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("library-sync").execute(context_for(sync_job, recorder=recorder))

    # then
    assert failed.value.message.startswith(
        "Syncing library 'Docs' failed: The listing failed, so nothing was changed: There is no folder 'docs' under "
        "the library root. Counts: 0 added, 0 updated, 0 deleted, 0 unchanged, 0 skipped; 0.0 MiB fetched in "
    )
    assert failed.value.permanent is False
    assert failed.value.data["success"] is False
    assert recorder.progress.entries[0]["status"] == "error"
    assert paths(docs) == ["a.txt", "b.md", "guides/c.csv"]


def test_deleting_most_files_without_allow_mass_delete_fails_the_step_and_deletes_nothing(sync_job, docs, folder):
    # given: synced once, then two of the three files removed
    job_driver("library-sync").execute(context_for(sync_job))
    (folder / "a.txt").unlink()
    (folder / "b.md").unlink()

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("library-sync").execute(context_for(sync_job))

    # then
    assert "Refused to delete 2 of the library's 3 files in one sync (more than half)" in failed.value.message
    assert failed.value.permanent is True  # someone has to allow it
    assert paths(docs) == ["a.txt", "b.md", "guides/c.csv"]

    # when: allowed
    Job.objects.filter(pk=sync_job.pk).update(data={"library": "alpha:docs", "allowMassDelete": True})
    result = job_driver("library-sync").execute(context_for(sync_job))

    # then
    assert (result.data["deleted"], result.data["unchanged"], result.warning) == (2, 1, False)
    assert paths(docs) == ["guides/c.csv"]


def test_a_file_that_cannot_be_fetched_makes_the_step_a_warning(sync_job, docs, monkeypatch):
    # given: one file's download fails
    real_download = LocalIntegration.download

    def download(self: LocalIntegration, path: str) -> Any:
        if path == "b.md":
            raise IntegrationError("The disk is on fire.", permanent=False)
        return real_download(self, path)

    monkeypatch.setattr(LocalIntegration, "download", download)
    recorder = Recorder()

    # when
    result = job_driver("library-sync").execute(context_for(sync_job, recorder=recorder))

    # then
    assert result.warning is True
    assert (result.data["added"], result.data["errors"]) == (
        2,
        [{"path": "b.md", "error": "Download failed, it was not stored: The disk is on fire."}],
    )
    assert result.message.endswith(
        " s. 1 file(s) with errors, first b.md: Download failed, it was not stored: The disk is on fire."
    )
    assert recorder.progress.entries[0]["status"] == "warning"
    assert paths(docs) == ["a.txt", "guides/c.csv"]


def test_an_old_definition_fails_the_step_naming_its_data(owner, docs):
    # given: saved under the placeholder schema
    job = JobFactory(owner=owner, type="library-sync", data={"libraryId": str(docs.pk)})

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("library-sync").execute(context_for(job))

    # then
    assert failed.value.message == (
        "The job's data: data.libraryId: is not a known property; the known properties are: library, allowMassDelete."
    )
    assert failed.value.permanent is True


# --- The library action -------------------------------------------------------------------------------------


@pytest.fixture
def write_action(owner: Any, docs: Library, media: Path) -> JobAction:
    """An email job's action writing two uploaded files into reports/ of the library."""
    job = JobFactory(owner=owner, name="Weekly", slug="weekly", type="email", data={})
    action: JobAction = JobActionFactory(
        job=job, type="library", name="Keep", data={"library": "alpha:docs", "path": "reports"}
    )
    upload(JobAttachmentFactory(action=action, name="notes.txt"), b"notes\n", "text/plain")
    upload(JobAttachmentFactory(action=action, name="data.csv"), b"a,b\n1,2\n", "text/csv")
    return action


def action_definition_of(action: JobAction) -> dict[str, Any]:
    context = context_for(action.job)
    return next(item for item in context.job["actions"] if item["id"] == str(action.pk))


def test_the_preview_lists_what_a_run_would_write_and_writes_nothing(write_action, docs, folder):
    # given: reports/notes.txt is already there
    LibraryFile.objects.create(library=docs, path="reports/notes.txt", filename="notes.txt", origin="job")
    context = context_for(write_action.job)
    context.preview = True

    # when
    preview = action_driver("library").preview(context, action_definition_of(write_action))

    # then
    assert preview == {
        "libraryId": str(docs.pk),
        "name": "Docs",
        "path": "reports",
        "overwrite": False,
        "files": [
            {"name": "notes.txt", "type": "file", "size": 6, "path": "reports/notes.txt", "exists": True},
            {"name": "data.csv", "type": "file", "size": 8, "path": "reports/data.csv", "exists": False},
        ],
    }
    assert not (folder / "reports").exists()


def test_an_owner_who_lost_change_gets_the_write_failed_naming_the_library(owner, write_action, docs, folder):
    # given
    revoke(owner, docs, "change_library")

    # when
    with pytest.raises(StepFailed) as failed:
        action_driver("library").execute(context_for(write_action.job), action_definition_of(write_action))

    # then
    assert failed.value.message == (
        f"The job's owner {owner.display_name} may no longer write files into library 'Docs' (alpha:docs): it needs "
        "the 'library:edit' permission (change_library)."
    )
    assert failed.value.permanent is True
    assert not (folder / "reports").exists()
    assert paths(docs) == []


def test_an_action_without_attachments_writes_nothing(owner, docs, folder):
    # given
    job = JobFactory(owner=owner, type="email", data={})
    action = JobActionFactory(job=job, type="library", name="Keep", data={"library": "alpha:docs"})

    # when
    result = action_driver("library").execute(context_for(job), action_definition_of(action))

    # then
    assert (result.message, result.warning) == (
        "Nothing to write into library 'Docs': the action has no attachments.",
        False,
    )
    assert paths(docs) == []


def test_a_rendered_folder_that_leaves_the_library_fails_the_step(owner, docs, folder):
    # given
    job = JobFactory(owner=owner, type="email", data={})
    action = JobActionFactory(
        job=job, type="library", name="Keep", data={"library": "alpha:docs", "path": "{{ params.dir }}"}
    )
    context = context_for(job)
    context.params = {"dir": "../../etc"}

    # when
    with pytest.raises(StepFailed) as failed:
        action_driver("library").execute(context, action_definition_of(action))

    # then
    assert failed.value.message == "Action 'Keep': '../../etc' cannot be a library's folder: it contains '..'."
    assert failed.value.permanent is True


def test_the_action_writes_each_attachment_into_the_folder_and_lists_them(write_action, docs, folder):
    # when
    result = action_driver("library").execute(context_for(write_action.job), action_definition_of(write_action))

    # then
    assert result.message == "Wrote 2 file(s) into library 'Docs': reports/notes.txt, reports/data.csv."
    assert (folder / "reports" / "notes.txt").read_bytes() == b"notes\n"
    assert (folder / "reports" / "data.csv").read_bytes() == b"a,b\n1,2\n"
    rows = LibraryFile.objects.filter(library=docs, directory=False).order_by("path")
    assert [(row.path, row.origin, row.size, row.content_type) for row in rows] == [
        ("reports/data.csv", "job", 8, "text/csv"),
        ("reports/notes.txt", "job", 6, "text/plain"),
    ]
    assert result.data == {
        "libraryId": str(docs.pk),
        "files": [
            {"id": str(rows[1].pk), "path": "reports/notes.txt", "size": 6, "sha256": rows[1].sha256},
            {"id": str(rows[0].pk), "path": "reports/data.csv", "size": 8, "sha256": rows[0].sha256},
        ],
    }


def test_a_name_taken_gets_a_number_unless_overwrite(write_action, docs, folder):
    # given: written once
    execute = action_driver("library").execute
    execute(context_for(write_action.job), action_definition_of(write_action))

    # when
    again = execute(context_for(write_action.job), action_definition_of(write_action))

    # then
    assert again.message == "Wrote 2 file(s) into library 'Docs': reports/notes (1).txt, reports/data (1).csv."
    assert sorted(path.name for path in (folder / "reports").iterdir()) == [
        "data (1).csv",
        "data.csv",
        "notes (1).txt",
        "notes.txt",
    ]

    # when: overwrite
    JobAction.objects.filter(pk=write_action.pk).update(
        data={"library": "alpha:docs", "path": "reports", "overwrite": True}
    )
    replaced = execute(context_for(write_action.job), action_definition_of(write_action))

    # then
    assert replaced.message == "Wrote 2 file(s) into library 'Docs': reports/notes.txt, reports/data.csv."
    assert paths(docs) == ["reports/data (1).csv", "reports/data.csv", "reports/notes (1).txt", "reports/notes.txt"]


def test_a_file_over_the_size_limit_fails_the_step_naming_what_was_written(settings, write_action, docs, folder):
    # given: notes.txt (6 bytes) fits, data.csv (8 bytes) does not
    settings.INFORMER_LIBRARY_MAX_FILE_BYTES = 7

    # when
    with pytest.raises(StepFailed) as failed:
        action_driver("library").execute(context_for(write_action.job), action_definition_of(write_action))

    # then
    assert failed.value.message == (
        "Writing 'reports/data.csv' into library 'Docs' failed: The file is larger than the 7 bytes limit "
        "(INFORMER_LIBRARY_MAX_FILE_BYTES). Written before it: reports/notes.txt."
    )
    assert failed.value.permanent is True
    assert [item["path"] for item in failed.value.data["files"]] == ["reports/notes.txt"]
    assert paths(docs) == ["reports/notes.txt"]
    assert not (folder / "reports" / "data.csv").exists()
