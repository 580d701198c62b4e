"""``GET /api/principals`` answers the collection envelope of §2, paged with ``limit`` and ``start``."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from informer.api.schema import clean_description
from tests.conftest import client_for
from tests.factories import TeamFactory, TenantFactory, UserFactory

URL = "/api/principals"
ENVELOPE_KEYS = {"_links", "_embedded", "start", "count", "total"}


@pytest.fixture
def people(tenant: Any, owner: Any) -> dict[str, Any]:
    """Users Amy, bob, Carl (and the owner), teams Ops and analysts, in one tenant; others elsewhere or inactive."""
    found = {"owner": owner}
    for name in ("Carl", "bob", "Amy"):  # made out of order: the list sorts them, case-insensitively
        found[name] = UserFactory(username=name, tenant=tenant)
    UserFactory(username="gone", tenant=tenant, is_active=False)
    found["Ops"] = TeamFactory(name="Ops", tenant=tenant)
    found["analysts"] = TeamFactory(name="analysts", tenant=tenant)
    beta = TenantFactory(slug="beta")
    UserFactory(username="alien", tenant=beta)
    TeamFactory(name="aliens", tenant=beta)
    return found


ORDER = ["user:Amy", "user:bob", "user:Carl", "user:owner", "group:analysts", "group:Ops"]


def names(people: dict[str, Any], items: list[dict[str, Any]]) -> list[str]:
    """``user:<key>`` / ``group:<key>`` of ``people`` for each item, in order."""
    by_id = {f"{'user' if hasattr(p, 'username') else 'group'}:{p.pk}": key for key, p in people.items()}
    return [f"{item['type']}:{by_id[item['id']]}" for item in items]


def test_the_envelope(people: dict[str, Any]) -> None:
    response = client_for(people["owner"]).get(URL)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert body["_links"] == {"self": {"href": "http://testserver/api/principals"}}
    assert list(body["_embedded"]) == ["inf:principal"]
    assert (body["start"], body["count"], body["total"]) == (0, 6, 6)
    assert names(people, body["_embedded"]["inf:principal"]) == ORDER
    assert body["_embedded"]["inf:principal"][0] == {
        "id": f"user:{people['Amy'].pk}",
        "type": "user",
        "name": "Amy",
        "displayName": "Amy",
    }


@pytest.mark.parametrize(
    ("query", "expected", "links"),
    [
        ({"limit": "2"}, ORDER[0:2], {"next": "start=2"}),
        ({"limit": "2", "start": "2"}, ORDER[2:4], {"next": "start=4", "prev": ""}),
        # a page across both tables: the last user, then the first team
        ({"limit": "2", "start": "3"}, ORDER[3:5], {"next": "start=5", "prev": "start=1"}),
        ({"limit": "3", "start": "4"}, ORDER[4:6], {"prev": "start=1"}),
        ({"start": "6"}, [], {"prev": ""}),
        ({"limit": "0"}, [], {}),
    ],
)
def test_paging_runs_across_users_then_teams(
    people: dict[str, Any], query: dict[str, str], expected: list[str], links: dict[str, str]
) -> None:
    body = client_for(people["owner"]).get(URL, query).json()

    assert names(people, body["_embedded"]["inf:principal"]) == expected
    assert (body["start"], body["count"], body["total"]) == (int(query.get("start", 0)), len(expected), 6)
    assert set(body["_links"]) == {"self", *links}
    for rel, fragment in links.items():
        href = body["_links"][rel]["href"]
        assert fragment in href if fragment else "start=" not in href


def test_q_filters_and_total_counts_the_matches(people: dict[str, Any]) -> None:
    body = client_for(people["owner"]).get(URL, {"q": "A", "limit": "1"}).json()

    # Amy, Carl, analysts (and not the other tenant's alien/aliens, nor the inactive user)
    assert (body["count"], body["total"]) == (1, 3)
    assert names(people, body["_embedded"]["inf:principal"]) == ["user:Amy"]


def test_a_page_reads_only_its_rows(people: dict[str, Any]) -> None:
    client = client_for(people["owner"])
    with CaptureQueriesContext(connection) as queries:
        client.get(URL, {"limit": "2"})

    sql = [query["sql"] for query in queries.captured_queries]
    assert sum("LIMIT 2" in statement for statement in sql) == 1  # the users' page; no team row was needed


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": "1001"}, "limit"), ({"limit": "x"}, "limit"), ({"start": "-1"}, "start"), ({"q": "a\x00"}, "q")],
)
def test_bad_parameters_are_a_400_naming_them(people: dict[str, Any], query: dict[str, str], field: str) -> None:
    response = client_for(people["owner"]).get(URL, query)

    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == [field]


def test_the_schema_documents_the_envelope(owner: Any) -> None:
    schema = client_for(owner).get("/api/schema", {"format": "json"}).json()

    operation = schema["paths"]["/api/principals"]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PrincipalCollection"
    }
    envelope = schema["components"]["schemas"]["PrincipalCollection"]
    assert set(envelope["properties"]) == ENVELOPE_KEYS
    embedded = schema["components"]["schemas"][envelope["properties"]["_embedded"]["allOf"][0]["$ref"].rsplit("/")[-1]]
    assert list(embedded["properties"]) == ["inf:principal"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"q", "limit", "start"}
    assert operation["description"] == clean_description(operation["description"])
