"""The dataset drivers (§8 "In jobs"): their data schemas, and what each does with a job's datasets.

Sources are SQLite files the tests write under a datasource root of their own; rows are refreshed for real.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from datetime import timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from datasets.models import Dataset, DatasetUserObjectPermission, Snapshot
from datasets.services import refresh as refresh_service
from jobs import rendering
from jobs.drivers.base import RunContext, StepFailed, StepProgress
from jobs.drivers.registry import action_driver, attachment_driver, job_driver
from jobs.models import Job, JobAction, JobDataset
from jobs.selectors import job_definition
from tests.conftest import client_for
from tests.datasets.conftest import datasource_root, sqlite_source  # noqa: F401 - fixtures
from tests.datasets.factories import DatasetFactory, datasource_from_config, fields_of, stored_generation
from tests.factories import JobFactory
from tests.jobs.api.test_actions import JobActionFactory, JobAttachmentFactory
from tests.runs.conftest import T0

pytestmark = pytest.mark.django_db

SALES = """
CREATE TABLE sales (region TEXT, amount INTEGER, sold_on TEXT);
INSERT INTO sales VALUES ('West', 10, '2026-03-01'), ('East', 20, '2026-03-02'), ('North', 30, '2026-03-03');
"""


# --- Fixtures and helpers -----------------------------------------------------------------------------------


@pytest.fixture
def source(sqlite_source: Any) -> Any:  # noqa: F811 - the fixture imported above
    sqlite_source.execute(SALES)
    return sqlite_source


@pytest.fixture
def sales(owner: Any, source: Any) -> Dataset:
    """A dataset on the SQLite source, never refreshed."""
    datasource = datasource_from_config(source.config, owner=owner)
    dataset: Dataset = DatasetFactory(
        owner=owner, datasource=datasource, name="Sales", slug="sales", query="SELECT * FROM sales ORDER BY amount"
    )
    return dataset


@pytest.fixture
def job(owner: Any) -> Job:
    job: Job = JobFactory(
        owner=owner, name="Nightly", slug="nightly", type="dataset-refresh", data={"datasets": ["sales"]}
    )
    return job


def link(job: Job, dataset: Dataset, alias: str) -> JobDataset:
    index = JobDataset.objects.filter(job=job).count()
    return JobDataset.objects.create(job=job, dataset=dataset, alias=alias, index=index)


class Recorder:
    """A StepProgress whose writes are recorded: each time it says it changed, a copy of its entries."""

    def __init__(self) -> None:
        self.writes: list[list[dict[str, Any]]] = []
        self.progress = StepProgress(changed=self.changed)

    def changed(self) -> None:
        self.writes.append([dict(entry) for entry in self.progress.entries])


def context_for(job: Job, *, params: dict[str, Any] | None = None, recorder: Recorder | None = None) -> RunContext:
    """What a run of ``job`` gives its steps (its definition frozen now)."""
    job.refresh_from_db()
    return RunContext(
        run_id=str(uuid.uuid4()),
        job=job_definition(job),
        params=params or {},
        results={},
        progress=(recorder or Recorder()).progress,
    )


def revoke(user: Any, dataset: Dataset, codename: str) -> None:
    DatasetUserObjectPermission.objects.filter(
        user=user, content_object=dataset, permission__codename=codename
    ).delete()


# --- Schemas ------------------------------------------------------------------------------------------------

# (kind, driver, data, the messages)
SCHEMA_CASES: list[tuple[str, str, str, Any, list[str]]] = [
    ("refresh ok", "job", "dataset-refresh", {"datasets": ["sales", "tenant:orders"], "params": {"a": 1}}, []),
    ("refresh no datasets", "job", "dataset-refresh", {}, ["data.datasets: is required."]),
    ("refresh empty", "job", "dataset-refresh", {"datasets": []}, ["data.datasets: must not be empty."]),
    (
        "refresh twice",
        "job",
        "dataset-refresh",
        {"datasets": ["a", "a"]},
        ["data.datasets: must not list the same item twice."],
    ),
    ("refresh blank", "job", "dataset-refresh", {"datasets": [""]}, ["data.datasets[0]: must not be empty."]),
    (
        "refresh params a list",
        "job",
        "dataset-refresh",
        {"datasets": ["a"], "params": []},
        ["data.params: must be an object, not an array."],
    ),
    ("cleanup all keep", "job", "snapshot-cleanup", {"datasets": "all", "keep": 3}, []),
    ("cleanup both rules", "job", "snapshot-cleanup", {"datasets": ["a"], "keep": 0, "maxAgeDays": 30}, []),
    ("cleanup no rule", "job", "snapshot-cleanup", {"datasets": "all"}, ["data: needs one of: keep, maxAgeDays."]),
    (
        "cleanup other word",
        "job",
        "snapshot-cleanup",
        {"datasets": "some", "keep": 1},
        ['data.datasets: must be "all".'],
    ),
    (
        "cleanup negative age",
        "job",
        "snapshot-cleanup",
        {"datasets": "all", "maxAgeDays": -1},
        ["data.maxAgeDays: must be at least 0, not -1."],
    ),
    (
        "cleanup manual a string",
        "job",
        "snapshot-cleanup",
        {"datasets": "all", "keep": 1, "includeManual": "yes"},
        ["data.includeManual: must be true or false, not a string."],
    ),
    ("action ok", "action", "dataset", {"alias": "sales", "operation": "clear"}, []),
    (
        "action unknown operation",
        "action",
        "dataset",
        {"alias": "sales", "operation": "drop"},
        ['data.operation: "drop" is not one of: "refresh", "snapshot", "clear".'],
    ),
    ("action no alias", "action", "dataset", {"operation": "refresh"}, ["data.alias: is required."]),
    ("export ok", "attachment", "dataset", {"alias": "sales", "format": "xlsx", "filename": "s-{{ run.id }}"}, []),
    (
        "export pdf",
        "attachment",
        "dataset",
        {"alias": "sales", "format": "pdf"},
        ['data.format: "pdf" is not one of: "csv", "xlsx", "json".'],
    ),
    (
        "export bad filename",
        "attachment",
        "dataset",
        {"alias": "sales", "format": "csv", "filename": "{{ run.id|nope }}"},
        [
            "data.filename: not a valid template: Invalid filter: 'nope'. Job templates can use these filters: "
            + ", ".join(rendering.available_filters())
            + "."
        ],
    ),
    ("report ok", "attachment", "report", {"alias": "sales", "template": "<p>{{ title }}</p>", "format": "pdf"}, []),
    (
        "report no format",
        "attachment",
        "report",
        {"alias": "sales", "template": "x"},
        ["data.format: is required."],
    ),
]


@pytest.mark.parametrize(
    ("kind", "driver_id", "data", "expected"), [case[1:] for case in SCHEMA_CASES], ids=[c[0] for c in SCHEMA_CASES]
)
def test_each_driver_checks_its_data(kind, driver_id, data, expected):
    lookup = {"job": job_driver, "action": action_driver, "attachment": attachment_driver}[kind]
    driver = lookup(driver_id)

    errors = driver.errors(data) if kind == "action" else driver.validation_errors(data)

    assert errors == expected


def test_the_dataset_drivers_are_available():
    assert [job_driver(kind).available for kind in ("dataset-refresh", "snapshot-cleanup")] == [True, True]
    assert action_driver("dataset").available is True
    assert [attachment_driver(kind).available for kind in ("dataset", "report")] == [True, True]


# --- dataset-refresh ----------------------------------------------------------------------------------------


def test_a_refresh_job_refreshes_each_dataset_with_an_entry_counting_its_rows(job, sales, source, monkeypatch):
    # given: rows fetched two at a time, so the entry counts 2 then 3
    monkeypatch.setattr(refresh_service, "BATCH_ROWS", 2)
    link(job, sales, "sales")
    recorder = Recorder()

    # when
    result = job_driver("dataset-refresh").execute(context_for(job, recorder=recorder))

    # then
    sales.refresh_from_db()
    assert sales.records == 3
    assert result.message == "Refreshed 1 dataset(s): 3 records."
    assert result.warning is False
    assert result.data["datasets"][0] | {"duration": 0} == {
        "dataset": "sales",
        "datasetId": str(sales.pk),
        "name": "Sales",
        "records": 3,
        "previousRecordCount": 0,
        "duration": 0,
        "fieldsAdded": ["region", "amount", "sold_on"],
        "fieldsUpdated": [],
        "truncated": False,
    }
    counts = [(writes[0]["status"], writes[0]["records"], writes[0]["message"]) for writes in recorder.writes]
    assert counts[:3] == [
        ("running", 0, "Starting."),
        ("running", 2, "2 rows so far."),
        ("running", 3, "3 rows so far."),
    ]
    final = recorder.progress.entries[0]
    assert (final["key"], final["name"], final["status"], final["records"], final["datasetId"]) == (
        "refresh:sales",
        "Refresh Sales",
        "success",
        3,
        str(sales.pk),
    )
    assert final["message"].startswith("Refreshed dataset 'Sales': 3 records (before: 0) in ")
    assert final["endedAt"] is not None


def test_params_go_to_the_datasets_that_declare_them_and_a_runs_own_win(owner, job, source):
    # given
    datasource = datasource_from_config(source.config, owner=owner)
    above = DatasetFactory(
        owner=owner,
        datasource=datasource,
        name="Above",
        query="SELECT region FROM sales WHERE amount > :floor ORDER BY amount",
        params=[{"name": "floor", "type": "integer", "default": 0, "required": False}],
    )
    plain = DatasetFactory(owner=owner, datasource=datasource, name="Plain", query="SELECT region FROM sales")
    link(job, above, "above")
    link(job, plain, "plain")
    Job.objects.filter(pk=job.pk).update(data={"datasets": ["above", "plain"], "params": {"floor": 10}})

    # when: the job's data says 10; the run says 15
    job_driver("dataset-refresh").execute(context_for(job))
    first = Dataset.objects.get(pk=above.pk).records
    job_driver("dataset-refresh").execute(context_for(job, params={"floor": 25, "other": "x"}))

    # then
    assert (first, Dataset.objects.get(pk=above.pk).records, Dataset.objects.get(pk=plain.pk).records) == (2, 1, 3)


def test_a_param_no_dataset_declares_fails_before_anything_is_refreshed(job, sales):
    # given
    link(job, sales, "sales")
    Job.objects.filter(pk=job.pk).update(data={"datasets": ["sales"], "params": {"since": "2026-01-01"}})

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("dataset-refresh").execute(context_for(job))

    # then
    assert failed.value.message == "data.params: since is declared by none of the datasets."
    assert failed.value.permanent is True
    assert Dataset.objects.get(pk=sales.pk).current_generation_id is None


def test_an_owner_without_refresh_fails_that_dataset_and_the_others_are_refreshed(owner, job, sales, source):
    # given
    other = DatasetFactory(
        owner=owner, datasource=sales.datasource, name="Other", slug="other", query="SELECT 1 AS one"
    )
    link(job, sales, "sales")
    link(job, other, "other")
    Job.objects.filter(pk=job.pk).update(data={"datasets": ["sales", "other"]})
    revoke(owner, sales, "refresh_dataset")
    recorder = Recorder()

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("dataset-refresh").execute(context_for(job, recorder=recorder))

    # then
    assert "may no longer refresh dataset 'Sales' (sales)" in failed.value.message
    assert failed.value.permanent is True
    assert failed.value.data["datasets"][0]["name"] == "Other"
    assert [(e["key"], e["status"]) for e in recorder.progress.entries] == [
        ("refresh:sales", "error"),
        ("refresh:other", "success"),
    ]
    assert Dataset.objects.get(pk=sales.pk).current_generation_id is None
    assert Dataset.objects.get(pk=other.pk).records == 1


def test_a_failing_source_keeps_the_previous_rows_and_says_why(job, sales, source):
    # given: refreshed once, then the table is gone
    link(job, sales, "sales")
    job_driver("dataset-refresh").execute(context_for(job))
    generation = Dataset.objects.get(pk=sales.pk).current_generation_id
    source.execute("DROP TABLE sales;")
    recorder = Recorder()

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("dataset-refresh").execute(context_for(job, recorder=recorder))

    # then
    assert failed.value.message.startswith("Refreshing dataset 'Sales' failed: ")
    assert "no such table: sales" in failed.value.message
    assert recorder.progress.entries[0]["status"] == "error"
    sales.refresh_from_db()
    assert (sales.current_generation_id, sales.records, sales.refreshing) == (generation, 3, False)


def test_a_capped_refresh_is_a_warning(job, sales, settings):
    # given
    settings.INFORMER_DATASET_MAX_ROWS = 2
    link(job, sales, "sales")
    recorder = Recorder()

    # when
    result = job_driver("dataset-refresh").execute(context_for(job, recorder=recorder))

    # then
    assert result.warning is True
    assert (
        result.message == "Refreshed 1 dataset(s): 2 records. Some hit the row or size cap: only what fits was stored."
    )
    assert recorder.progress.entries[0]["status"] == "warning"


def test_a_dataset_named_by_id_needs_no_alias(job, sales):
    # given
    Job.objects.filter(pk=job.pk).update(data={"datasets": [str(sales.pk)]})

    # when
    result = job_driver("dataset-refresh").execute(context_for(job))

    # then
    assert (result.data["datasets"][0]["dataset"], Dataset.objects.get(pk=sales.pk).records) == (str(sales.pk), 3)


# --- snapshot-cleanup ---------------------------------------------------------------------------------------


def snapshots(dataset: Dataset, *ages_and_triggers: tuple[int, str]) -> list[Snapshot]:
    """Snapshots of ``dataset`` taken ``days`` before T0, with their triggers."""
    assert dataset.current_generation is not None
    made = []
    for days, trigger in ages_and_triggers:
        snapshot = Snapshot.objects.create(
            dataset=dataset, generation=dataset.current_generation, trigger=trigger, name=f"{days}d"
        )
        Snapshot.objects.filter(pk=snapshot.pk).update(created_at=T0 - timedelta(days=days))
        made.append(snapshot)
    return made


@pytest.fixture
def stored(owner: Any) -> Dataset:
    dataset: Dataset = DatasetFactory(owner=owner, name="Stored", slug="stored")
    stored_generation(dataset, fields_of(("n", "integer")), [[1], [2]])
    return dataset


@pytest.mark.parametrize(
    ("data", "left"),
    [
        ({"keep": 2}, ["1d", "5d", "40d"]),  # the manual one (40d) is neither deleted nor counted
        ({"maxAgeDays": 10}, ["1d", "5d", "40d"]),
        ({"keep": 1, "maxAgeDays": 4}, ["1d", "40d"]),
        ({"keep": 0, "includeManual": True}, []),
        ({"keep": 3, "maxAgeDays": 20, "includeManual": True}, ["1d", "5d", "20d"]),
    ],
)
def test_cleanup_deletes_what_both_rules_let_go(owner, stored, time_machine, data, left):
    # given
    time_machine.move_to(T0, tick=False)
    snapshots(stored, (1, "job"), (5, "job"), (20, "job"), (30, "api"), (40, "manual"))
    job = JobFactory(owner=owner, type="snapshot-cleanup", data={"datasets": ["stored"], **data})
    link(job, stored, "stored")

    # when
    result = job_driver("snapshot-cleanup").execute(context_for(job))

    # then
    remaining = sorted(
        Snapshot.objects.filter(dataset=stored).values_list("name", flat=True), key=lambda n: int(n[:-1])
    )
    assert remaining == left
    gone = 5 - len(left)
    assert result.message == f"Deleted {gone} snapshot(s) of 1 dataset(s)."
    assert result.data == {
        "deleted": gone,
        "datasets": [{"datasetId": str(stored.pk), "name": "Stored", "deleted": gone}],
    }


def test_cleanup_of_all_reads_every_dataset_the_owner_may_change_in_the_tenant(owner, stored, time_machine):
    # given: one more dataset of the owner's, one only viewable, one of another tenant
    time_machine.move_to(T0, tick=False)
    second = DatasetFactory(owner=owner, name="Second", slug="second")
    stored_generation(second, fields_of(("n", "integer")), [[1]])
    viewable = DatasetFactory(owner=owner, name="Viewable", slug="viewable")
    stored_generation(viewable, fields_of(("n", "integer")), [[1]])
    revoke(owner, viewable, "change_dataset")
    foreign = DatasetFactory(name="Foreign", slug="foreign")
    stored_generation(foreign, fields_of(("n", "integer")), [[1]])
    for dataset in (stored, second, viewable, foreign):
        snapshots(dataset, (1, "job"), (2, "job"))
    job = JobFactory(owner=owner, type="snapshot-cleanup", data={"datasets": "all", "keep": 1})

    # when
    result = job_driver("snapshot-cleanup").execute(context_for(job))

    # then
    assert result.data["deleted"] == 2
    assert [item["name"] for item in result.data["datasets"]] == ["Second", "Stored"]
    counts = {d.name: Snapshot.objects.filter(dataset=d).count() for d in (stored, second, viewable, foreign)}
    assert counts == {"Stored": 1, "Second": 1, "Viewable": 2, "Foreign": 2}


def test_cleanup_needs_the_owner_to_change_the_dataset(owner, stored, time_machine):
    # given
    time_machine.move_to(T0, tick=False)
    snapshots(stored, (1, "job"), (2, "job"))
    job = JobFactory(owner=owner, type="snapshot-cleanup", data={"datasets": ["stored"], "keep": 0})
    link(job, stored, "stored")
    revoke(owner, stored, "change_dataset")

    # when
    with pytest.raises(StepFailed) as failed:
        job_driver("snapshot-cleanup").execute(context_for(job))

    # then
    assert failed.value.message == (
        f"The job's owner {owner.display_name} may not change dataset 'Stored' (stored): deleting its snapshots "
        "needs the 'dataset:edit' permission (change_dataset)."
    )
    assert failed.value.permanent is True
    assert Snapshot.objects.filter(dataset=stored).count() == 2


# --- The dataset action -------------------------------------------------------------------------------------


def dataset_action(job: Job, operation: str, alias: str = "sales") -> dict[str, Any]:
    action: JobAction = JobActionFactory(
        job=job, type="dataset", name=f"{operation.title()} it", data={"alias": alias, "operation": operation}
    )
    return {"id": str(action.pk), "name": action.name, "type": "dataset", "data": action.data, "attachments": []}


def test_the_action_refreshes_snapshots_and_clears(job, sales):
    # given
    link(job, sales, "sales")
    driver = action_driver("dataset")
    context = context_for(job)

    # when
    refreshed = driver.execute(context, dataset_action(job, "refresh"))
    snapped = driver.execute(context, dataset_action(job, "snapshot"))
    cleared = driver.execute(context, dataset_action(job, "clear"))

    # then
    assert refreshed.data["records"] == 3
    assert refreshed.message.startswith("Refreshed dataset 'Sales': 3 records (before: 0) in ")
    snapshot = Snapshot.objects.get()
    assert snapped.message == "Took a snapshot of dataset 'Sales': 3 records."
    assert snapped.data == {"datasetId": str(sales.pk), "snapshotId": str(snapshot.pk)}
    assert (snapshot.trigger, snapshot.job_id, str(snapshot.run_id), snapshot.created_by) == (
        "job",
        job.pk,
        context.run_id,
        job.owner,
    )
    assert snapshot.generation.records == 3  # the pinned rows outlive the clear
    assert cleared.message == "Cleared dataset 'Sales' (3 records before)."
    sales.refresh_from_db()
    assert (sales.records, sales.current_generation.records) == (0, 0)


def test_the_action_fails_naming_the_dataset_when_the_owner_lost_the_right(owner, job, sales):
    # given
    link(job, sales, "sales")
    revoke(owner, sales, "refresh_dataset")

    # when
    with pytest.raises(StepFailed) as failed:
        action_driver("dataset").execute(context_for(job), dataset_action(job, "clear"))

    # then
    assert "may no longer refresh dataset 'Sales' (sales)" in failed.value.message
    assert failed.value.permanent is True


def test_a_snapshot_of_a_dataset_never_refreshed_fails(job, sales):
    link(job, sales, "sales")

    with pytest.raises(StepFailed) as failed:
        action_driver("dataset").execute(context_for(job), dataset_action(job, "snapshot"))

    assert failed.value.message == (
        "Snapshot of dataset 'Sales' failed: The dataset has never been refreshed: there are no rows to take a "
        "snapshot of."
    )
    assert Snapshot.objects.count() == 0


def test_the_action_preview_names_the_dataset_and_does_nothing(owner, job, stored):
    # given
    link(job, stored, "stored")
    action = JobActionFactory(job=job, type="dataset", name="Clear", data={"alias": "stored", "operation": "clear"})

    # when
    response = client_for(owner).post(f"/api/jobs/{job.pk}/actions/{action.pk}/_preview", {}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["preview"] == {
        "alias": "stored",
        "operation": "clear",
        "datasetId": str(stored.pk),
        "name": "Stored",
        "records": 2,
    }
    assert Dataset.objects.get(pk=stored.pk).records == 2


# --- The dataset attachment ---------------------------------------------------------------------------------


def export_attachment(data: dict[str, Any], name: str = "Sales export") -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "type": "dataset", "name": name, "data": data}


@pytest.fixture
def refreshed(job: Job, sales: Dataset) -> Dataset:
    link(job, sales, "sales")
    job_driver("dataset-refresh").execute(context_for(job))
    sales.refresh_from_db()
    return sales


def test_an_export_attachment_as_csv(job, refreshed):
    made = attachment_driver("dataset").materialize(
        context_for(job), export_attachment({"alias": "sales", "format": "csv"})
    )

    assert (made.name, made.content_type) == ("Sales export.csv", "text/csv; charset=utf-8")
    rows = list(csv.reader(io.StringIO(made.content.decode("utf-8-sig"))))
    assert rows == [
        ["region", "amount", "sold_on"],
        ["West", "10", "2026-03-01"],
        ["East", "20", "2026-03-02"],
        ["North", "30", "2026-03-03"],
    ]


def test_an_export_attachment_as_json(job, refreshed):
    made = attachment_driver("dataset").materialize(
        context_for(job), export_attachment({"alias": "sales", "format": "json"}, name="sales.json")
    )

    assert (made.name, made.content_type) == ("sales.json", "application/json")
    assert json.loads(made.content)[0] == {"region": "West", "amount": 10, "sold_on": "2026-03-01"}


def test_an_export_attachment_as_xlsx_named_by_its_filename_template(job, refreshed):
    # given
    context = context_for(job)
    data = {"alias": "sales", "format": "xlsx", "filename": "{{ job.slug }}/{{ params.period|default:'all' }}"}

    # when
    made = attachment_driver("dataset").materialize(context, export_attachment(data))

    # then: the slash is no path
    assert made.name == "nightly-all.xlsx"
    assert made.content_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert zipfile.is_zipfile(io.BytesIO(made.content))
    sheet = load_workbook(io.BytesIO(made.content), read_only=True).worksheets[0]
    assert [list(row) for row in sheet.iter_rows(values_only=True)][:2] == [
        ["region", "amount", "sold_on"],
        ["West", 10, "2026-03-01"],
    ]


@pytest.mark.parametrize(
    ("name", "extension", "expected"),
    [
        ("sales", "csv", "sales.csv"),
        ("sales.CSV", "csv", "sales.CSV"),
        ("../../etc/passwd", "csv", "etc-passwd.csv"),
        ('a<b>:"c"|d?*', "json", "a-b-c-d.json"),
        ("line\r\nbreak", "csv", "line-break.csv"),
        ("   ", "xlsx", "export.xlsx"),
        ("x" * 300, "xlsx", "x" * 195 + ".xlsx"),
    ],
)
def test_file_names_are_safe_and_end_in_their_format(name, extension, expected):
    from jobs.drivers.datasets import file_name

    assert file_name(name, extension) == expected


def test_an_export_of_a_dataset_never_refreshed_fails_naming_it(job, sales):
    link(job, sales, "sales")

    with pytest.raises(StepFailed) as failed:
        attachment_driver("dataset").materialize(
            context_for(job), export_attachment({"alias": "sales", "format": "csv"})
        )

    assert failed.value.message == (
        "Attachment 'Sales export': dataset 'Sales' was never refreshed; there are no rows to export."
    )


def test_an_export_needs_the_owner_to_read_the_dataset(owner, job, refreshed):
    revoke(owner, refreshed, "view_dataset")

    with pytest.raises(StepFailed) as failed:
        attachment_driver("dataset").materialize(
            context_for(job), export_attachment({"alias": "sales", "format": "csv"})
        )

    assert failed.value.message.startswith(f"The job's owner {owner.display_name} may no longer read dataset 'sales'")
    assert failed.value.permanent is True


def test_an_attachment_saved_under_an_older_schema_fails_the_step(job, refreshed):
    with pytest.raises(StepFailed) as failed:
        attachment_driver("dataset").materialize(context_for(job), export_attachment({"dataset": "sales"}))

    assert failed.value.message == (
        "Attachment 'Sales export': data.dataset: is not a known property; the known properties are: alias, format, "
        "filename."
    )
    assert failed.value.permanent is True


# --- Previews -----------------------------------------------------------------------------------------------


def test_an_email_preview_lists_the_attachments_real_names_and_sizes(owner, job, refreshed, media):
    # given
    action = JobActionFactory(job=job, type="email", name="Send", data={"to": "ops@example.com", "subject": "Sales"})
    JobAttachmentFactory(
        action=action,
        type="dataset",
        name="Sales",
        data={"alias": "sales", "format": "csv", "filename": "sales-{{ job.slug }}"},
    )
    JobAttachmentFactory(
        action=action,
        type="report",
        name="Summary",
        data={"alias": "sales", "template": "<p>{{ rows|length }}</p>", "format": "html"},
    )
    context = context_for(job)
    expected_csv = attachment_driver("dataset").materialize(
        context, export_attachment({"alias": "sales", "format": "csv"})
    )
    expected_html = attachment_driver("report").materialize(
        context,
        {
            "id": "x",
            "type": "report",
            "name": "Summary",
            "data": {"alias": "sales", "template": "<p>{{ rows|length }}</p>", "format": "html"},
        },
    )

    # when
    response = client_for(owner).post(f"/api/jobs/{job.pk}/actions/{action.pk}/_preview", {}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["preview"]["attachments"] == [
        {"name": "sales-nightly.csv", "type": "dataset", "size": len(expected_csv.content)},
        {"name": "Summary.html", "type": "report", "size": len(expected_html.content)},
    ]
