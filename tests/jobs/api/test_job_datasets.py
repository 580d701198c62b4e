"""A job's datasets (§8): ``/api/jobs/{id}/datasets[/{alias}]`` and ``…/datasets/_permissions``.

Shapes, order, validation (each a 400 naming its field, nothing stored), drafts and the permission matrix.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission

from datasets.models import Dataset, DatasetUserObjectPermission, Snapshot
from jobs.models import Job, JobAction, JobDataset
from tests.conftest import ROLES, Roles, client_for
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation
from tests.factories import JobFactory, TenantFactory, UserFactory

ERROR_KEYS = {"statusCode", "error", "message", "details"}
DENIED_OUTSIDE = {"anonymous": 401, "other_tenant": 404, "no_share": 404}
VOLATILE = {"createdAt", "updatedAt"}


def grant(user: Any, dataset: Dataset, *codenames: str) -> None:
    """Give ``user`` the dataset rights ``codenames`` directly."""
    for permission in Permission.objects.filter(content_type__app_label="datasets", codename__in=codenames):
        DatasetUserObjectPermission.objects.create(user=user, permission=permission, content_object=dataset)


@pytest.fixture
def state(db_state: Any) -> Any:
    """Every row of the identity, job and dataset tables: proof that a request changed nothing."""

    def snapshot() -> dict[str, Any]:
        tables = db_state()
        for model in (JobDataset, Dataset, DatasetUserObjectPermission, Snapshot):
            tables[model._meta.label] = list(model.objects.order_by("pk").values())
        return tables

    return snapshot


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


@pytest.fixture
def sales(owner: Any) -> Dataset:
    return DatasetFactory(owner=owner, name="Sales", slug="sales")


@pytest.fixture
def stock(owner: Any) -> Dataset:
    return DatasetFactory(owner=owner, name="Stock", slug="stock")


def url(job: Job, alias: str | None = None) -> str:
    return f"/api/jobs/{job.pk}/datasets" + (f"/{alias}" if alias else "")


def add(job: Job, dataset: Dataset, alias: str, **fields: Any) -> JobDataset:
    """An association as the API makes it, without the API."""
    index = JobDataset.objects.filter(job=job).count()
    return JobDataset.objects.create(job=job, dataset=dataset, alias=alias, index=index, **fields)


def aliases(job: Job) -> list[tuple[str, int]]:
    return list(JobDataset.objects.filter(job=job).order_by("index").values_list("alias", "index"))


def without_times(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in VOLATILE}


# --- Create, read -------------------------------------------------------------------------------------------


def test_create_answers_201_with_the_item_and_its_location(job, client, sales):
    # when
    response = client.post(url(job), {"alias": "sales", "datasetId": str(sales.pk)}, format="json")

    # then
    assert response.status_code == 201, response.content
    link = JobDataset.objects.get()
    href = f"http://testserver/api/jobs/{job.pk}/datasets/sales"
    assert response["Location"] == href
    assert without_times(response.json()) == {
        "_links": {"self": {"href": href}},
        "id": str(link.pk),
        "jobId": str(job.pk),
        "alias": "sales",
        "datasetId": str(sales.pk),
        "index": 0,
        "snapshots": {},
    }
    assert (link.job_id, link.dataset_id, link.alias, link.index, link.snapshots) == (job.pk, sales.pk, "sales", 0, {})


def test_a_natural_id_in_is_the_uuid_out_and_snapshots_list_datasetid_objects(job, client, sales, stock):
    # when
    response = client.post(
        url(job),
        {
            "alias": "sales",
            "datasetId": "alpha:sales",
            "snapshots": {"when": "after", "snapshotDatasets": ["alpha:stock", {"datasetId": str(sales.pk)}]},
        },
        format="json",
    )

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["datasetId"] == str(sales.pk)
    assert body["snapshots"] == {
        "when": "after",
        "snapshotDatasets": [{"datasetId": str(stock.pk)}, {"datasetId": str(sales.pk)}],
    }
    assert JobDataset.objects.get().snapshots == {"when": "after", "snapshotDatasets": [str(stock.pk), str(sales.pk)]}


def test_snapshots_without_a_list_snapshot_the_associations_own_dataset(job, client, sales):
    response = client.post(
        url(job), {"alias": "sales", "datasetId": str(sales.pk), "snapshots": {"when": "before"}}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["snapshots"] == {"when": "before", "snapshotDatasets": [{"datasetId": str(sales.pk)}]}


def test_a_dataset_listed_twice_for_snapshots_is_kept_once(job, client, sales):
    body = {"when": "before", "snapshotDatasets": [str(sales.pk), "alpha:sales"]}

    response = client.post(url(job), {"alias": "sales", "datasetId": str(sales.pk), "snapshots": body}, format="json")

    assert response.status_code == 201, response.content
    assert JobDataset.objects.get().snapshots == {"when": "before", "snapshotDatasets": [str(sales.pk)]}


def test_a_response_sent_back_as_a_put_changes_nothing(job, client, sales):
    # given
    add(job, sales, "sales", snapshots={"when": "before", "snapshotDatasets": [str(sales.pk)]})
    shown = client.get(url(job, "sales")).json()

    # when
    response = client.put(url(job, "sales"), shown, format="json")

    # then
    assert response.status_code == 200, response.content
    assert without_times(response.json()) == without_times(shown)


def test_the_job_embeds_its_datasets_in_index_order(job, client, sales, stock):
    # given
    add(job, stock, "stock")
    add(job, sales, "sales")

    # when
    embedded = client.get(f"/api/jobs/{job.pk}").json()["_embedded"]["inf:job-dataset"]

    # then
    listed = client.get(url(job)).json()["_embedded"]["inf:job-dataset"]
    assert [(item["alias"], item["datasetId"]) for item in embedded] == [
        ("stock", str(stock.pk)),
        ("sales", str(sales.pk)),
    ]
    assert embedded == listed


def test_get_finds_an_alias_under_the_jobs_natural_id(job, client, sales):
    add(job, sales, "sales")

    response = client.get("/api/jobs/alpha:nightly/datasets/sales")

    assert response.status_code == 200, response.content
    assert response.json()["datasetId"] == str(sales.pk)


def test_list_is_in_index_order_and_sorts_and_searches(job, client, sales, stock):
    # given
    add(job, stock, "stock")
    add(job, sales, "sales")

    # when
    default = client.get(url(job)).json()
    by_alias = client.get(url(job), {"sort": "alias"}).json()
    searched = client.get(url(job), {"q": "SAL"}).json()

    # then
    assert [item["alias"] for item in default["_embedded"]["inf:job-dataset"]] == ["stock", "sales"]
    assert (default["start"], default["count"], default["total"]) == (0, 2, 2)
    assert [item["alias"] for item in by_alias["_embedded"]["inf:job-dataset"]] == ["sales", "stock"]
    assert [item["alias"] for item in searched["_embedded"]["inf:job-dataset"]] == ["sales"]


def test_an_unknown_sort_is_a_400_naming_it(job, client):
    response = client.get(url(job), {"sort": "datasetName"})

    assert response.status_code == 400
    assert response.json()["details"] == {
        "sort": ["Cannot sort by 'datasetName'; sortable fields are: alias, createdAt, index, updatedAt."]
    }


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
def test_an_alias_the_job_does_not_have_is_a_404(job, client, sales, state, method):
    # given: the alias exists on another job of the caller
    add(JobFactory(owner=job.owner), sales, "sales")
    before = state()

    # when
    response = getattr(client, method)(url(job, "sales"), {"index": 0}, format="json")

    # then
    assert response.status_code == 404
    assert set(response.json()) == ERROR_KEYS
    assert state() == before


# --- Order --------------------------------------------------------------------------------------------------


def test_create_at_an_index_shifts_the_others(job, client, sales, stock):
    # given
    add(job, sales, "a")
    add(job, sales, "b")

    # when
    response = client.post(url(job), {"alias": "c", "datasetId": str(stock.pk), "index": 1}, format="json")

    # then
    assert response.status_code == 201, response.content
    assert response.json()["index"] == 1
    assert aliases(job) == [("a", 0), ("c", 1), ("b", 2)]


def test_an_index_past_the_end_appends(job, client, sales):
    add(job, sales, "a")

    response = client.post(url(job), {"alias": "b", "datasetId": str(sales.pk), "index": 99}, format="json")

    assert response.json()["index"] == 1
    assert aliases(job) == [("a", 0), ("b", 1)]


def test_put_moves_renames_and_changes_the_dataset(job, client, sales, stock):
    # given
    add(job, sales, "a")
    add(job, sales, "b")
    add(job, sales, "c")

    # when
    response = client.put(url(job, "c"), {"index": 0, "alias": "first", "datasetId": "alpha:stock"}, format="json")

    # then
    assert response.status_code == 200, response.content
    assert response.json()["_links"]["self"]["href"] == f"http://testserver/api/jobs/{job.pk}/datasets/first"
    assert aliases(job) == [("first", 0), ("a", 1), ("b", 2)]
    assert JobDataset.objects.get(alias="first").dataset_id == stock.pk


def test_patch_merges_like_put(job, client, sales):
    add(job, sales, "sales")

    response = client.patch(url(job, "sales"), {"snapshots": {"when": "after"}}, format="json")

    assert response.status_code == 200, response.content
    stored = JobDataset.objects.get()
    assert (stored.alias, stored.snapshots) == ("sales", {"when": "after", "snapshotDatasets": [str(sales.pk)]})


def test_snapshots_null_or_empty_turns_them_off(job, client, sales):
    add(job, sales, "sales", snapshots={"when": "after", "snapshotDatasets": [str(sales.pk)]})

    response = client.patch(url(job, "sales"), {"snapshots": None}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["snapshots"] == {}
    assert JobDataset.objects.get().snapshots == {}


def test_delete_answers_204_closes_the_gap_and_keeps_the_dataset(job, client, sales):
    # given
    add(job, sales, "a")
    add(job, sales, "b")
    add(job, sales, "c")

    # when
    response = client.delete(url(job, "a"))

    # then
    assert response.status_code == 204
    assert aliases(job) == [("b", 0), ("c", 1)]
    assert Dataset.objects.filter(pk=sales.pk).exists()


# --- Bad input ----------------------------------------------------------------------------------------------

BAD_CREATES = [
    ({"datasetId": "alpha:sales"}, "alias", "This field is required."),
    ({"alias": "sales"}, "datasetId", "This field is required."),
    (
        {"alias": "Sales", "datasetId": "alpha:sales"},
        "alias",
        "alias: must be a lower-case letter followed by lower-case letters, digits or underscores ([a-z][a-z0-9_]*), "
        "at most 64 characters, not 'Sales'.",
    ),
    ({"alias": "2024", "datasetId": "alpha:sales"}, "alias", None),
    ({"alias": "sales-eu", "datasetId": "alpha:sales"}, "alias", None),
    ({"alias": "_sales", "datasetId": "alpha:sales"}, "alias", None),
    ({"alias": "a" * 65, "datasetId": "alpha:sales"}, "alias", None),
    ({"alias": "", "datasetId": "alpha:sales"}, "alias", None),
    ({"alias": 7, "datasetId": "alpha:sales"}, "alias", "Must be a string, not a number (7)."),
    ({"alias": "sales", "datasetId": 7}, "datasetId", "Must be a string, not a number (7)."),
    (
        {"alias": "sales", "datasetId": "alpha:nothing"},
        "datasetId",
        "datasetId: there is no dataset 'alpha:nothing' that you can read.",
    ),
    (
        {"alias": "sales", "datasetId": "not an id"},
        "datasetId",
        "datasetId: there is no dataset 'not an id' that you can read.",
    ),
    ({"alias": "sales", "datasetId": "alpha:sales", "index": -1}, "index", None),
    ({"alias": "sales", "datasetId": "alpha:sales", "colour": "red"}, "colour", "Unknown field 'colour'."),
    (
        {"alias": "sales", "datasetId": "alpha:sales", "snapshots": {"when": "during"}},
        "snapshots.when",
        "snapshots.when: must be 'before' or 'after', not 'during'.",
    ),
    ({"alias": "sales", "datasetId": "alpha:sales", "snapshots": {"snapshotDatasets": []}}, "snapshots.when", None),
    (
        {"alias": "sales", "datasetId": "alpha:sales", "snapshots": {"when": "after", "every": 2}},
        "snapshots.every",
        "snapshots.every: is not a known property; the known properties are: when, snapshotDatasets.",
    ),
    (
        {
            "alias": "sales",
            "datasetId": "alpha:sales",
            "snapshots": {"when": "after", "snapshotDatasets": "alpha:sales"},
        },
        "snapshots.snapshotDatasets",
        "snapshots.snapshotDatasets: must be a list of dataset ids.",
    ),
    (
        {
            "alias": "sales",
            "datasetId": "alpha:sales",
            "snapshots": {"when": "after", "snapshotDatasets": ["alpha:sales", "alpha:gone"]},
        },
        "snapshots.snapshotDatasets[1]",
        "snapshots.snapshotDatasets[1]: there is no dataset 'alpha:gone' that you can read.",
    ),
    (
        {"alias": "sales", "datasetId": "alpha:sales", "snapshots": {"when": "after", "snapshotDatasets": [3]}},
        "snapshots.snapshotDatasets[0]",
        'snapshots.snapshotDatasets[0]: must be a dataset id (a UUID or a natural id) or {"datasetId": …}.',
    ),
    ({"alias": "sales", "datasetId": "alpha:sales", "snapshots": [1]}, "snapshots", None),
    (  # a natural id holding NUL was looked up by its text, which PostgreSQL refuses (a 500)
        {
            "alias": "sales",
            "datasetId": "alpha:sales",
            "snapshots": {"when": "after", "snapshotDatasets": [{"datasetId": "alpha:sa\x00les"}]},
        },
        "snapshots.snapshotDatasets[0]",
        "snapshots.snapshotDatasets[0]: there is no dataset 'alpha:sa\x00les' that you can read.",
    ),
]


@pytest.mark.parametrize(("body", "field", "message"), BAD_CREATES)
def test_a_bad_create_is_a_400_naming_the_field_and_stores_nothing(job, client, sales, state, body, field, message):
    # given
    before = state()

    # when
    response = client.post(url(job), body, format="json")

    # then
    assert response.status_code == 400, response.content
    error = response.json()
    assert set(error) == ERROR_KEYS
    assert list(error["details"]) == [field]
    if message is not None:
        assert error["details"][field] == [message]
    assert field in error["message"]
    assert state() == before


def test_a_duplicate_alias_is_a_400_on_create_and_on_rename(job, client, sales, state):
    # given
    add(job, sales, "sales")
    add(job, sales, "other")
    before = state()

    # when
    created = client.post(url(job), {"alias": "sales", "datasetId": str(sales.pk)}, format="json")
    renamed = client.put(url(job, "other"), {"alias": "sales"}, format="json")

    # then
    for response in (created, renamed):
        assert response.status_code == 400, response.content
        assert response.json()["details"] == {
            "alias": ["alias: 'sales' is already used by another dataset of this job."]
        }
    assert state() == before


def test_a_dataset_the_caller_cannot_read_is_the_same_400_as_one_that_does_not_exist(job, tenant, state):
    # given: an editor of the job who may not read the owner's other dataset
    editor = UserFactory(username="editor", tenant=tenant)
    from jobs.services.shares import share_set

    share_set(job=job, principal=editor, level=2)
    hidden = DatasetFactory(owner=UserFactory(tenant=tenant), name="Payroll", slug="payroll")
    before = state()

    # when
    unreadable = client_for(editor).post(url(job), {"alias": "p", "datasetId": str(hidden.pk)}, format="json")
    missing = client_for(editor).post(url(job), {"alias": "p", "datasetId": "alpha:no-such"}, format="json")

    # then
    assert unreadable.status_code == missing.status_code == 400
    assert unreadable.json()["details"] == {
        "datasetId": [f"datasetId: there is no dataset '{hidden.pk}' that you can read."]
    }
    assert "Payroll" not in unreadable.content.decode()
    assert missing.json()["details"] == {
        "datasetId": ["datasetId: there is no dataset 'alpha:no-such' that you can read."]
    }
    assert state() == before


def test_a_dataset_of_another_tenant_is_a_400(job, client, state):
    stranger = UserFactory(username="stranger", tenant=TenantFactory(slug="beta"))
    theirs = DatasetFactory(owner=stranger, slug="sales")
    before = state()

    response = client.post(url(job), {"alias": "sales", "datasetId": "beta:sales"}, format="json")
    by_id = client.post(url(job), {"alias": "sales", "datasetId": str(theirs.pk)}, format="json")

    assert response.status_code == by_id.status_code == 400
    assert list(by_id.json()["details"]) == ["datasetId"]
    assert state() == before


def test_snapshots_need_the_refresh_right_on_each_dataset_listed(job, tenant, sales, state):
    # given: an editor who may read the dataset but not refresh it
    editor = UserFactory(username="editor", tenant=tenant)
    from jobs.services.shares import share_set

    share_set(job=job, principal=editor, level=2)
    grant(editor, sales, "view_dataset")
    body = {"alias": "sales", "datasetId": str(sales.pk), "snapshots": {"when": "before"}}
    before = state()

    # when
    response = client_for(editor).post(url(job), body, format="json")
    plain = client_for(editor).post(url(job), {"alias": "sales", "datasetId": str(sales.pk)}, format="json")

    # then
    assert response.status_code == 400, response.content
    assert response.json()["details"] == {
        "snapshots.snapshotDatasets[0]": [
            "snapshots.snapshotDatasets[0]: you need the 'dataset:refresh' permission on dataset 'Sales' "
            "for a job to snapshot it."
        ]
    }
    assert plain.status_code == 201, plain.content
    assert state()["jobs.JobDataset"] != before["jobs.JobDataset"]


def test_a_put_rechecks_the_datasets_it_keeps_against_the_caller(job, tenant, sales, state):
    # given: the owner's association, edited by an editor who may not read its dataset
    add(job, sales, "sales")
    editor = UserFactory(username="editor", tenant=tenant)
    from jobs.services.shares import share_set

    share_set(job=job, principal=editor, level=2)
    before = state()

    # when
    response = client_for(editor).put(url(job, "sales"), {"index": 0}, format="json")

    # then
    assert response.status_code == 400
    assert list(response.json()["details"]) == ["datasetId"]
    assert state() == before


# --- _permissions -------------------------------------------------------------------------------------------


def test_permissions_give_per_alias_the_callers_and_the_owners_rights(job, tenant, owner, sales, stock):
    # given: a viewer of the job who may read Sales only; the owner may no longer refresh Stock
    viewer = UserFactory(username="viewer", tenant=tenant)
    from jobs.services.shares import share_set

    share_set(job=job, principal=viewer, level=1)
    grant(viewer, sales, "view_dataset")
    DatasetUserObjectPermission.objects.filter(
        user=owner, content_object=stock, permission__codename="refresh_dataset"
    ).delete()
    add(job, sales, "sales")
    add(job, stock, "stock")

    # when
    response = client_for(viewer).get(f"/api/jobs/{job.pk}/datasets/_permissions")

    # then
    assert response.status_code == 200, response.content
    assert response.json() == {
        "ownerId": owner.pk,
        "user": [
            {"alias": "sales", "datasetId": str(sales.pk), "view": True, "refresh": False},
            {"alias": "stock", "datasetId": str(stock.pk), "view": False, "refresh": False},
        ],
        "owner": [
            {"alias": "sales", "datasetId": str(sales.pk), "view": True, "refresh": True},
            {"alias": "stock", "datasetId": str(stock.pk), "view": True, "refresh": False},
        ],
    }


def test_permissions_of_a_job_without_datasets_are_empty(job, client, owner):
    response = client.get(f"/api/jobs/{job.pk}/datasets/_permissions")

    assert response.json() == {"ownerId": owner.pk, "user": [], "owner": []}


# --- Drafts -------------------------------------------------------------------------------------------------


def test_a_draft_copies_the_associations_and_a_commit_updates_them_in_place(job, client, sales, stock):
    # given
    first = add(job, sales, "sales", snapshots={"when": "before", "snapshotDatasets": [str(sales.pk)]})
    second = add(job, stock, "stock")
    gone = add(job, stock, "old")

    # when: the draft swaps two aliases, moves one, drops one and adds one
    draft_id = client.post(f"/api/jobs/{job.pk}/_edit").json()["id"]
    draft = Job.objects.get(pk=draft_id)
    copies = {link.alias: link for link in JobDataset.objects.filter(job=draft)}
    assert {alias: link.draft_source_id for alias, link in copies.items()} == {
        "sales": first.pk,
        "stock": second.pk,
        "old": gone.pk,
    }
    assert client.put(f"/api/jobs/{draft_id}/datasets/sales", {"alias": "tmp"}, format="json").status_code == 200
    assert (
        client.put(f"/api/jobs/{draft_id}/datasets/stock", {"alias": "sales", "index": 0}, format="json").status_code
        == 200
    )
    assert client.put(f"/api/jobs/{draft_id}/datasets/tmp", {"alias": "stock"}, format="json").status_code == 200
    assert client.delete(f"/api/jobs/{draft_id}/datasets/old").status_code == 204
    added = client.post(f"/api/jobs/{draft_id}/datasets", {"alias": "extra", "datasetId": "alpha:sales"}, format="json")
    assert added.status_code == 201, added.content
    assert JobDataset.objects.filter(job=job).count() == 3  # the original is untouched until the commit
    committed = client.post(f"/api/jobs/{job.pk}/_commit")

    # then: same ids for those that stayed, the draft's values, the addition moved with its id
    assert committed.status_code == 200, committed.content
    rows = list(JobDataset.objects.filter(job=job).order_by("index").values_list("id", "alias", "dataset_id", "index"))
    assert rows == [
        (second.pk, "sales", stock.pk, 0),
        (first.pk, "stock", sales.pk, 1),
        (JobDataset.objects.get(job=job, alias="extra").pk, "extra", sales.pk, 2),
    ]
    assert str(JobDataset.objects.get(job=job, alias="extra").pk) == added.json()["id"]
    assert JobDataset.objects.get(pk=first.pk).snapshots == {"when": "before", "snapshotDatasets": [str(sales.pk)]}
    assert not JobDataset.objects.filter(pk=gone.pk).exists()
    assert not Job.objects.filter(pk=draft_id).exists()
    assert JobDataset.objects.filter(draft_source_id__isnull=False).count() == 0


def test_discarding_a_draft_leaves_the_originals_associations(job, client, sales):
    link = add(job, sales, "sales")
    draft_id = client.post(f"/api/jobs/{job.pk}/_edit").json()["id"]

    response = client.delete(f"/api/jobs/{draft_id}")

    assert response.status_code == 204
    assert list(JobDataset.objects.values_list("id", "job_id")) == [(link.pk, job.pk)]


# --- Previews -----------------------------------------------------------------------------------------------


def preview_body(job: Job, client: Any) -> str:
    """The body an email action over ``datasets.sales`` previews as, for ``client``."""
    action = JobAction.objects.create(
        job=job,
        type="email",
        name="Send",
        index=0,
        data={"to": "ops@example.com", "subject": "s", "body": "{{ datasets.sales.records|default:'none' }}"},
    )
    response = client.post(f"/api/jobs/{job.pk}/actions/{action.pk}/_preview", {}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["preview"]["body"]


def test_a_preview_sees_the_datasets_as_a_run_would(job, client, sales):
    stored_generation(sales, fields_of(("region", "text")), [["West"], ["East"]])
    add(job, sales, "sales")

    assert preview_body(job, client) == "2"


def test_a_preview_hides_a_dataset_the_one_asking_may_not_read(job, tenant, sales):
    # given: an editor of the job who may not read the owner's dataset
    stored_generation(sales, fields_of(("region", "text")), [["West"]])
    add(job, sales, "sales")
    editor = UserFactory(username="editor", tenant=tenant)
    from jobs.services.shares import share_set

    share_set(job=job, principal=editor, level=2)

    # when, then
    assert preview_body(job, client_for(editor)) == "none"


# --- Permissions --------------------------------------------------------------------------------------------


def expect(view: int, edit: int, admin: int, owner: int) -> dict[str, int]:
    return {**DENIED_OUTSIDE, "view": view, "edit": edit, "admin": admin, "owner": owner}


# (method, path with a {job} placeholder, body, expected status per role)
ROUTES: dict[str, tuple[str, str, dict[str, Any] | None, dict[str, int]]] = {
    "list": ("get", "/api/jobs/{job}/datasets", None, expect(200, 200, 200, 200)),
    "list by natural id": ("get", "/api/jobs/alpha:nightly/datasets", None, expect(200, 200, 200, 200)),
    "retrieve": ("get", "/api/jobs/{job}/datasets/existing", None, expect(200, 200, 200, 200)),
    "permissions": ("get", "/api/jobs/{job}/datasets/_permissions", None, expect(200, 200, 200, 200)),
    "create": (
        "post",
        "/api/jobs/{job}/datasets",
        {"alias": "added", "datasetId": "alpha:stock"},
        expect(403, 201, 201, 201),
    ),
    "put": ("put", "/api/jobs/{job}/datasets/existing", {"alias": "renamed"}, expect(403, 200, 200, 200)),
    "patch": ("patch", "/api/jobs/{job}/datasets/existing", {"alias": "renamed"}, expect(403, 200, 200, 200)),
    "delete": ("delete", "/api/jobs/{job}/datasets/existing", None, expect(403, 204, 204, 204)),
}


@pytest.fixture
def matrix(roles: Roles) -> Roles:
    """The roles' job with one association; everyone of the tenant may read (and refresh) both datasets."""
    owner = roles.users["owner"]
    sales = DatasetFactory(owner=owner, name="Sales", slug="sales")
    stock = DatasetFactory(owner=owner, name="Stock", slug="stock")
    for role in ("no_share", "view", "edit", "admin"):
        for dataset in (sales, stock):
            grant(roles.users[role], dataset, "view_dataset", "refresh_dataset")
    add(roles.job, sales, "existing")
    return roles


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(matrix, state, route, role):
    # given
    method, path, body, statuses = ROUTES[route]
    path = path.replace("{job}", str(matrix.job.pk))
    before = state()

    # when
    kwargs = {"data": body, "format": "json"} if body is not None else {}
    response = getattr(matrix.clients[role], method)(path, **kwargs)

    # then
    assert response.status_code == statuses[role], response.content
    if response.status_code >= 400:
        assert set(response.json()) == ERROR_KEYS
        assert response.json()["statusCode"] == statuses[role]
        assert state() == before
        return
    found = sorted(JobDataset.objects.filter(job=matrix.job).values_list("alias", flat=True))
    expected = {"create": ["added", "existing"], "put": ["renamed"], "patch": ["renamed"], "delete": []}
    assert found == expected.get(route, ["existing"])
    if method == "get":
        assert state() == before
