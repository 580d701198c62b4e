"""Library jobs end to end (§9): a library-sync job mirrors a local folder and a real WebDAV server, with its
progress written as files go; a job whose library action writes a dataset export and a PDF report into a
folder of the library, beside the email carrying them, numbered when the names are taken.

The owner's rights are checked again when the run gets to each step: a lost right fails the run naming the
library, and is not retried; a library another sync holds fails the run for a retry.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone
from openpyxl import load_workbook

from datasets.models import Dataset
from jobs.models import Job, JobAction, JobAttachment, JobDataset
from library.models import Library, LibraryFile, LibraryUserObjectPermission
from runs import executor
from runs import services as run_services
from runs.executor import execute_run
from runs.models import Run, RunStatus
from tests.conftest import client_for
from tests.datasets.conftest import datasource_root, sqlite_source  # noqa: F401 - fixtures
from tests.datasets.factories import DatasetFactory, datasource_from_config
from tests.factories import JobFactory
from tests.library.conftest import local_library_root, webdav_server  # noqa: F401 - fixtures
from tests.library.factories import LibraryFactory, library_from_config

# Committed writes, as in a worker: the lease keeper writes the run's progress from a thread of its own while
# the steps go, which a test transaction holding the database would keep waiting.
pytestmark = pytest.mark.django_db(transaction=True)

SALES = """
CREATE TABLE sales (region TEXT, amount INTEGER);
INSERT INTO sales VALUES ('West', 10), ('East', 20), ('North', 30);
"""
REPORT = "<table>{% for row in rows %}<tr><td>{{ row.region }}</td><td>{{ row.amount }}</td></tr>{% endfor %}</table>"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILES = {"a.txt": b"alpha\n", "b.md": b"# beta\n", "guides/c.csv": b"x,y\n1,2\n", "guides/d.html": b"<p>d</p>\n"}
COUNTS = ("added", "updated", "deleted", "unchanged", "skipped", "bytes")


@pytest.fixture(autouse=True)
def locmem_email(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def write_files(folder: Path) -> None:
    for name, content in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)


@pytest.fixture
def folder(local_library_root: Path) -> Path:  # noqa: F811 - the fixture imported above
    """The local library's folder with four files, two of them in guides/."""
    path = local_library_root / "docs"
    write_files(path)
    return path


@pytest.fixture
def docs(owner: Any, folder: Path) -> Library:
    library: Library = LibraryFactory(owner=owner, name="Docs", slug="docs", settings={"path": "docs"})
    return library


@pytest.fixture
def sync_job(owner: Any, docs: Library) -> Job:
    job: Job = JobFactory(
        owner=owner, name="Hourly", slug="hourly", type="library-sync", data={"library": "alpha:docs"}
    )
    return job


def run(job: Job) -> Run:
    created = run_services.run_create_manual(job=job, params={}, enqueue=False)
    execute_run(str(created.pk))
    created.refresh_from_db()
    return created


def entries(run: Run) -> list[tuple[str, str]]:
    return [(entry["key"], entry["status"]) for entry in run.progress]


def counts(data: dict[str, Any]) -> dict[str, int]:
    return {key: data[key] for key in COUNTS}


def stored(library: Library) -> dict[str, tuple[int, str]]:
    """Each file of the library: its size and origin."""
    rows = LibraryFile.objects.filter(library=library, directory=False)
    return {row.path: (row.size, row.origin) for row in rows}


def revoke(user: Any, library: Library, codename: str) -> None:
    LibraryUserObjectPermission.objects.filter(
        user=user, content_object=library, permission__codename=codename
    ).delete()


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[list[dict[str, Any]]]:
    """Every progress write of the runs, as a copy (written at once: no flush interval)."""
    monkeypatch.setattr(executor, "PROGRESS_FLUSH_SECONDS", 0)
    kept: list[list[dict[str, Any]]] = []
    real_write = run_services.run_write_progress

    def keep(**kwargs: Any) -> bool:
        kept.append([dict(entry) for entry in kwargs["progress"]])
        return real_write(**kwargs)

    monkeypatch.setattr(run_services, "run_write_progress", keep)
    return kept


# --- library-sync -------------------------------------------------------------------------------------------


