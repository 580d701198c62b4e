"""List conventions (§2) on ``GET /api/jobs``: the HAL envelope, paging, sorting, ``q`` and filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from informer import services as identity_services
from jobs.services import shares as share_services
from tests.conftest import client_for
from tests.factories import JobFactory, TenantFactory, UserFactory, make_draft, tag

ERROR_KEYS = {"statusCode", "error", "message", "details"}


def names(body: dict[str, Any]) -> list[str]:
    return [item["name"] for item in body["_embedded"]["inf:job"]]


def split(href: str) -> tuple[str, dict[str, list[str]]]:
    """The path and the parsed query of an absolute link."""
    parts = urlsplit(href)
    assert parts.scheme == "http" and parts.netloc == "testserver"
    return parts.path, parse_qs(parts.query)


@pytest.fixture
def five(owner):
    """Five jobs named Job 0..Job 4, readable by ``owner``."""
    return [JobFactory(owner=owner, name=f"Job {index}", slug=f"job-{index}") for index in range(5)]


@pytest.fixture
def client(owner):
    return client_for(owner)


# --- Envelope and paging ----------------------------------------------------------------------------


def test_envelope_has_exactly_the_hal_keys_and_self_links(client, five):
    # when
    response = client.get("/api/jobs")

    # then
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"_links", "_embedded", "start", "count", "total"}
    assert body["_links"] == {"self": {"href": "http://testserver/api/jobs"}}
    assert list(body["_embedded"]) == ["inf:job"]
    assert (body["start"], body["count"], body["total"]) == (0, 5, 5)
    for item, job in zip(body["_embedded"]["inf:job"], five, strict=True):
        assert item["_links"] == {"self": {"href": f"http://testserver/api/jobs/{job.pk}"}}
        assert item["id"] == str(job.pk)


# (query, names on the page, start of the next link or None, start of the prev link: None = no link,
#  0 = a link without ``start``)
PAGES = [
    ("", [0, 1, 2, 3, 4], None, None),
    ("limit=2", [0, 1], 2, None),
    ("start=0&limit=2", [0, 1], 2, None),
    ("start=2&limit=2", [2, 3], 4, 0),
    ("start=3&limit=2", [3, 4], None, 1),
    ("start=4&limit=2", [4], None, 2),
    ("start=4", [4], None, 0),
    ("start=0&limit=5", [0, 1, 2, 3, 4], None, None),
    ("start=0&limit=4", [0, 1, 2, 3], 4, None),
    ("limit=1", [0], 1, None),
    ("limit=1000", [0, 1, 2, 3, 4], None, None),
    ("start=5", [], None, 0),
    ("start=5&limit=2", [], None, 3),
    ("limit=0", [], None, None),
    ("start=2&limit=0", [], None, 0),
]


@pytest.mark.parametrize(("query", "expected", "next_start", "prev_start"), PAGES)
def test_paging(client, five, query, expected, next_start, prev_start):
    # when
    response = client.get(f"/api/jobs?{query}")

    # then
    assert response.status_code == 200
    body = response.json()
    params = parse_qs(query)
    assert names(body) == [f"Job {index}" for index in expected]
    assert body["count"] == len(expected)
    assert body["total"] == 5
    assert body["start"] == int(params.get("start", ["0"])[0])
    links = body["_links"]
    assert split(links["self"]["href"]) == ("/api/jobs", params)
    if next_start is None:
        assert "next" not in links
    else:
        assert split(links["next"]["href"]) == ("/api/jobs", {**params, "start": [str(next_start)]})
    if prev_start is None:
        assert "prev" not in links
    else:
        wanted = {key: value for key, value in params.items() if key != "start"}
        if prev_start:
            wanted["start"] = [str(prev_start)]
        assert split(links["prev"]["href"]) == ("/api/jobs", wanted)


def test_start_far_past_the_end_is_an_empty_page_with_the_real_total(client, five):
    body = client.get("/api/jobs?start=99&limit=10").json()

    assert (body["start"], body["count"], body["total"]) == (99, 0, 5)
    assert body["_embedded"] == {"inf:job": []}
    assert "next" not in body["_links"]


def test_following_next_links_visits_every_job_once_and_prev_links_come_back(client, five):
    # given
    seen: list[str] = []
    href = "/api/jobs?limit=2&sort=-name&q=job"
    pages = 0

    # when
    while href:
        body = client.get(href).json()
        seen += names(body)
        pages += 1
        last = body
        href = body["_links"].get("next", {}).get("href")
    back: list[str] = []
    href = last["_links"].get("prev", {}).get("href")
    while href:
        body = client.get(href).json()
        back = names(body) + back
        href = body["_links"].get("prev", {}).get("href")

    # then
    assert pages == 3
    assert seen == ["Job 4", "Job 3", "Job 2", "Job 1", "Job 0"]
    assert back == ["Job 4", "Job 3", "Job 2", "Job 1"]


def test_default_page_is_thirty_items(owner, client):
    # given
    for index in range(35):
        JobFactory(owner=owner, name=f"Job {index:02d}")

    # when
    body = client.get("/api/jobs").json()

    # then
    assert (body["start"], body["count"], body["total"]) == (0, 30, 35)
    assert split(body["_links"]["next"]["href"]) == ("/api/jobs", {"start": ["30"]})
    assert names(body)[-1] == "Job 29"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("limit=abc", "limit"),
        ("limit=1.5", "limit"),
        ("start=-1", "start"),
        ("start=x", "start"),
        ("start=1e3", "start"),
        ("start=2&limit=9999", "limit"),
    ],
)
def test_bad_paging_parameter_is_a_400_naming_it(client, five, query, param):
    # when
    response = client.get(f"/api/jobs?{query}")

    # then
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["statusCode"] == 400
    assert list(body["details"]) == [param]
    assert body["message"].startswith(f"{param}: ")
    value = parse_qs(query)[param][0]
    assert value in body["message"]


# --- Sorting ------------------------------------------------------------------------------------------


@pytest.fixture
def dated(owner):
    """Three jobs whose creation order differs from their name order."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return {
        name: JobFactory(owner=owner, name=name, type=job_type, created_at=base + timedelta(days=day))
        for name, job_type, day in [("Bravo", "email", 0), ("Charlie", "api-call", 1), ("Alpha", "email", 2)]
    }


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        (None, ["Alpha", "Bravo", "Charlie"]),
        ("name", ["Alpha", "Bravo", "Charlie"]),
        ("-name", ["Charlie", "Bravo", "Alpha"]),
        ("+name", ["Alpha", "Bravo", "Charlie"]),
        ("createdAt", ["Bravo", "Charlie", "Alpha"]),
        ("-createdAt", ["Alpha", "Charlie", "Bravo"]),
        ("type,name", ["Charlie", "Alpha", "Bravo"]),
        ("type,-name", ["Charlie", "Bravo", "Alpha"]),
        ("-type,name", ["Alpha", "Bravo", "Charlie"]),
    ],
)
def test_sort(client, dated, sort, expected):
    # when
    response = client.get("/api/jobs", {"sort": sort} if sort else {})

    # then
    assert response.status_code == 200
    assert names(response.json()) == expected


