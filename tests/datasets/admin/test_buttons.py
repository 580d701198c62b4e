"""The dataset admin's "Refresh now" and "Snapshot" (page buttons and list actions) and the snapshot's "Restore".

They run on a real SQLite source file under a datasource root of the test's own; a refresh runs inline in the
request and the page then says what it did.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from datasets.models import Dataset, Snapshot
from tests.datasets.admin.conftest import World, fresh
from tests.informer.admin.pages import logged_in, staff


def _messages(response: object) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]  # type: ignore[attr-defined]


def _refresh(client: object, dataset: Dataset) -> object:
    return client.post(reverse("admin:datasets_dataset_refresh", args=[dataset.pk]), follow=True)  # type: ignore[attr-defined]


def _rows(dataset: Dataset) -> list[list[object]]:
    from datasets.models import DatasetRow

    generation = fresh(dataset).current_generation_id
    return [row.cells for row in DatasetRow.objects.filter(generation_id=generation).order_by("position")]


def test_refresh_now_stores_the_rows_and_says_what_it_did(world):
    # given
    client = logged_in(world.users["granted"])

    # when
    response = _refresh(client, world.dataset)

    # then
    dataset = fresh(world.dataset)
    assert response.redirect_chain == [(reverse("admin:datasets_dataset_change", args=[dataset.pk]), 302)]
    assert (dataset.records, dataset.truncated, dataset.refreshing) == (3, False, False)
    assert [field["name"] for field in dataset.fields] == ["region", "amount"]
    assert _rows(dataset) == [["West", 12.5], ["East", 7.25], ["West", 3.0]]
    [message] = _messages(response)
    assert message.startswith("Refreshed 'Sales': 3 records (0 before) in ")
    assert message.endswith(" Fields added: region, amount.")


def test_a_failing_source_says_why_and_leaves_the_rows(world, sqlite_source):
    # given: refreshed once, then the table goes
    client = logged_in(world.users["granted"])
    _refresh(client, world.dataset)
    before = Dataset.objects.values().get(pk=world.dataset.pk)
    sqlite_source.execute("DROP TABLE sales;")

    # when
    response = _refresh(client, world.dataset)

    # then
    [message] = _messages(response)
    assert message.startswith("'Sales' was not refreshed: ")
    assert "sales" in message
    assert Dataset.objects.values().get(pk=world.dataset.pk) == before


def test_a_dataset_being_refreshed_is_not_refreshed_again(world):
    # given
    from django.utils import timezone

    Dataset.objects.filter(pk=world.dataset.pk).update(refresh_started_at=timezone.now())

    # when
    response = _refresh(logged_in(world.users["granted"]), world.dataset)

    # then
    [message] = _messages(response)
    assert message.startswith("'Sales' was not refreshed: ")
    assert fresh(world.dataset).records == 0


def test_snapshot_pins_the_current_rows_and_restore_brings_them_back(world, sqlite_source):
    # given: refreshed with three rows
    client = logged_in(world.users["granted"])
    _refresh(client, world.dataset)

    # when: a snapshot, a fourth row and a refresh, then the snapshot restored
    taken = client.post(reverse("admin:datasets_dataset_snapshot", args=[world.dataset.pk]), follow=True)
    sqlite_source.execute("INSERT INTO sales (region, amount) VALUES ('North', 1.0);")
    _refresh(client, world.dataset)
    assert fresh(world.dataset).records == 4
    snapshot = Snapshot.objects.get()
    restored = client.post(reverse("admin:datasets_snapshot_restore", args=[snapshot.pk]), follow=True)

    # then
    assert (snapshot.trigger, snapshot.created_by, snapshot.generation.records) == ("manual", world.users["granted"], 3)
    link = reverse("admin:datasets_snapshot_change", args=[snapshot.pk])
    assert _messages(taken) == [f'Took <a href="{link}">{snapshot}</a>.']
    assert fresh(world.dataset).records == 3
    assert _rows(world.dataset) == [["West", 12.5], ["East", 7.25], ["West", 3.0]]
    assert _messages(restored) == [f"Restored 'Sales' to {snapshot}: 3 records."]


def test_a_dataset_never_refreshed_has_nothing_to_snapshot(world):
    response = logged_in(world.users["granted"]).post(
        reverse("admin:datasets_dataset_snapshot", args=[world.dataset.pk]), follow=True
    )

    [message] = _messages(response)
    assert message.startswith("No snapshot of 'Sales': ")
    assert not Snapshot.objects.exists()


def test_deleting_a_snapshot_goes_through_the_service(world):
    # given
    client = logged_in(world.users["granted"])
    _refresh(client, world.dataset)
    client.post(reverse("admin:datasets_dataset_snapshot", args=[world.dataset.pk]))
    snapshot = Snapshot.objects.get()

    # when
    response = client.post(reverse("admin:datasets_snapshot_delete", args=[snapshot.pk]), {"post": "yes"})

    # then
    assert response.status_code == 302
    assert not Snapshot.objects.exists()


def test_the_list_actions_refresh_and_snapshot_each_selected_dataset(world):
    # given
    client = logged_in(world.users["granted"])
    listing = reverse("admin:datasets_dataset_changelist")
    selected = {"_selected_action": [str(world.dataset.pk)], "index": "0"}

    # when
    refreshed = client.post(listing, {**selected, "action": "refresh_now"}, follow=True)
    snapshotted = client.post(listing, {**selected, "action": "snapshot"}, follow=True)

    # then
    assert fresh(world.dataset).records == 3
    assert _messages(refreshed)[0].startswith("Refreshed 'Sales': 3 records")
    assert Snapshot.objects.get().generation_id == fresh(world.dataset).current_generation_id
    assert _messages(snapshotted)[0].startswith("Took ")


def test_a_list_action_on_a_dataset_out_of_reach_does_nothing(world):
    # given: the selection names a dataset the staff user holds no share on
    client = logged_in(world.users["granted"])
    selected = {"_selected_action": [str(world.dataset.pk), str(world.other_dataset.pk)], "index": "0"}

    # when
    client.post(reverse("admin:datasets_dataset_changelist"), {**selected, "action": "refresh_now"})

    # then: the other tenant's is not even in the staff user's list; theirs is refreshed alone
    assert fresh(world.other_dataset).records == 0
    assert fresh(world.other_dataset).current_generation_id is None


@pytest.mark.parametrize("level", [0, 1])
def test_without_refresh_access_the_buttons_are_refused_and_nothing_changes(world, level):
    # given: no share, or view access only
    from datasets.services import shares as share_services

    user = world.users["plain"]
    if level:
        share_services.share_set(obj=world.dataset, principal=user, level=level)
    client = logged_in(user)
    before = Dataset.objects.values().get(pk=world.dataset.pk)

    # when
    refresh = client.post(reverse("admin:datasets_dataset_refresh", args=[world.dataset.pk]))
    snapshot = client.post(reverse("admin:datasets_dataset_snapshot", args=[world.dataset.pk]))

    # then: unseen is a 404, seen without the right a 403
    expected = 403 if level else 404
    assert (refresh.status_code, snapshot.status_code) == (expected, expected)
    assert Dataset.objects.values().get(pk=world.dataset.pk) == before
    assert not Snapshot.objects.exists()


def test_without_the_model_permission_refresh_is_refused(world, tenant):
    # given: admin access to the dataset, but not datasets.refresh_dataset
    from datasets.services import shares as share_services
    from tests.informer.admin.pages import model_permissions

    user = staff(tenant, *model_permissions("datasets", "dataset"), username="no-refresh")
    share_services.share_set(obj=world.dataset, principal=user, level=3)

    response = logged_in(user).post(reverse("admin:datasets_dataset_refresh", args=[world.dataset.pk]))

    assert response.status_code == 403
    assert fresh(world.dataset).records == 0


def test_the_buttons_are_posts(world):
    client = logged_in(world.users["granted"])

    for name in ("refresh", "snapshot"):
        assert client.get(reverse(f"admin:datasets_dataset_{name}", args=[world.dataset.pk])).status_code == 405
    assert fresh(world.dataset).records == 0


def _snapshot_of(world: World) -> Snapshot:
    from tests.datasets.factories import fields_of, stored_generation

    generation = stored_generation(world.dataset, fields_of(("region", "string")), [["West"]])
    return Snapshot.objects.create(dataset=world.dataset, generation=generation, name="Monday")


def test_with_view_access_a_snapshot_is_neither_restored_nor_deleted(world):
    # given
    from datasets.services import shares as share_services

    snapshot = _snapshot_of(world)
    user = world.users["plain"]
    share_services.share_set(obj=world.dataset, principal=user, level=1)
    client = logged_in(user)

    # when
    page = client.get(reverse("admin:datasets_snapshot_change", args=[snapshot.pk])).content.decode()
    restore = client.post(reverse("admin:datasets_snapshot_restore", args=[snapshot.pk]))
    delete = client.post(reverse("admin:datasets_snapshot_delete", args=[snapshot.pk]), {"post": "yes"})

    # then
    assert "Restore</button>" not in page
    assert (restore.status_code, delete.status_code) == (403, 403)
    assert Snapshot.objects.filter(pk=snapshot.pk).exists()


def test_another_tenants_snapshot_is_404(world):
    snapshot = _snapshot_of(world)

    response = logged_in(world.users["stranger"]).post(reverse("admin:datasets_snapshot_restore", args=[snapshot.pk]))

    assert response.status_code == 404


def test_restore_while_refreshing_says_so_and_changes_nothing(world):
    # given
    from django.utils import timezone

    snapshot = _snapshot_of(world)
    Dataset.objects.filter(pk=world.dataset.pk).update(current_generation=None, refresh_started_at=timezone.now())
    client = logged_in(world.users["granted"])

    # when
    response = client.post(reverse("admin:datasets_snapshot_restore", args=[snapshot.pk]), follow=True)

    # then
    [message] = _messages(response)
    assert message.startswith("Not restored: ")
    assert fresh(world.dataset).current_generation_id is None
    assert client.get(reverse("admin:datasets_snapshot_restore", args=[snapshot.pk])).status_code == 405
