"""A job's datasets at the service layer (§8): writes, the caller's and the owner's rights, ``job_dataset_resolve``."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from datasets.models import Dataset, DatasetUserObjectPermission
from informer.api.exceptions import DomainError
from jobs.drivers.base import StepFailed
from jobs.models import Job, JobDataset
from jobs.selectors import job_definition
from jobs.services import dataset_runs
from jobs.services import datasets as job_datasets
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation
from tests.factories import JobFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


def grant(user: Any, dataset: Dataset, *codenames: str) -> None:
    """Give ``user`` the dataset rights ``codenames`` directly."""
    for permission in Permission.objects.filter(content_type__app_label="datasets", codename__in=codenames):
        DatasetUserObjectPermission.objects.create(user=user, permission=permission, content_object=dataset)


def revoke(user: Any, dataset: Dataset, *codenames: str) -> None:
    DatasetUserObjectPermission.objects.filter(
        user=user, content_object=dataset, permission__codename__in=codenames
    ).delete()


@pytest.fixture
def job(owner: Any) -> Job:
    return JobFactory(owner=owner, name="Nightly", slug="nightly")


@pytest.fixture
def sales(owner: Any) -> Dataset:
    return DatasetFactory(owner=owner, name="Sales", slug="sales")


def link(job: Job, dataset: Dataset, alias: str, **fields: Any) -> JobDataset:
    return job_datasets.job_dataset_create(
        job=job, user=job.owner, fields={"alias": alias, "dataset_id": str(dataset.pk), **fields}
    )


# --- job_dataset_resolve ------------------------------------------------------------------------------------


@pytest.mark.parametrize("need", ["view", "refresh"])
def test_resolve_finds_an_alias_of_the_job_when_the_owner_holds_the_rights(job, sales, need):
    link(job, sales, "sales")

    assert job_datasets.job_dataset_resolve(job=job, alias_or_id="sales", need=need) == sales


def test_resolve_reads_the_aliases_of_the_definition_a_run_froze(job, sales, owner):
    # given: the association is renamed after the run started
    association = link(job, sales, "sales")
    definition = job_definition(job)
    job_datasets.job_dataset_update(link=association, user=owner, fields={"alias": "orders"})

    # when
    found = job_datasets.job_dataset_resolve(job=definition, alias_or_id="sales", need="view")

    # then
    assert definition["datasets"] == [
        {"alias": "sales", "datasetId": str(sales.pk), "index": 0, "snapshots": {}},
    ]
    assert found == sales


@pytest.mark.parametrize("key", ["uuid", "natural"])
def test_resolve_finds_a_dataset_of_the_tenant_by_id_or_natural_id(job, sales, key):
    name = str(sales.pk) if key == "uuid" else "alpha:sales"

    assert job_datasets.job_dataset_resolve(job=job, alias_or_id=name) == sales


def test_resolve_does_not_reach_another_tenant(job):
    stranger = UserFactory(username="stranger", tenant=TenantFactory(slug="beta"))
    theirs = DatasetFactory(owner=stranger, slug="sales")

    with pytest.raises(StepFailed) as raised:
        job_datasets.job_dataset_resolve(job=job, alias_or_id=str(theirs.pk))

    assert raised.value.permanent is True
    assert raised.value.message == (
        f"Dataset '{theirs.pk}' is neither one of the job's dataset aliases nor a dataset of its tenant."
    )


def test_resolve_fails_naming_the_alias_when_the_owner_lost_the_view_right(job, sales, owner):
    # given
    link(job, sales, "sales")
    revoke(owner, sales, "view_dataset")

    # when
    with pytest.raises(StepFailed) as raised:
        job_datasets.job_dataset_resolve(job=job, alias_or_id="sales", need="view")

    # then
    assert raised.value.permanent is True
    assert raised.value.message == (
        f"The job's owner owner may no longer read dataset 'sales' (alias of dataset {sales.pk}); "
        "share it with them again or remove it from the job."
    )


def test_resolve_fails_naming_the_dataset_when_the_owner_lost_the_refresh_right(job, sales, owner):
    # given
    link(job, sales, "sales")
    revoke(owner, sales, "refresh_dataset")

    # when
    viewed = job_datasets.job_dataset_resolve(job=job, alias_or_id="sales", need="view")
    with pytest.raises(StepFailed) as raised:
        job_datasets.job_dataset_resolve(job=job, alias_or_id="sales", need="refresh")

    # then
    assert viewed == sales
    assert raised.value.message == (
        "The job's owner owner may no longer refresh dataset 'Sales' (sales): "
        "it needs the 'dataset:refresh' permission."
    )


def test_resolve_fails_for_a_job_without_an_owner(job, sales):
    link(job, sales, "sales")
    Job.objects.filter(pk=job.pk).update(owner=None)
    job.refresh_from_db()

    with pytest.raises(StepFailed) as raised:
        job_datasets.job_dataset_resolve(job=job, alias_or_id="sales")

    assert raised.value.message == (
        f"The job has no owner, whose rights the run would use on dataset 'sales' (alias of dataset {sales.pk})."
    )


def test_resolve_refuses_an_unknown_need(job, sales):
    with pytest.raises(ValueError):
        job_datasets.job_dataset_resolve(job=job, alias_or_id="sales", need="delete")


# --- Writes -------------------------------------------------------------------------------------------------


def test_create_refuses_a_dataset_the_caller_cannot_read_like_one_that_does_not_exist(job, tenant):
    # given
    editor = UserFactory(username="editor", tenant=tenant)
    hidden = DatasetFactory(owner=UserFactory(tenant=tenant), slug="hidden")

    # when
    with pytest.raises(DomainError) as unreadable:
        job_datasets.job_dataset_create(job=job, user=editor, fields={"alias": "a", "dataset_id": "alpha:hidden"})
    with pytest.raises(DomainError) as missing:
        job_datasets.job_dataset_create(job=job, user=editor, fields={"alias": "a", "dataset_id": "alpha:absent"})

    # then
    assert unreadable.value.details == {
        "datasetId": ["datasetId: there is no dataset 'alpha:hidden' that you can read."]
    }
    assert missing.value.details == {"datasetId": ["datasetId: there is no dataset 'alpha:absent' that you can read."]}
    assert JobDataset.objects.count() == 0
    assert hidden.pk is not None


def test_permissions_of_a_job_without_an_owner_say_the_owner_may_do_nothing(job, sales, owner):
    link(job, sales, "sales")
    Job.objects.filter(pk=job.pk).update(owner=None)
    job.refresh_from_db()

    answer = job_datasets.job_dataset_permissions(job=job, user=owner)

    assert answer == {
        "ownerId": None,
        "user": [{"alias": "sales", "datasetId": str(sales.pk), "view": True, "refresh": True}],
        "owner": [{"alias": "sales", "datasetId": str(sales.pk), "view": False, "refresh": False}],
    }


def test_rights_through_a_team_count(job, tenant, sales):
    # given: an editor who may read the dataset only as a member of a team it is shared with
    from datasets.services.shares import DATASET_SHARES
    from informer.shares import share_set as object_share_set
    from jobs.services.shares import share_set
    from tests.factories import TeamFactory

    editor = UserFactory(username="editor", tenant=tenant)
    team = TeamFactory(name="analysts", tenant=tenant)
    editor.groups.add(team)
    share_set(job=job, principal=editor, level=2)
    object_share_set(DATASET_SHARES, sales, team, 1)

    # when
    created = job_datasets.job_dataset_create(job=job, user=editor, fields={"alias": "s", "dataset_id": "alpha:sales"})

    # then
    assert created.dataset_id == sales.pk


# --- What a run reads ---------------------------------------------------------------------------------------


def test_a_job_without_datasets_costs_a_run_no_query(job, django_assert_num_queries):
    datasets = dataset_runs.RunDatasets(job_definition(job))

    with django_assert_num_queries(0):
        assert datasets.refresh() == {}
    assert dataset_runs.snapshot_plan(job_definition(job), "before") == []


def test_rows_are_read_again_only_when_the_stored_rows_changed(job, sales, django_assert_num_queries):
    # given
    stored_generation(sales, fields_of(("region", "text")), [["West"]])
    link(job, sales, "sales")
    datasets = dataset_runs.RunDatasets(job_definition(job))
    datasets.refresh()

    # when: nothing changed (the job, read once, then the datasets and the owner's rights)
    with django_assert_num_queries(3):
        unchanged = datasets.refresh()["sales"]["rows"]
    stored_generation(Dataset.objects.get(pk=sales.pk), fields_of(("region", "text")), [["East"], ["North"]])
    changed = datasets.refresh()["sales"]

    # then
    assert unchanged == [{"region": "West"}]
    assert (changed["records"], changed["rows"]) == (2, [{"region": "East"}, {"region": "North"}])


def test_a_viewer_who_may_not_read_a_dataset_does_not_see_it(job, tenant, sales):
    link(job, sales, "sales")
    stranger = UserFactory(username="stranger", tenant=tenant)

    assert list(dataset_runs.RunDatasets(job_definition(job)).refresh()) == ["sales"]
    assert dataset_runs.RunDatasets(job_definition(job), viewer=stranger).refresh() == {}


def test_record_counts_read_each_entrys_records():
    entries = {"a": {"records": 3, "rows": []}, "b": {"records": 0, "rows": []}}

    assert dataset_runs.record_counts(entries) == {"a": 3, "b": 0}