def test_a_sync_job_mirrors_the_local_folder_with_its_counts_and_a_climbing_entry(sync_job, docs, written):
    # when
    finished = run(sync_job)

    # then: every file stored, the counts on the step and on its entry
    assert (finished.status, finished.error) == (RunStatus.SUCCEEDED, "")
    assert stored(docs) == {path: (len(content), "sync") for path, content in FILES.items()}
    assert entries(finished) == [("type", "success"), ("sync:alpha:docs", "success")]
    expected = {"added": 4, "updated": 0, "deleted": 0, "unchanged": 0, "skipped": 0, "bytes": 30}
    assert counts(finished.data["type"]) == expected
    assert (finished.data["type"]["errors"], finished.data["type"]["success"]) == ([], True)
    step, entry = finished.progress
    assert counts(step) == expected
    assert step["message"] == entry["message"]
    assert step["message"].startswith("Synced library 'Docs': 4 added, 0 updated, 0 deleted, 0 unchanged, 0 skipped;")
    assert (entry["name"], entry["libraryId"], entry["files"], entry["total"]) == ("Sync Docs", str(docs.pk), 4, 4)
    docs.refresh_from_db()
    assert (docs.files, docs.size, docs.synced_at is not None) == (4, 30, True)
    # a client polling the run saw the files climb
    seen = [
        (item["files"], item["total"], item["bytes"])
        for progress in written
        for item in progress
        if item["key"] == "sync:alpha:docs" and item["status"] == "running"
    ]
    assert seen[0] == (0, 0, 0)
    assert sorted({files for files, total, _ in seen if total == 4}) == [0, 1, 2, 3, 4]
    assert seen == sorted(seen)
    assert seen[-1] == (4, 4, 30)


def test_a_second_run_changes_nothing(sync_job, docs, folder):
    # given
    assert run(sync_job).status == RunStatus.SUCCEEDED
    before = {row["path"]: row for row in LibraryFile.objects.filter(library=docs).values()}

    # when
    finished = run(sync_job)

    # then
    assert finished.status == RunStatus.SUCCEEDED
    assert counts(finished.data["type"]) == {
        "added": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 4,
        "skipped": 0,
        "bytes": 0,
    }
    assert {row["path"]: row for row in LibraryFile.objects.filter(library=docs).values()} == before


def test_an_owner_who_lost_sync_gets_the_run_failed_naming_the_library_and_not_retried(owner, sync_job, docs):
    # given
    Job.objects.filter(pk=sync_job.pk).update(max_attempts=3)
    revoke(owner, docs, "sync_library")

    # when
    finished = run(sync_job)

    # then
    assert finished.status == RunStatus.FAILED
    assert finished.error == (
        f"Library sync: The job's owner {owner.display_name} may no longer sync library 'Docs' (alpha:docs): it "
        "needs the 'library:sync' permission (sync_library)."
    )
    assert entries(finished) == [("type", "error")]
    assert stored(docs) == {}
    assert Run.objects.count() == 1


def test_a_library_another_sync_holds_fails_the_run_for_a_retry(sync_job, docs):
    # given
    Job.objects.filter(pk=sync_job.pk).update(max_attempts=2)
    Library.objects.filter(pk=docs.pk).update(sync_started_at=timezone.now())

    # when
    finished = run(sync_job)

    # then
    assert finished.status == RunStatus.FAILED
    assert finished.error == (
        "Library sync: Syncing library 'Docs' failed: The library is being synced; try again once that sync has "
        "finished."
    )
    assert entries(finished) == [("type", "error"), ("sync:alpha:docs", "error")]
    assert Run.objects.filter(retry_of=finished, attempt=2).count() == 1
    assert stored(docs) == {}


def test_a_sync_job_mirrors_a_webdav_library(owner, webdav_server):  # noqa: F811 - the fixture imported above
    # given: a library on the real WebDAV server, its files in the folder it serves
    write_files(webdav_server.folder)
    library = library_from_config(webdav_server.config(), owner=owner, name="Shared", slug="shared")
    job = JobFactory(owner=owner, type="library-sync", data={"library": str(library.pk)})

    # when
    first = run(job)
    second = run(job)

    # then
    assert (first.status, first.error) == (RunStatus.SUCCEEDED, "")
    assert counts(first.data["type"]) == {
        "added": 4,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": 0,
        "bytes": 30,
    }
    assert stored(library) == {path: (len(content), "sync") for path, content in FILES.items()}
    assert first.progress[1]["name"] == "Sync Shared"
    assert (second.status, counts(second.data["type"])["unchanged"], second.data["type"]["bytes"]) == (
        RunStatus.SUCCEEDED,
        4,
        0,
    )


# --- The library action -------------------------------------------------------------------------------------


@pytest.fixture
def sales(owner: Any, sqlite_source: Any) -> Dataset:  # noqa: F811 - the fixture imported above
    sqlite_source.execute(SALES)
    datasource = datasource_from_config(sqlite_source.config, owner=owner, name="Shop")
    dataset: Dataset = DatasetFactory(
        owner=owner, datasource=datasource, name="Sales", slug="sales", query="SELECT * FROM sales ORDER BY amount"
    )
    return dataset