def test_sort_is_stable_across_pages_when_the_key_repeats(owner, client):
    # given: every job has the same type, so only the tie-breaker orders them
    jobs = {str(JobFactory(owner=owner, name=f"Same {index}").pk) for index in range(7)}

    # when
    seen = []
    for start in range(0, 7, 2):
        body = client.get(f"/api/jobs?sort=type&limit=2&start={start}").json()
        seen += [item["id"] for item in body["_embedded"]["inf:job"]]

    # then
    assert len(seen) == 7
    assert set(seen) == jobs


@pytest.mark.parametrize("sort", ["bogus", "-bogus", "name,bogus", "description", "owner__password"])
def test_unknown_sort_field_is_a_400_naming_sort(client, dated, sort):
    # when
    response = client.get("/api/jobs", {"sort": sort})

    # then
    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert list(body["details"]) == ["sort"]
    assert "sort" in body["message"]
    assert sort.split(",")[-1].lstrip("-") in body["message"]


def test_empty_sort_uses_the_default(client, dated):
    response = client.get("/api/jobs?sort=")

    assert response.status_code == 200
    assert names(response.json()) == ["Alpha", "Bravo", "Charlie"]


# --- q and filters ------------------------------------------------------------------------------------


@pytest.fixture
def catalogue(tenant, owner):
    """Jobs with varied names, descriptions, types, owners, tags and enabled flags, all readable by owner."""
    colleague = UserFactory(username="colleague", tenant=tenant)
    jobs = {
        "Nightly Sales": JobFactory(owner=owner, name="Nightly Sales", description="", enabled=True),
        "Weekly": JobFactory(owner=owner, name="Weekly", description="Sends the SALES figures", enabled=False),
        "Ping": JobFactory(owner=owner, name="Ping", type="api-call", data={"url": "https://x.test"}),
        "Shared": JobFactory(owner=colleague, name="Shared", description="from a colleague"),
        "Private": JobFactory(owner=colleague, name="Private", description="sales, not shared"),
    }
    share_services.share_set(job=jobs["Shared"], principal=owner, level=1)
    tag(jobs["Nightly Sales"], "reports", "sales")
    tag(jobs["Weekly"], "reports")
    tag(jobs["Ping"], "ops", "sales")
    tag(jobs["Shared"], "reports", "sales", "extra")
    tag(jobs["Private"], "reports", "sales")
    return jobs


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "sales"}, ["Nightly Sales", "Weekly"]),
        ({"q": "SALES"}, ["Nightly Sales", "Weekly"]),
        ({"q": "SaLeS"}, ["Nightly Sales", "Weekly"]),
        ({"q": "nightly sales"}, ["Nightly Sales"]),
        ({"q": "figures"}, ["Weekly"]),
        ({"q": "colleague"}, ["Shared"]),
        ({"q": "nothing-matches"}, []),
        ({"q": ""}, ["Nightly Sales", "Ping", "Shared", "Weekly"]),
        ({"enabled": "false"}, ["Weekly"]),
        ({"enabled": "true"}, ["Nightly Sales", "Ping", "Shared"]),
        ({"type": "api-call"}, ["Ping"]),
        ({"type": "email"}, ["Nightly Sales", "Shared", "Weekly"]),
        ({"type": "snapshot-cleanup"}, []),
        ({"tag": "reports"}, ["Nightly Sales", "Shared", "Weekly"]),
        ({"tag": ["reports", "sales"]}, ["Nightly Sales", "Shared"]),
        ({"tag": ["sales", "reports", "extra"]}, ["Shared"]),
        ({"tag": ["reports", "ops"]}, []),
        ({"tag": "REPORTS"}, []),
        ({"tag": "unknown"}, []),
        ({"q": "sales", "tag": "reports", "enabled": "true"}, ["Nightly Sales"]),
    ],
)
def test_search_and_filters(client, catalogue, query, expected):
    # when
    response = client.get("/api/jobs", query)

    # then
    assert response.status_code == 200
    body = response.json()
    assert names(body) == expected
    assert body["total"] == len(expected)


