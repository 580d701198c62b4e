"""List conventions (§2) on ``GET /api/tokens``: the same envelope, paging, sorting and ``q`` as jobs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import client_for
from tests.factories import UserFactory, make_token

ERROR_KEYS = {"statusCode", "error", "message", "details"}
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def tokens(owner):
    """Four tokens of ``owner`` (created in the order c, a, d, b) and one of a colleague."""
    made = {}
    for day, name in enumerate(["charlie", "alpha", "delta", "bravo"]):
        made[name], _ = make_token(owner, secret=f"inf_{name}", name=name, created_at=BASE + timedelta(days=day))
    make_token(UserFactory(tenant=owner.tenant), secret="inf_other", name="alpha-other")
    return made


def names(body):
    return [item["name"] for item in body["_embedded"]["inf:token"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["bravo", "delta", "alpha", "charlie"]),  # default: newest first
        ("sort=name", ["alpha", "bravo", "charlie", "delta"]),
        ("sort=-name", ["delta", "charlie", "bravo", "alpha"]),
        ("sort=createdAt", ["charlie", "alpha", "delta", "bravo"]),
        ("q=ALPHA", ["alpha"]),
        ("q=a&sort=name", ["alpha", "bravo", "charlie", "delta"]),
        ("q=lt&sort=name", ["delta"]),
        ("q=zzz", []),
    ],
)
def test_token_list_sort_and_search(owner, tokens, query, expected):
    # when
    response = client_for(owner).get(f"/api/tokens?{query}")

    # then
    assert response.status_code == 200
    body = response.json()
    assert names(body) == expected
    assert (body["start"], body["count"], body["total"]) == (0, len(expected), len(expected))


@pytest.mark.parametrize(
    ("query", "expected", "total", "next_start", "prev_start"),
    [
        ("sort=name&limit=2", ["alpha", "bravo"], 4, 2, None),
        ("sort=name&limit=2&start=2", ["charlie", "delta"], 4, None, 0),
        ("sort=name&limit=3&start=1", ["bravo", "charlie", "delta"], 4, None, 0),
        ("sort=name&start=3", ["delta"], 4, None, 0),
        ("sort=name&start=4", [], 4, None, 0),
        ("sort=name&limit=0", [], 4, None, None),
        ("sort=name&limit=1000", ["alpha", "bravo", "charlie", "delta"], 4, None, None),
    ],
)
def test_token_list_paging(owner, tokens, query, expected, total, next_start, prev_start):
    # when
    body = client_for(owner).get(f"/api/tokens?{query}").json()

    # then
    params = parse_qs(query)
    assert names(body) == expected
    assert (body["count"], body["total"]) == (len(expected), total)
    links = body["_links"]
    if next_start is None:
        assert "next" not in links
    else:
        href = urlsplit(links["next"]["href"])
        assert href.path == "/api/tokens"
        assert parse_qs(href.query) == {**params, "start": [str(next_start)]}
    if prev_start is None:
        assert "prev" not in links
    else:
        href = urlsplit(links["prev"]["href"])
        assert parse_qs(href.query) == {key: value for key, value in params.items() if key != "start"}


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("start=-1", "start"),
        ("start=x", "start"),
        ("sort=keyHash", "sort"),
        ("sort=-user", "sort"),
    ],
)
def test_token_list_bad_parameters(owner, tokens, query, param):
    response = client_for(owner).get(f"/api/tokens?{query}")

    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert list(body["details"]) == [param]
    assert param in body["message"]


def test_token_items_never_show_the_hash(owner, tokens):
    body = client_for(owner).get("/api/tokens").json()

    for item in body["_embedded"]["inf:token"]:
        assert set(item) == {"_links", "id", "name", "keyHint", "createdAt", "expiresAt", "lastUsedAt", "expired"}
        assert item["_links"]["self"]["href"] == f"http://testserver/api/tokens/{item['id']}"
    assert tokens["alpha"].key_hash not in str(body)
