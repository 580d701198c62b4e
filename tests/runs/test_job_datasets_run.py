"""A job's datasets while it runs (§8): ``datasets.<alias>`` in the context, conditions on the real record count,
the owner's rights checked again, and snapshots before the first step and after the last action."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail

from datasets.models import Dataset, DatasetUserObjectPermission, Snapshot
from jobs.drivers.base import RunContext, StepResult
from jobs.models import Job, JobAction, JobDataset
from runs import services
from runs.executor import execute_run
from runs.models import Run, RunStatus
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation
from tests.factories import JobFactory
from tests.runs.conftest import T0, iso

pytestmark = pytest.mark.django_db

FIELDS = fields_of(("region", "text"), ("amount", "integer"))


@pytest.fixture
def job(owner: Any) -> Job:
    return JobFactory(owner=owner, name="Nightly", slug="nightly")


@pytest.fixture
def sales(owner: Any) -> Dataset:
    dataset = DatasetFactory(owner=owner, name="Sales", slug="sales")
    stored_generation(dataset, FIELDS, [["West", 10], ["East", 20], ["North", 30]])
    return dataset


def link(job: Job, dataset: Dataset, alias: str, snapshots: dict[str, Any] | None = None) -> JobDataset:
    index = JobDataset.objects.filter(job=job).count()
    return JobDataset.objects.create(job=job, dataset=dataset, alias=alias, index=index, snapshots=snapshots or {})


def email(job: Job, name: str, body: str, condition: dict[str, Any] | None = None) -> JobAction:
    index = JobAction.objects.filter(job=job).count()
    data = {"to": "ops@example.com", "subject": name, "body": body}
    return JobAction.objects.create(job=job, type="email", name=name, index=index, data=data, run_condition=condition)


def run(job: Job) -> Run:
    created = services.run_create_manual(job=job, params={}, enqueue=False)
    execute_run(str(created.pk))
    created.refresh_from_db()
    return created


def revoke(user: Any, dataset: Dataset, codename: str) -> None:
    DatasetUserObjectPermission.objects.filter(
        user=user, content_object=dataset, permission__codename=codename
    ).delete()


# --- The context --------------------------------------------------------------------------------------------


def test_the_context_has_each_alias_with_its_dataset_and_first_rows(job, sales, email_step, time_machine):
    # given
    time_machine.move_to(T0, tick=False)
    Dataset.objects.filter(pk=sales.pk).update(data_updated_at=T0)
    link(job, sales, "sales")
    seen: dict[str, Any] = {}

    def step(context: RunContext) -> StepResult:
        seen.update(context.datasets)
        return StepResult()

    email_step(step)

    # when
    finished = run(job)

    # then
    assert finished.status == RunStatus.SUCCEEDED
    assert seen == {
        "sales": {
            "id": str(sales.pk),
            "name": "Sales",
            "records": 3,
            "dataUpdatedAt": iso(T0),
            "fields": FIELDS,
            "rows": [
                {"region": "West", "amount": 10},
                {"region": "East", "amount": 20},
                {"region": "North", "amount": 30},
            ],
        }
    }
    assert finished.definition["datasets"] == [
        {"alias": "sales", "datasetId": str(sales.pk), "index": 0, "snapshots": {}}
    ]


def test_templates_read_the_alias_its_count_and_its_rows(job, sales):
    # given
    link(job, sales, "sales")
    email(
        job,
        "Report",
        "{{ datasets.sales.name }}: {{ datasets.sales.records }} "
        "{% for row in datasets.sales.rows %}{{ row.region }}={{ row.amount }};{% endfor %}",
    )

    # when
    finished = run(job)

    # then
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    assert len(mail.outbox) == 1
    assert "Sales: 3 West=10;East=20;North=30;" in mail.outbox[0].body


def test_the_context_holds_the_first_1000_rows_and_the_real_count(job, owner, email_step):
    # given
    big = DatasetFactory(owner=owner, name="Big", slug="big")
    stored_generation(big, FIELDS, [["r", number] for number in range(1005)])
    link(job, big, "big")
    seen: dict[str, Any] = {}
    email_step(lambda context: seen.update(context.datasets["big"]) or StepResult())

    # when
    run(job)

    # then
    assert seen["records"] == 1005
    assert len(seen["rows"]) == 1000
    assert (seen["rows"][0], seen["rows"][-1]) == ({"region": "r", "amount": 0}, {"region": "r", "amount": 999})


def test_a_dataset_never_refreshed_has_no_rows(job, owner, email_step):
    fresh = DatasetFactory(owner=owner, name="Fresh", slug="fresh")
    link(job, fresh, "fresh")
    seen: dict[str, Any] = {}
    email_step(lambda context: seen.update(context.datasets["fresh"]) or StepResult())

    run(job)

    assert (seen["records"], seen["rows"], seen["fields"], seen["dataUpdatedAt"]) == (0, [], [], None)


def test_a_dataset_the_owner_may_no_longer_read_is_not_in_the_context(job, owner, sales, email_step):
    # given
    link(job, sales, "sales")
    revoke(owner, sales, "view_dataset")
    seen: dict[str, Any] = {"called": True}
    email_step(lambda context: seen.update(context.datasets) or StepResult())
    email(job, "Only when sold", "x", {"dataset": "sales", "op": ">", "value": 0})

    # when
    finished = run(job)

    # then
    assert seen == {"called": True}
    action_entry = finished.progress[-1]
    assert (action_entry["status"], action_entry["message"]) == (
        "skipped",
        "Skipped: its run condition is false (dataset 'sales' is unknown or has no record count, "
        "condition requires > 0).",
    )
    assert mail.outbox == []


# --- Conditions and refreshes -------------------------------------------------------------------------------


def test_conditions_and_templates_read_the_count_after_the_refreshes_so_far(job, sales, email_step):
    # given: the job's type step leaves the dataset empty (as a refresh that finds no rows does)
    link(job, sales, "sales")
    email_step(lambda context: stored_generation(Dataset.objects.get(pk=sales.pk), FIELDS, []) and StepResult())
    email(job, "Rows found", "{{ datasets.sales.records }}", {"dataset": "sales", "op": ">", "value": 0})
    email(job, "Nothing found", "{{ datasets.sales.records }} rows", {"dataset": "sales", "op": "==", "value": 0})

    # when
    finished = run(job)

    # then
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    entries = {entry["name"]: (entry["status"], entry["message"]) for entry in finished.progress}
    assert entries["Rows found"] == (
        "skipped",
        "Skipped: its run condition is false (dataset 'sales' has 0 records, condition requires > 0).",
    )
    assert entries["Nothing found"][0] == "success"
    assert [message.body.splitlines()[0] for message in mail.outbox] == ["0 rows"]


# --- Snapshots ----------------------------------------------------------------------------------------------


def test_a_before_snapshot_keeps_the_rows_from_before_the_runs_first_step(job, sales, email_step):
    # given: the type step puts new rows in place
    link(job, sales, "sales", {"when": "before", "snapshotDatasets": [str(sales.pk)]})
    old_generation = Dataset.objects.get(pk=sales.pk).current_generation_id
    email_step(
        lambda context: stored_generation(Dataset.objects.get(pk=sales.pk), FIELDS, [["South", 1]]) and StepResult()
    )

    # when
    finished = run(job)

    # then
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    snapshot = Snapshot.objects.get()
    assert (snapshot.dataset_id, snapshot.generation_id, snapshot.trigger) == (sales.pk, old_generation, "job")
    assert (snapshot.job_id, snapshot.run_id, snapshot.created_by_id) == (job.pk, finished.pk, job.owner_id)
    assert [(entry["key"], entry["name"], entry["status"]) for entry in finished.progress] == [
        (f"snapshot:before:{sales.pk}", "Snapshot of sales (before the run)", "success"),
        ("type", "Email", "success"),
    ]
    assert finished.progress[0]["message"] == "Snapshot of 'Sales': 3 records."
    assert finished.data[f"snapshot:before:{sales.pk}"] == {
        "snapshotId": str(snapshot.pk),
        "datasetId": str(sales.pk),
        "records": 3,
    }


def test_an_after_snapshot_comes_after_the_last_action_once_per_dataset(job, owner, sales, email_step):
    # given: two associations both asking for Sales and one for Stock, after the run
    stock = DatasetFactory(owner=owner, name="Stock", slug="stock")
    stored_generation(stock, FIELDS, [["West", 1]])
    link(job, sales, "sales", {"when": "after", "snapshotDatasets": [str(sales.pk), str(stock.pk)]})
    link(job, stock, "stock", {"when": "after", "snapshotDatasets": [str(sales.pk)]})
    email(job, "Report", "{{ datasets.sales.records }}")
    email_step(
        lambda context: stored_generation(Dataset.objects.get(pk=sales.pk), FIELDS, [["South", 1]]) and StepResult()
    )

    # when
    finished = run(job)

    # then
    assert finished.status == RunStatus.SUCCEEDED, finished.error
    assert [(entry["key"], entry["status"]) for entry in finished.progress] == [
        ("type", "success"),
        (f"action:{JobAction.objects.get().pk}", "success"),
        (f"snapshot:after:{sales.pk}", "success"),
        (f"snapshot:after:{stock.pk}", "success"),
    ]
    assert finished.progress[3]["name"] == "Snapshot of stock (after the last action)"
    current = Dataset.objects.get(pk=sales.pk).current_generation_id
    assert sorted((s.dataset_id, s.generation_id) for s in Snapshot.objects.all()) == sorted(
        [(sales.pk, current), (stock.pk, stock.current_generation_id)]
    )


def test_a_snapshot_the_owner_may_no_longer_refresh_fails_its_step_naming_the_dataset(job, owner, sales):
    # given
    link(job, sales, "sales", {"when": "before", "snapshotDatasets": [str(sales.pk)]})
    email(job, "Report", "{{ datasets.sales.records }}")
    revoke(owner, sales, "refresh_dataset")

    # when
    finished = run(job)

    # then: the step failed, the others ran
    assert finished.status == RunStatus.FAILED
    first = finished.progress[0]
    message = (
        "The job's owner owner may no longer refresh dataset 'Sales' "
        f"({sales.pk}): it needs the 'dataset:refresh' permission."
    )
    assert (first["status"], first["message"]) == ("error", message)
    assert finished.error == f"Snapshot of sales (before the run): {message}"
    assert [entry["status"] for entry in finished.progress[1:]] == ["success", "success"]
    assert Snapshot.objects.count() == 0
    assert len(mail.outbox) == 1


def test_a_snapshot_of_a_dataset_without_rows_yet_takes_nothing(job, owner):
    fresh = DatasetFactory(owner=owner, name="Fresh", slug="fresh")
    link(job, fresh, "fresh", {"when": "before", "snapshotDatasets": [str(fresh.pk)]})

    finished = run(job)

    assert finished.status == RunStatus.SUCCEEDED, finished.error
    assert (finished.progress[0]["status"], finished.progress[0]["message"]) == (
        "success",
        "Dataset 'Fresh' has no stored rows yet: there is nothing to snapshot.",
    )
    assert Snapshot.objects.count() == 0


def test_a_run_keeps_the_associations_it_started_with(job, sales, email_step):
    # given: the association is removed while the type step runs
    association = link(job, sales, "sales")

    def step(context: RunContext) -> StepResult:
        association.delete()
        return StepResult()

    email_step(step)
    email(job, "Report", "{{ datasets.sales.records }}")

    # when
    finished = run(job)

    # then: the frozen definition still names it, and the context still shows it
    assert finished.definition["datasets"][0]["alias"] == "sales"
    assert mail.outbox[0].body.splitlines()[0] == "3"
    assert not JobDataset.objects.exists()