def test_owner_id_filter(client, owner, catalogue):
    # given
    colleague = catalogue["Shared"].owner

    # when
    mine = client.get(f"/api/jobs?ownerId={owner.pk}").json()
    theirs = client.get(f"/api/jobs?ownerId={colleague.pk}").json()
    nobody = client.get("/api/jobs?ownerId=999999").json()

    # then
    assert names(mine) == ["Nightly Sales", "Ping", "Weekly"]
    assert names(theirs) == ["Shared"]  # "Private" is the colleague's too, but not readable
    assert names(nobody) == []


def test_bad_owner_id_is_a_400_naming_it(client, catalogue):
    response = client.get("/api/jobs?ownerId=abc")

    assert response.status_code == 400
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert list(body["details"]) == ["ownerId"]
    assert "ownerId" in body["message"]


def test_items_report_tags_sorted(client, catalogue):
    body = client.get("/api/jobs?q=shared").json()

    assert body["_embedded"]["inf:job"][0]["tags"] == ["extra", "reports", "sales"]


def test_list_shows_only_readable_committed_jobs_of_the_callers_tenant(tenant, owner, client):
    # given
    mine = JobFactory(owner=owner, name="Mine")
    make_draft(mine)
    JobFactory(owner=UserFactory(tenant=tenant), name="Unshared")
    JobFactory(owner=UserFactory(tenant=TenantFactory()), name="Elsewhere")

    # when
    body = client.get("/api/jobs").json()

    # then
    assert [item["id"] for item in body["_embedded"]["inf:job"]] == [str(mine.pk)]
    assert body["total"] == 1


