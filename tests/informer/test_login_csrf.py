"""Session login is CSRF-checked like Django's own login form."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory


@pytest.mark.django_db
def test_login_without_a_csrf_token_is_refused_and_starts_no_session():
    # given
    UserFactory(username="ana")
    client = APIClient(enforce_csrf_checks=True)

    # when
    response = client.post("/api/login", {"username": "ana", "password": "secret-pass-123"}, format="json")

    # then
    assert response.status_code == 403
    assert "CSRF" in response.json()["message"]
    assert "sessionid" not in response.cookies
    assert client.get("/api/me").status_code == 401


@pytest.mark.django_db
def test_login_with_the_token_from_get_starts_a_session():
    # given
    UserFactory(username="ana")
    client = APIClient(enforce_csrf_checks=True)
    token = client.get("/api/login").json()["csrfToken"]

    # when
    response = client.post(
        "/api/login", {"username": "ana", "password": "secret-pass-123"}, format="json", HTTP_X_CSRFTOKEN=token
    )

    # then
    assert response.status_code == 200
    assert response.json()["username"] == "ana"
    assert client.get("/api/me").json()["username"] == "ana"
