"""Integers in query strings outside paging (§2, §5): ASCII digits only, else a 400 naming the parameter."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from tests.conftest import client_for

ERROR_KEYS = {"statusCode", "error", "message", "details"}
# int() also reads these as numbers: an Arabic-Indic one, a fullwidth one, an Arabic-Indic ten, a superscript.
NOT_ASCII = ["\u0661", "\uff11", "\u0661\u0660", "\u00b2"]


@pytest.fixture
def client(owner: Any) -> Any:
    return client_for(owner)


@pytest.mark.parametrize("value", NOT_ASCII)
def test_fire_times_count_not_in_ascii_digits_is_a_400_naming_it(client, value):
    response = client.get("/api/job-fire-times", {"interval": "0 8 * * *", "count": value})

    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == ERROR_KEYS
    assert body["details"] == {"count": [f"'{value}' is not a whole number."]}
    assert body["message"] == f"count: '{value}' is not a whole number."


@pytest.mark.parametrize("value", ["1.0", "1e1", " 2"])
def test_fire_times_count_must_be_a_plain_whole_number(client, value):
    response = client.get("/api/job-fire-times", {"interval": "0 8 * * *", "count": value})

    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == ["count"]


def test_fire_times_count_in_ascii_digits_still_works(client):
    with time_machine.travel(datetime(2026, 3, 1, 12, tzinfo=UTC), tick=False):
        response = client.get("/api/job-fire-times", {"interval": "0 8 * * *", "count": "2"})

    assert response.status_code == 200, response.content
    assert response.json()["fireTimes"] == ["2026-03-02T08:00:00Z", "2026-03-03T08:00:00Z"]


@pytest.mark.parametrize("value", NOT_ASCII)
def test_principals_limit_not_in_ascii_digits_is_a_400_naming_it(client, value):
    response = client.get("/api/principals", {"limit": value})

    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == ["limit"]
    assert value in response.json()["message"]
