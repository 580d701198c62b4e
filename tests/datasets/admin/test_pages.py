"""The datasets admin's pages: who sees what, read-only pages without a Save button, other tenants out of reach."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db.models import Model
from django.urls import reverse

from datasets.models import Dataset, Datasource, Generation, Snapshot
from tests.datasets.admin.conftest import World
from tests.datasets.factories import fields_of, stored_generation
from tests.informer.admin.pages import logged_in

SAVE_BUTTONS = ('name="_save"', 'name="_continue"', 'name="_addanother"')


def _url(model: type[Model], page: str, *args: object) -> str:
    return reverse(f"admin:datasets_{model._meta.model_name}_{page}", args=args)


def _stored(world: World) -> tuple[Generation, Snapshot]:
    generation = stored_generation(world.dataset, fields_of(("region", "string"), ("amount", "number")), [["West", 1]])
    snapshot = Snapshot.objects.create(dataset=world.dataset, generation=generation, name="Monday")
    return generation, snapshot


@pytest.mark.parametrize("role", ["superuser", "granted"])
def test_every_datasets_page_renders_for_superusers_and_the_tenants_staff(world, role):
    # given
    generation, snapshot = _stored(world)
    client = logged_in(world.users[role])
    objects = {Datasource: world.datasource, Dataset: world.dataset, Generation: generation, Snapshot: snapshot}

    for model, obj in objects.items():
        # when
        listing = client.get(_url(model, "changelist"))
        change = client.get(_url(model, "change", obj.pk))
        add = client.get(_url(model, "add"))

        # then
        assert listing.status_code == 200, model
        assert obj.pk in [row.pk for row in listing.context["cl"].result_list], model
        assert change.status_code == 200, model
        assert add.status_code == (200 if model in (Datasource, Dataset) else 403), model


def test_the_dataset_page_shows_its_stored_rows(world):
    # given: refreshed at a moment no other time on the page has
    _stored(world)
    Dataset.objects.filter(pk=world.dataset.pk).update(data_updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))

    # when
    page = logged_in(world.users["granted"]).get(_url(Dataset, "change", world.dataset.pk)).content.decode()

    # then
    assert "<td>region</td><td>Region</td><td>string</td>" in page
    assert "<td>amount</td><td>Amount</td><td>number</td>" in page
    assert '<div class="readonly">2026-01-02 03:04:05 UTC</div>' in page  # with its seconds and zone
    assert "1 snapshot(s)" in page
    assert "Refresh now</button>" in page and "Snapshot</button>" in page


@pytest.mark.parametrize("model", [Generation, Snapshot])
def test_generations_and_snapshots_are_read_only_pages(world, model):
    generation, snapshot = _stored(world)
    obj = generation if model is Generation else snapshot

    page = logged_in(world.users["superuser"]).get(_url(model, "change", obj.pk)).content.decode()

    for button in SAVE_BUTTONS:
        assert button not in page


def test_a_generation_cannot_be_deleted_and_a_snapshot_shows_restore(world):
    generation, snapshot = _stored(world)
    client = logged_in(world.users["granted"])

    assert client.get(_url(Generation, "delete", generation.pk)).status_code == 403
    page = client.get(_url(Snapshot, "change", snapshot.pk)).content.decode()
    assert "Restore</button>" in page
    assert reverse("admin:datasets_snapshot_delete", args=[snapshot.pk]) in page


def test_a_dataset_only_viewable_shows_no_save_nor_buttons(world):
    # given: view access only (level 1)
    from datasets.services import shares as share_services

    viewer = world.users["plain"]
    share_services.share_set(obj=world.dataset, principal=viewer, level=1)

    # when
    page = logged_in(viewer).get(_url(Dataset, "change", world.dataset.pk)).content.decode()

    # then
    for button in SAVE_BUTTONS:
        assert button not in page
    assert "Refresh now</button>" not in page and "Snapshot</button>" not in page


@pytest.mark.parametrize("model", [Datasource, Dataset, Generation, Snapshot])
@pytest.mark.parametrize("role", ["stranger", "plain"])
def test_objects_out_of_reach_are_absent_and_404(world, model, role):
    # given: another tenant's staff, and the tenant's staff without a share
    generation, snapshot = _stored(world)
    obj = {Datasource: world.datasource, Dataset: world.dataset, Generation: generation, Snapshot: snapshot}[model]
    client = logged_in(world.users[role])

    # when
    listing = client.get(_url(model, "changelist"))
    change = client.get(_url(model, "change", obj.pk))

    # then: Django's admin answers an object it cannot find with a redirect to the admin's index
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 0
    assert change.status_code == 302 and change["Location"] == reverse("admin:index")
    if model in (Datasource, Dataset):
        assert client.get(_url(model, "delete", obj.pk)).status_code == 302


def test_another_tenants_dataset_buttons_are_404_and_change_nothing(world):
    # given
    client = logged_in(world.users["stranger"])
    before = Dataset.objects.values().get(pk=world.dataset.pk)

    # when
    refresh = client.post(reverse("admin:datasets_dataset_refresh", args=[world.dataset.pk]))
    snapshot = client.post(reverse("admin:datasets_dataset_snapshot", args=[world.dataset.pk]))

    # then
    assert refresh.status_code == 404 and snapshot.status_code == 404
    assert Dataset.objects.values().get(pk=world.dataset.pk) == before
    assert not Snapshot.objects.exists()


def test_the_datasource_box_offers_only_usable_sources_of_the_datasets_tenant(world):
    # given: a source of the tenant the staff user has no share on
    from tests.datasets.factories import DatasourceFactory

    DatasourceFactory(owner=world.dataset.owner, name="Unshared", slug="unshared")

    for role in ("granted", "superuser"):
        client = logged_in(world.users[role])
        # when
        change = client.get(_url(Dataset, "change", world.dataset.pk))
        # then: the superuser sees the dataset's tenant's sources (both), never another tenant's
        choices = {label for _, label in change.context["adminform"].form.fields["datasource"].choices if _}
        expected = {"Warehouse"} if role == "granted" else {"Warehouse", "Unshared"}
        assert choices == expected, role
        assert "Their source" not in change.content.decode()


def test_another_tenants_datasource_cannot_be_posted(world):
    # given
    client = logged_in(world.users["granted"])
    page = client.get(_url(Dataset, "change", world.dataset.pk))
    from tests.informer.admin.pages import form_data

    data = {**form_data(page), "datasource": str(world.other_datasource.pk)}

    # when
    response = client.post(_url(Dataset, "change", world.dataset.pk), data)

    # then
    assert response.status_code == 200
    assert "Select a valid choice" in str(response.context["adminform"].form.errors["datasource"])
    assert Dataset.objects.get(pk=world.dataset.pk).datasource_id == world.datasource.pk


def test_no_list_names_another_tenants_objects(world):
    # given: the other tenant's dataset has a snapshot too
    _stored(world)
    generation = stored_generation(world.other_dataset, fields_of(("id", "integer")), [[1]])
    Snapshot.objects.create(dataset=world.other_dataset, generation=generation, name="Theirs")
    client = logged_in(world.users["granted"])

    for model in (Datasource, Dataset, Generation, Snapshot):
        # when
        html = client.get(_url(model, "changelist")).content.decode()
        # then: neither in the rows nor in the filters
        for name in ("Their source", "Their sales", "Theirs"):
            assert name not in html, (model, name)
