"""A dataset-refresh job end to end (§8 "In jobs"): a SQLite source, a dataset refreshed by the run's first step
with its progress written as rows stream, then an email carrying an xlsx export and a PDF report of it.

The owner's rights are checked again when the run gets to each step, and a source that fails leaves the
previous rows in place and the run failed with the source's reason.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core import mail
from openpyxl import load_workbook

from datasets.models import Dataset, DatasetUserObjectPermission, Snapshot
from datasets.services import refresh as refresh_service
from jobs.models import Job, JobAction, JobAttachment, JobDataset
from runs import executor
from runs import services as run_services
from runs.executor import execute_run
from runs.models import Run, RunStatus
from tests.datasets.conftest import datasource_root, sqlite_source  # noqa: F401 - fixtures
from tests.datasets.factories import DatasetFactory, datasource_from_config
from tests.factories import JobFactory

# Committed writes, as in a worker: the lease keeper writes the run's progress from a thread of its own while
# the steps go, which a test transaction holding the database would keep waiting.
pytestmark = pytest.mark.django_db(transaction=True)

SALES = """
CREATE TABLE sales (region TEXT, amount INTEGER);
INSERT INTO sales VALUES ('West', 10), ('East', 20), ('North', 30), ('South', 40), ('Centre', 50);
"""
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REPORT = (
    "<table>{% for row in rows %}<tr><td>{{ row.region }}</td><td>{{ row.amount }}</td></tr>{% endfor %}</table>"
    "<p>{{ dataset.records }} records</p>"
)


@pytest.fixture(autouse=True)
def locmem_email(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def source(sqlite_source: Any) -> Any:  # noqa: F811 - the fixture imported above
    sqlite_source.execute(SALES)
    return sqlite_source


@pytest.fixture
def sales(owner: Any, source: Any) -> Dataset:
    datasource = datasource_from_config(source.config, owner=owner, name="Shop")
    dataset: Dataset = DatasetFactory(
        owner=owner, datasource=datasource, name="Sales", slug="sales", query="SELECT * FROM sales ORDER BY amount"
    )
    return dataset


@pytest.fixture
def job(owner: Any, sales: Dataset) -> Job:
    """A weekly job that refreshes the dataset, then emails an xlsx of it and a PDF report when all went well."""
    job: Job = JobFactory(
        owner=owner, name="Weekly sales", slug="weekly-sales", type="dataset-refresh", data={"datasets": ["sales"]}
    )
    JobDataset.objects.create(job=job, dataset=sales, alias="sales")
    action = JobAction.objects.create(
        job=job,
        type="email",
        name="Send the report",
        index=0,
        data={"to": "boss@example.com", "subject": "Sales: {{ datasets.sales.records }} records"},
        run_condition={"status": "success"},
    )
    JobAttachment.objects.create(
        action=action,
        type="dataset",
        name="Sales data",
        data={"alias": "sales", "format": "xlsx", "filename": "sales-{{ job.slug }}"},
    )
    JobAttachment.objects.create(
        action=action,
        type="report",
        name="Sales report",
        data={"alias": "sales", "template": REPORT, "format": "pdf", "title": "Sales of {{ job.name }}"},
    )
    return job


def run(job: Job) -> Run:
    created = run_services.run_create_manual(job=job, params={}, enqueue=False)
    execute_run(str(created.pk))
    created.refresh_from_db()
    return created


def entries(run: Run) -> list[tuple[str, str]]:
    return [(entry["key"], entry["status"]) for entry in run.progress]


def test_the_run_refreshes_the_dataset_and_emails_the_xlsx_and_the_pdf(job, sales, monkeypatch):
    # given: rows fetched two at a time, and every progress write kept
    monkeypatch.setattr(refresh_service, "BATCH_ROWS", 2)
    monkeypatch.setattr(executor, "PROGRESS_FLUSH_SECONDS", 0)
    written: list[list[dict[str, Any]]] = []
    real_write = run_services.run_write_progress

    def keep(**kwargs: Any) -> bool:
        written.append([dict(entry) for entry in kwargs["progress"]])
        return real_write(**kwargs)

    monkeypatch.setattr(run_services, "run_write_progress", keep)

    # when
    finished = run(job)

    # then: the run succeeded and the dataset has its rows
    assert (finished.status, finished.error) == (RunStatus.SUCCEEDED, "")
    sales.refresh_from_db()
    assert (sales.records, [field["name"] for field in sales.fields]) == (5, ["region", "amount"])
    action = JobAction.objects.get(job=job)
    assert entries(finished) == [("type", "success"), ("refresh:sales", "success"), (f"action:{action.pk}", "success")]
    refresh_entry = finished.progress[1]
    assert (refresh_entry["name"], refresh_entry["records"], refresh_entry["datasetId"]) == (
        "Refresh Sales",
        5,
        str(sales.pk),
    )
    assert finished.progress[0]["message"] == "Refreshed 1 dataset(s): 5 records."
    assert finished.data["type"]["datasets"][0]["records"] == 5
    # a client polling the run saw the count climb
    seen = [
        (entry["status"], entry["records"])
        for progress in written
        for entry in progress
        if entry["key"] == "refresh:sales"
    ]
    climbing = [records for status, records in seen if status == "running"]
    assert sorted(set(climbing)) == [0, 2, 4, 5]
    assert climbing == sorted(climbing)
    # and the email carries the xlsx and the PDF under their names
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert (message.to, message.subject) == (["boss@example.com"], "Sales: 5 records")
    assert [(name, mimetype) for name, _, mimetype in message.attachments] == [
        ("sales-weekly-sales.xlsx", XLSX),
        ("Sales report.pdf", "application/pdf"),
    ]
    workbook = load_workbook(io.BytesIO(message.attachments[0][1]), read_only=True)
    assert [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)] == [
        ["region", "amount"],
        ["West", 10],
        ["East", 20],
        ["North", 30],
        ["South", 40],
        ["Centre", 50],
    ]
    assert message.attachments[1][1].startswith(b"%PDF-")


def test_an_owner_who_lost_refresh_gets_the_step_failed_naming_the_dataset(owner, job, sales):
    # given
    DatasetUserObjectPermission.objects.filter(
        user=owner, content_object=sales, permission__codename="refresh_dataset"
    ).delete()

    # when
    finished = run(job)

    # then
    assert finished.status == RunStatus.FAILED
    message = (
        f"The job's owner {owner.display_name} may no longer refresh dataset 'Sales' (sales): it needs the "
        "'dataset:refresh' permission."
    )
    assert finished.error == f"Dataset refresh: {message}"
    assert entries(finished)[:2] == [("type", "error"), ("refresh:sales", "error")]
    assert finished.progress[1]["message"] == message
    assert entries(finished)[2][1] == "skipped"  # the email waits for a run that went well
    assert mail.outbox == []
    assert Dataset.objects.get(pk=sales.pk).current_generation_id is None
    assert Run.objects.count() == 1  # a lost right is not retried


def test_a_source_that_fails_leaves_the_previous_rows_and_the_run_failed_with_the_reason(job, sales, source):
    # given: refreshed once, then the source loses its table
    assert run(job).status == RunStatus.SUCCEEDED
    mail.outbox.clear()
    before = Dataset.objects.filter(pk=sales.pk).values("current_generation_id", "records", "fields").get()
    source.execute("DROP TABLE sales;")
    Job.objects.filter(pk=job.pk).update(max_attempts=1)

    # when
    finished = run(job)

    # then
    assert finished.status == RunStatus.FAILED
    assert finished.error.startswith("Dataset refresh: Refreshing dataset 'Sales' failed: ")
    assert "no such table: sales" in finished.error
    assert entries(finished)[:2] == [("type", "error"), ("refresh:sales", "error")]
    after = Dataset.objects.filter(pk=sales.pk).values(
        "current_generation_id", "records", "fields", "refresh_started_at"
    )
    assert after.get() == {**before, "refresh_started_at": None}
    assert mail.outbox == []


def test_a_dataset_action_snapshots_what_the_run_refreshed(job, sales):
    # given
    JobAction.objects.filter(job=job).delete()
    action = JobAction.objects.create(
        job=job, type="dataset", name="Keep a copy", index=0, data={"alias": "sales", "operation": "snapshot"}
    )

    # when
    finished = run(job)

    # then
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    snapshot = Snapshot.objects.get()
    assert (snapshot.trigger, snapshot.job_id, snapshot.run_id, snapshot.generation.records) == (
        "job",
        job.pk,
        finished.pk,
        5,
    )
    assert finished.progress[-1]["key"] == f"action:{action.pk}"
    assert finished.progress[-1]["message"] == "Took a snapshot of dataset 'Sales': 5 records."
