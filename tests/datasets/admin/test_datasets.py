"""The dataset admin's writes: through dataset_create / dataset_update / dataset_delete, refusals on their field."""

from __future__ import annotations

import json

from django.urls import reverse

from datasets.models import Dataset, Snapshot
from datasets.services import shares as share_services
from jobs.models import JobDataset
from tests.datasets.admin.conftest import World, fresh
from tests.datasets.factories import fields_of, stored_generation
from tests.factories import JobFactory
from tests.informer.admin.pages import form_data, logged_in


def _change(world: World) -> str:
    return reverse("admin:datasets_dataset_change", args=[world.dataset.pk])


def _save(world: World, **changes: object) -> object:
    client = logged_in(world.users["granted"])
    return client.post(_change(world), {**form_data(client.get(_change(world))), **changes})


def test_adding_a_dataset_goes_through_the_service(world):
    # given
    client = logged_in(world.users["granted"])
    data = {
        "name": "West sales",
        "slug": "",
        "description": "",
        "datasource": str(world.datasource.pk),
        "query": "SELECT * FROM sales WHERE region = :region",
        "params": json.dumps([{"name": "region", "type": "string", "default": "West"}]),
    }

    # when
    response = client.post(reverse("admin:datasets_dataset_add"), data)

    # then: the slug made from the name, the declaration completed, the creator its owner with every right
    assert response.status_code == 302
    created = Dataset.objects.get(name="West sales")
    assert (created.slug, created.owner, created.tenant, created.datasource) == (
        "west-sales",
        world.users["granted"],
        world.tenant,
        world.datasource,
    )
    assert created.params == [{"name": "region", "type": "string", "default": "West", "required": False}]
    assert share_services.share_get(obj=created, principal=world.users["granted"]) == 3


def test_a_bad_parameter_declaration_is_shown_on_params_and_nothing_is_saved(world):
    # given
    before = Dataset.objects.values().get(pk=world.dataset.pk)

    # when
    response = _save(world, name="Renamed", params=json.dumps([{"name": "1st", "type": "string"}]))

    # then
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == ["params"]
    assert errors["params"] == [
        'params[0].name: "1st" is not a parameter name (a letter or _, then letters, digits or _).'
    ]
    assert Dataset.objects.values().get(pk=world.dataset.pk) == before


def test_changing_the_query_keeps_the_stored_rows(world):
    stored_generation(world.dataset, fields_of(("region", "string")), [["West"]])

    response = _save(world, query="SELECT region FROM sales")

    assert response.status_code == 302
    dataset = fresh(world.dataset)
    assert (dataset.query, dataset.records) == ("SELECT region FROM sales", 1)


def test_a_taken_slug_is_shown_on_slug(world):
    from tests.datasets.factories import DatasetFactory

    DatasetFactory(owner=world.dataset.owner, datasource=world.datasource, name="Other", slug="other")

    response = _save(world, slug="other")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["slug"] == ["A dataset with slug 'other' already exists."]
    assert fresh(world.dataset).slug == "sales"


def test_deleting_a_dataset_takes_its_snapshots_and_rows(world):
    # given
    generation = stored_generation(world.dataset, fields_of(("region", "string")), [["West"]])
    Snapshot.objects.create(dataset=world.dataset, generation=generation, name="Monday")
    client = logged_in(world.users["granted"])
    url = reverse("admin:datasets_dataset_delete", args=[world.dataset.pk])

    # when
    page = client.get(url).content.decode()
    response = client.post(url, {"post": "yes"})

    # then: the confirmation lists the snapshot as going with it, not as protecting it
    assert "Snapshot: Monday" in page and "protected" not in page
    assert response.status_code == 302
    assert not Dataset.objects.filter(pk=world.dataset.pk).exists()
    assert not Snapshot.objects.exists()


def test_a_dataset_a_job_uses_is_not_deleted(world):
    # given
    job = JobFactory(owner=world.dataset.owner, name="Weekly report")
    JobDataset.objects.create(job=job, dataset=world.dataset, alias="sales")
    client = logged_in(world.users["granted"])
    url = reverse("admin:datasets_dataset_delete", args=[world.dataset.pk])

    # when
    page = client.get(url).content.decode()
    client.post(url, {"post": "yes"})

    # then
    assert "Job: Weekly report" in page
    assert Dataset.objects.filter(pk=world.dataset.pk).exists()


def test_view_access_cannot_delete_and_edit_access_cannot_delete_either(world):
    # given: level 2 is edit and refresh, not delete
    user = world.users["plain"]
    share_services.share_set(obj=world.dataset, principal=user, level=2)
    client = logged_in(user)

    # when
    page = client.get(_change(world))
    response = client.post(reverse("admin:datasets_dataset_delete", args=[world.dataset.pk]), {"post": "yes"})

    # then
    assert 'name="_save"' in page.content.decode()
    assert response.status_code == 403
    assert Dataset.objects.filter(pk=world.dataset.pk).exists()
