"""List query parameters (§2): a value no column can hold, or a filter word that means nothing, is a 400."""

from __future__ import annotations

from typing import Any

import pytest

from runs.models import Run
from tests.conftest import client_for
from tests.factories import JobFactory

ERROR_KEYS = {"statusCode", "error", "message", "details"}
TOO_BIG = "99999999999999999999999999"  # an OverflowError on SQLite before it is checked here


def assert_400_naming(response: Any, field: str, message: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["details"] == {field: [message]}
    assert body["message"] == f"{field}: {message}"


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


@pytest.fixture
def history(owner: Any, tenant: Any) -> str:
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")
    Run.objects.create(job=job, tenant=tenant, owner_id=owner.pk, trigger="manual", status="succeeded", success=True)
    Run.objects.create(job=job, tenant=tenant, owner_id=owner.pk, trigger="manual", status="failed", success=False)
    return f"/api/jobs/{job.pk}/history"


# (id, ownerId, the message)
BAD_OWNER_IDS: list[tuple[str, str, str]] = [
    ("26 digits", TOO_BIG, "Ensure this value is less than or equal to 9223372036854775807."),
    ("2**63", str(2**63), "Ensure this value is less than or equal to 9223372036854775807."),
    ("below -2**63", str(-(2**63) - 1), "Ensure this value is greater than or equal to -9223372036854775808."),
    ("5000 digits", "9" * 5000, "Ensure this value is less than or equal to 9223372036854775807."),
    ("-5000 digits", "-" + "9" * 5000, "Ensure this value is greater than or equal to -9223372036854775808."),
    ("decimal", "1.0", "'1.0' is not a whole number."),
    ("exponent", "1e3", "'1e3' is not a whole number."),
    ("underscore", "1_000", "'1_000' is not a whole number."),
    ("arabic-indic digit", "\u0661", "'\u0661' is not a whole number."),
    ("fullwidth digit", "\uff11", "'\uff11' is not a whole number."),
    ("superscript", "\u00b2", "'\u00b2' is not a whole number."),
    ("word", "abc", "'abc' is not a whole number."),
]


@pytest.mark.parametrize(("value", "message"), [case[1:] for case in BAD_OWNER_IDS], ids=[c[0] for c in BAD_OWNER_IDS])
def test_owner_id_out_of_range_or_not_ascii_digits_is_a_400(client, job, value, message):
    assert_400_naming(client.get("/api/jobs", {"ownerId": value}), "ownerId", message)


def test_owner_id_at_the_edges_of_the_range_matches_nothing(client, job, owner):
    for value in (str(2**63 - 1), str(-(2**63)), "0", f"+{owner.pk + 1}"):
        response = client.get("/api/jobs", {"ownerId": value})
        assert response.status_code == 200, (value, response.content)
        assert response.json()["total"] == 0
    assert client.get("/api/jobs", {"ownerId": f"00{owner.pk}"}).json()["total"] == 1


@pytest.mark.parametrize("value", ["maybe", "1", "yes", "TRUE "])
def test_enabled_takes_true_or_false_only(client, job, value):
    assert_400_naming(
        client.get("/api/jobs", {"enabled": value}),
        "enabled",
        f"Select a valid choice. {value} is not one of the available choices.",
    )


@pytest.mark.parametrize("value", ["maybe", "yes", "2"])
def test_history_success_takes_true_or_false_only(client, history, value):
    # A BooleanFilter read "maybe" as no filter at all and listed every run.
    assert_400_naming(
        client.get(history, {"success": value}),
        "success",
        f"Select a valid choice. {value} is not one of the available choices.",
    )


@pytest.mark.parametrize(("value", "statuses"), [("true", ["succeeded"]), ("false", ["failed"])])
def test_history_success_filters(client, history, value, statuses):
    body = client.get(history, {"success": value}).json()
    assert [item["status"] for item in body["_embedded"]["inf:job-history"]] == statuses


@pytest.mark.parametrize("url", ["/api/jobs", "/api/job-workers"])
def test_search_text_with_nul_is_a_400(owner, url):
    # PostgreSQL cannot hold NUL in a string literal: the driver's ValueError would be a 500 there.
    owner.is_staff = True
    owner.save()
    assert_400_naming(
        client_for(owner).get(url, {"q": "night\x00ly"}), "q", "The search text may not contain NUL characters."
    )