def attach_export_and_report(action: JobAction) -> None:
    JobAttachment.objects.create(
        action=action,
        type="dataset",
        name="Sales data",
        data={"alias": "sales", "format": "xlsx", "filename": "sales-{{ job.slug }}"},
    )
    JobAttachment.objects.create(
        action=action, type="report", name="Sales report", data={"alias": "sales", "template": REPORT, "format": "pdf"}
    )


@pytest.fixture
def report_job(owner: Any, sales: Dataset, docs: Library) -> Job:
    """A weekly job that refreshes the sales, emails an xlsx and a PDF of them and files both into reports/."""
    job: Job = JobFactory(
        owner=owner, name="Weekly sales", slug="weekly-sales", type="dataset-refresh", data={"datasets": ["sales"]}
    )
    JobDataset.objects.create(job=job, dataset=sales, alias="sales")
    email = JobAction.objects.create(
        job=job, type="email", name="Send", index=0, data={"to": "boss@example.com", "subject": "Sales"}
    )
    keep = JobAction.objects.create(
        job=job, type="library", name="File them", index=1, data={"library": "alpha:docs", "path": "reports"}
    )
    attach_export_and_report(email)
    attach_export_and_report(keep)
    return job


def test_a_library_action_files_the_export_and_the_report_beside_the_email(owner, report_job, docs, folder):
    # when
    finished = run(report_job)

    # then: the email went, and the same files are in the library's folder on disk and in its listing
    assert (finished.status, finished.error) == (RunStatus.SUCCEEDED, "")
    assert [name for name, _, _ in mail.outbox[0].attachments] == ["sales-weekly-sales.xlsx", "Sales report.pdf"]
    keep = JobAction.objects.get(job=report_job, type="library")
    assert finished.progress[-1]["key"] == f"action:{keep.pk}"
    assert finished.progress[-1]["message"] == (
        "Wrote 2 file(s) into library 'Docs': reports/sales-weekly-sales.xlsx, reports/Sales report.pdf."
    )
    xlsx = (folder / "reports" / "sales-weekly-sales.xlsx").read_bytes()
    pdf = (folder / "reports" / "Sales report.pdf").read_bytes()
    assert xlsx.startswith(b"PK") and pdf.startswith(b"%PDF-")
    workbook = load_workbook(io.BytesIO(xlsx), read_only=True)
    assert [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)] == [
        ["region", "amount"],
        ["West", 10],
        ["East", 20],
        ["North", 30],
    ]
    response = client_for(owner).get(f"/api/libraries/{docs.pk}/files", {"dir": "reports"})
    assert response.status_code == 200, response.content
    listed = {
        item["filename"]: (item["path"], item["origin"], item["contentType"], item["size"])
        for item in response.json()["_embedded"]["inf:library-file"]
    }
    assert listed == {
        "sales-weekly-sales.xlsx": ("reports/sales-weekly-sales.xlsx", "job", XLSX, len(xlsx)),
        "Sales report.pdf": ("reports/Sales report.pdf", "job", "application/pdf", len(pdf)),
    }


def test_a_second_run_numbers_the_files_and_a_sync_keeps_them(report_job, sync_job, docs, folder):
    # given
    assert run(report_job).status == RunStatus.SUCCEEDED

    # when
    finished = run(report_job)

    # then
    assert finished.status == RunStatus.SUCCEEDED
    assert finished.progress[-1]["message"] == (
        "Wrote 2 file(s) into library 'Docs': reports/sales-weekly-sales (1).xlsx, reports/Sales report (1).pdf."
    )
    names = ["Sales report (1).pdf", "Sales report.pdf", "sales-weekly-sales (1).xlsx", "sales-weekly-sales.xlsx"]
    assert sorted(path.name for path in (folder / "reports").iterdir()) == names

    # when: the library is synced; the job's files are what the remote holds
    synced = run(sync_job)

    # then
    assert synced.status == RunStatus.SUCCEEDED
    assert counts(synced.data["type"])["deleted"] == 0
    assert {path: origin for path, (_, origin) in stored(docs).items() if path.startswith("reports/")} == {
        f"reports/{name}": "job" for name in names
    }


def test_an_owner_who_lost_change_gets_the_action_failed_naming_the_library(owner, report_job, docs, folder):
    # given
    revoke(owner, docs, "change_library")

    # when
    finished = run(report_job)

    # then
    assert finished.status == RunStatus.FAILED
    assert finished.error == (
        f"File them: The job's owner {owner.display_name} may no longer write files into library 'Docs' "
        "(alpha:docs): it needs the 'library:edit' permission (change_library)."
    )
    assert [status for _, status in entries(finished)] == ["success", "success", "success", "error"]
    assert len(mail.outbox) == 1
    assert not (folder / "reports").exists()