def test_superuser_lists_every_tenant(tenant, owner):
    # given
    JobFactory(owner=owner, name="A")
    JobFactory(owner=UserFactory(tenant=TenantFactory()), name="B")
    root = UserFactory(tenant=tenant, is_superuser=True)

    # when
    body = client_for(root).get("/api/jobs").json()

    # then
    assert names(body) == ["A", "B"]


@pytest.mark.parametrize("value", ["maybe", "1", "yes", "TRUE"])
def test_enabled_filter_rejects_anything_but_true_or_false(roles, value):
    # when
    response = roles.clients["owner"].get(f"/api/jobs?enabled={value}")
    # then
    assert response.status_code == 400
    assert "enabled" in response.json()["details"]


# --- Paging numbers are ASCII digits ------------------------------------------------------------------

# int() reads every Unicode digit: '\u0661' (Arabic-Indic one) and '\uff11' (fullwidth one) are 1 to it.
NOT_ASCII_NUMBERS = ["\u0661", "\uff11", "\u0661\u0660", "\u00b9", " 1", "1 ", "1_0", "+\u0661"]


@pytest.mark.parametrize("param", ["limit", "start"])
@pytest.mark.parametrize("value", NOT_ASCII_NUMBERS)
def test_a_paging_number_not_in_ascii_digits_is_a_400_naming_it(client, five, param, value):
    # when
    response = client.get("/api/jobs", {param: value})

    # then
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["details"] == {param: [f"'{value}' is not a whole number."]}
    assert body["message"] == f"{param}: '{value}' is not a whole number."


@pytest.mark.parametrize(("query", "expected"), [("limit=%2B2", 2), ("limit=02", 2), ("limit=2&start=%2B0", 2)])
def test_signed_or_zero_padded_ascii_numbers_still_page(client, five, query, expected):
    body = client.get(f"/api/jobs?{query}").json()

    assert body["count"] == expected


@pytest.mark.parametrize("value", ["9" * 30, "9" * 5000])
def test_a_start_past_any_integer_is_a_400_not_a_500(client, five, value):
    response = client.get("/api/jobs", {"start": value})

    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == ["start"]
    assert "is out of range; it must be between 0 and 9223372036854775807." in response.json()["message"]
    assert len(response.json()["message"]) < 200


def test_the_token_list_pages_with_ascii_digits_only(owner, client):
    response = client.get("/api/tokens", {"limit": "\u0661"})

    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == ["limit"]


# --- Text sorts: case-insensitive both ways, the same on SQLite and PostgreSQL ---------------------------

