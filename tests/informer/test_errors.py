"""The single error shape (§2) for every status the API answers with."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.test import APIClient
from rest_framework.throttling import ScopedRateThrottle

from informer.api.middleware import ApiErrorMiddleware
from tests.conftest import Roles, bearer_client, client_for

ERROR_KEYS = {"statusCode", "error", "message", "details"}


def assert_error_shape(response: Any, status_code: int, phrase: str) -> dict[str, Any]:
    """The response is ``status_code`` with exactly the four keys of the error shape; returns the body."""
    assert response.status_code == status_code, response.content
    assert response["Content-Type"].startswith("application/json")
    body = json.loads(response.content)
    assert set(body) == ERROR_KEYS
    assert body["statusCode"] == status_code
    assert body["error"] == phrase
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["details"], dict)
    for field, messages in body["details"].items():
        assert isinstance(field, str)
        assert messages and all(isinstance(message, str) for message in messages)
    return body


# Each case: (status, reason phrase, request given the roles fixture, a word the message must contain).
Case = tuple[int, str, Callable[[Roles], Any], str]

CASES: dict[str, Case] = {
    "400 missing fields": (
        400,
        "Bad Request",
        lambda r: r.clients["owner"].post("/api/jobs", {}, format="json"),
        "type",
    ),
    "400 malformed json": (
        400,
        "Bad Request",
        lambda r: r.clients["owner"].post("/api/jobs", "{bad", content_type="application/json"),
        "JSON",
    ),
    "401 anonymous": (
        401,
        "Unauthorized",
        lambda r: r.clients["anonymous"].get("/api/jobs"),
        "credentials",
    ),
    "401 anonymous write": (
        401,
        "Unauthorized",
        lambda r: r.clients["anonymous"].delete(f"/api/jobs/{r.job.pk}"),
        "credentials",
    ),
    "401 bad token": (
        401,
        "Unauthorized",
        lambda r: bearer_client("inf_not-a-real-token").get("/api/jobs"),
        "token",
    ),
    "403 view-only put": (
        403,
        "Forbidden",
        lambda r: r.clients["view"].put(f"/api/jobs/{r.job.pk}", {"description": "x"}, format="json"),
        "job:edit",
    ),
    "403 edit-level delete": (
        403,
        "Forbidden",
        lambda r: r.clients["edit"].delete(f"/api/jobs/{r.job.pk}"),
        "job:delete",
    ),
    "404 unknown id": (
        404,
        "Not Found",
        lambda r: r.clients["owner"].get(f"/api/jobs/{uuid.uuid4()}"),
        "found",
    ),
    "404 other tenant": (
        404,
        "Not Found",
        lambda r: r.clients["other_tenant"].put(f"/api/jobs/{r.job.pk}", {"name": "x"}, format="json"),
        "found",
    ),
    "404 unknown path": (
        404,
        "Not Found",
        lambda r: r.clients["owner"].get("/api/nope"),
        "/api/nope",
    ),
    "404 unknown nested path": (
        404,
        "Not Found",
        lambda r: r.clients["owner"].get(f"/api/jobs/{r.job.pk}/nope"),
        "/nope",
    ),
    "404 unknown path anonymous": (
        404,
        "Not Found",
        lambda r: r.clients["anonymous"].post("/api/nope", {}, format="json"),
        "/api/nope",
    ),
    "405 patch jobs-list": (
        405,
        "Method Not Allowed",
        lambda r: r.clients["owner"].patch("/api/jobs-list", {}, format="json"),
        "PATCH",
    ),
    "405 delete jobs collection": (
        405,
        "Method Not Allowed",
        lambda r: r.clients["owner"].delete("/api/jobs"),
        "DELETE",
    ),
    "405 post on a job's shares": (
        405,
        "Method Not Allowed",
        lambda r: r.clients["owner"].post(f"/api/jobs/{r.job.pk}/shares", {}, format="json"),
        "POST",
    ),
    "409 duplicate slug": (
        409,
        "Conflict",
        lambda r: r.clients["owner"].post(
            "/api/jobs",
            {"type": "email", "name": "Another", "slug": "nightly", "interval": "0 8 * * *"},
            format="json",
        ),
        "nightly",
    ),
    "413 body too large": (
        413,
        "Request Entity Too Large",
        lambda r: r.clients["owner"].post("/api/jobs", {"type": "email", "name": "x" * 3_000_000}, format="json"),
        "large",
    ),
    "415 text/plain": (
        415,
        "Unsupported Media Type",
        lambda r: r.clients["owner"].post("/api/jobs", "name=x", content_type="text/plain"),
        "text/plain",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_error_shape(roles, db_state, case):
    # given
    status_code, phrase, make_request, word = CASES[case]
    before = db_state()

    # when
    response = make_request(roles)

    # then
    body = assert_error_shape(response, status_code, phrase)
    assert word.lower() in body["message"].lower()
    assert db_state() == before


def test_401_offers_a_bearer_challenge(roles):
    response = roles.clients["anonymous"].get("/api/jobs")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_405_keeps_the_allow_header(roles):
    response = roles.clients["owner"].delete("/api/jobs")

    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST", "HEAD", "OPTIONS"}


def test_400_details_name_each_field(roles):
    # when
    response = roles.clients["owner"].post("/api/jobs", {"description": "only this"}, format="json")

    # then
    body = assert_error_shape(response, 400, "Bad Request")
    assert set(body["details"]) == {"type", "name"}
    assert "(and 1 more field)" in body["message"]


def test_409_names_the_slug(roles, db_state):
    # given
    before = db_state()

    # when
    response = roles.clients["owner"].post(
        "/api/jobs", {"type": "email", "name": "X", "slug": "nightly", "interval": "@daily"}, format="json"
    )

    # then
    body = assert_error_shape(response, 409, "Conflict")
    assert body["details"] == {"slug": ["A job with slug 'nightly' already exists."]}
    assert db_state() == before


def test_429_login_throttle(owner, monkeypatch, db_state):
    # given: a login rate of two a minute
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"login": "2/min"})
    client = APIClient()
    body = {"username": "owner", "password": "wrong"}
    first = [client.post("/api/login", body, format="json").status_code for _ in range(2)]
    before = db_state()

    # when
    response = client.post("/api/login", {"username": "owner", "password": "secret-pass-123"}, format="json")

    # then
    assert first == [401, 401]
    error = assert_error_shape(response, 429, "Too Many Requests")
    assert "throttled" in error["message"].lower()
    assert 0 < int(response["Retry-After"]) <= 60
    assert "_auth_user_id" not in client.session
    assert db_state() == before


def test_500_hides_the_traceback(roles, monkeypatch, db_state):
    # given
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("db password is hunter2")

    monkeypatch.setattr("jobs.selectors.job_list_for_user", explode)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(roles.users["owner"])
    before = db_state()

    # when
    response = client.get("/api/jobs")

    # then
    body = assert_error_shape(response, 500, "Internal Server Error")
    assert body["details"] == {}
    text = response.content.decode()
    for leak in ("Traceback", "RuntimeError", "hunter2", "selectors.py", 'File "'):
        assert leak not in text
    assert db_state() == before


def test_500_on_a_write_rolls_back(roles, monkeypatch, db_state):
    # given: the write fails after the job row was saved
    def explode(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("jobs.services.jobs.job_grant", explode)
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(roles.users["owner"])
    before = db_state()

    # when
    response = client.post("/api/jobs", {"type": "email", "name": "Doomed", "interval": "@daily"}, format="json")

    # then
    assert_error_shape(response, 500, "Internal Server Error")
    assert db_state() == before


# --- The middleware that rewrites Django's own error pages under /api/ --------------------------------


@pytest.mark.parametrize(
    ("status_code", "phrase", "word"),
    [
        (400, "Bad Request", "invalid"),
        (403, "Forbidden", "permission"),
        (404, "Not Found", "/api/thing"),
        (405, "Method Not Allowed", "DELETE"),
        (413, "Request Entity Too Large", "large"),
        (500, "Internal Server Error", "internal"),
        (418, "I'm a Teapot", "failed"),
    ],
)
def test_middleware_rewrites_html_errors_on_api_paths(status_code, phrase, word):
    # given
    html = HttpResponse("<h1>Error</h1>", status=status_code, content_type="text/html")
    if status_code == 405:
        html["Allow"] = "GET"
    middleware = ApiErrorMiddleware(lambda request: html)

    # when
    response = middleware(RequestFactory().delete("/api/thing"))

    # then
    body = assert_error_shape(response, status_code, phrase)
    assert word.lower() in body["message"].lower()
    assert "<h1>" not in response.content.decode()
    if status_code == 405:
        assert response["Allow"] == "GET"


def test_middleware_leaves_other_paths_and_successes_alone():
    # given
    html = HttpResponse("<h1>Error</h1>", status=404, content_type="text/html")
    ok = HttpResponse("fine", status=200)

    # when
    admin = ApiErrorMiddleware(lambda request: html)(RequestFactory().get("/admin/nope"))
    lookalike = ApiErrorMiddleware(lambda request: html)(RequestFactory().get("/apiary"))
    success = ApiErrorMiddleware(lambda request: ok)(RequestFactory().get("/api/jobs"))

    # then
    assert admin is html
    assert lookalike is html
    assert success is ok


def test_middleware_turns_unhandled_exceptions_into_a_500_on_api_paths_only():
    middleware = ApiErrorMiddleware(lambda request: HttpResponse())
    error = RuntimeError("secret detail")

    response = middleware.process_exception(RequestFactory().get("/api/jobs"), error)

    body = assert_error_shape(response, 500, "Internal Server Error")
    assert "secret" not in body["message"]
    assert middleware.process_exception(RequestFactory().get("/admin/"), error) is None


def test_unauthenticated_session_client_is_401_not_403(roles):
    # given: a logged-out session with a CSRF-enforcing client
    client = APIClient(enforce_csrf_checks=True)

    # when
    response = client.post("/api/jobs", {"type": "email", "name": "x"}, format="json")

    # then
    assert_error_shape(response, 401, "Unauthorized")


def test_forced_client_helper_is_authenticated(roles):
    # The matrix relies on client_for(); make sure it is not silently anonymous.
    assert client_for(roles.users["view"]).get(f"/api/jobs/{roles.job.pk}").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/jobs/alpha:da%00ily",
        "/api/jobs/{job}/datasets/sa%00les",
        "/api/datasets/alpha:sa%00les",
        "/api/datasources/alpha:sa%00les",
        "/api/datasets/alpha:sa%00les/snapshots",
        "/api/jobs/{job}/shares/user:1%00",
    ],
)
def test_a_path_holding_nul_is_a_404(roles, db_state, path):
    # given: natural ids and aliases are looked up by their text, which PostgreSQL refuses with NUL in it (a 500)
    before = db_state()

    # when
    response = roles.clients["owner"].get(path.format(job=roles.job.pk))

    # then
    body = assert_error_shape(response, 404, "Not Found")
    assert body["message"] == "No resource at this path (it holds a NUL character)."
    assert db_state() == before