MIXED_CASE = ["beta call", "alpha refresh", "Zeta report", "Mid sync"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["alpha refresh", "beta call", "Mid sync", "Zeta report"]),
        ("-name", ["Zeta report", "Mid sync", "beta call", "alpha refresh"]),
    ],
)
def test_text_sorts_ignore_case_in_both_directions(owner, client, sort, expected):
    # given
    for name in MIXED_CASE:
        JobFactory(owner=owner, name=name)

    # when
    response = client.get("/api/jobs", {"sort": sort})

    # then
    assert response.status_code == 200
    assert names(response.json()) == expected


def test_text_sorts_compare_by_code_point_after_folding_ascii_case(owner, client):
    # given names a locale's collation would order differently (it skips spaces and punctuation)
    for name in ["ab", "A_b", "a-b", "a c", "aB c", "Ab-"]:
        JobFactory(owner=owner, name=name)

    # when
    ascending = names(client.get("/api/jobs", {"sort": "name"}).json())
    descending = names(client.get("/api/jobs", {"sort": "-name"}).json())

    # then: space < '-' < '_' < letters, as their code points go
    assert ascending == ["a c", "a-b", "A_b", "ab", "aB c", "Ab-"]
    assert descending == list(reversed(ascending))


def test_names_equal_but_for_case_are_ordered_by_id_in_the_sort_direction(owner, client):
    # given
    jobs = [JobFactory(owner=owner, name=name) for name in ["report", "Report", "REPORT"]]
    by_id = [str(job.pk) for job in sorted(jobs, key=lambda job: job.pk)]

    # when
    ascending = [item["id"] for item in client.get("/api/jobs?sort=name").json()["_embedded"]["inf:job"]]
    descending = [item["id"] for item in client.get("/api/jobs?sort=-name").json()["_embedded"]["inf:job"]]

    # then
    assert ascending == by_id
    assert descending == list(reversed(by_id))


def test_a_case_insensitive_sort_pages_without_gaps_or_repeats(owner, client):
    # given
    for name in ["b", "B", "a", "A", "c", "C", "a"]:
        JobFactory(owner=owner, name=name)

    # when
    seen = []
    for start in range(0, 7, 2):
        seen += names(client.get(f"/api/jobs?sort=-name&limit=2&start={start}").json())

    # then
    assert [name.lower() for name in seen] == ["c", "c", "b", "b", "a", "a", "a"]
    assert sorted(seen) == sorted(["b", "B", "a", "A", "c", "C", "a"])


def test_empty_values_come_last_going_up_and_first_going_down(owner, client):
    # given
    base = datetime(2026, 1, 1, tzinfo=UTC)
    JobFactory(owner=owner, name="Early", next_run_at=base)
    JobFactory(owner=owner, name="Never", next_run_at=None)
    JobFactory(owner=owner, name="Late", next_run_at=base + timedelta(days=1))

    # when
    ascending = names(client.get("/api/jobs", {"sort": "nextRunAt"}).json())
    descending = names(client.get("/api/jobs", {"sort": "-nextRunAt"}).json())

    # then
    assert ascending == ["Early", "Late", "Never"]
    assert descending == ["Never", "Late", "Early"]


def test_a_secondary_text_key_ignores_case_too(owner, client):
    # given
    for name, job_type in [("beta", "email"), ("Alpha", "email"), ("alpha 2", "api-call"), ("Zulu", "api-call")]:
        JobFactory(owner=owner, name=name, type=job_type)

    # when
    response = client.get("/api/jobs", {"sort": "type,-name"})

    # then
    assert names(response.json()) == ["Zulu", "alpha 2", "beta", "Alpha"]


def test_token_names_sort_ignoring_case(owner, client):
    # given
    for name in ["beta", "Charlie", "alpha"]:
        identity_services.token_create(user=owner, name=name)

    # when
    body = client.get("/api/tokens", {"sort": "name"}).json()

    # then
    assert [item["name"] for item in body["_embedded"]["inf:token"]] == ["alpha", "beta", "Charlie"]
