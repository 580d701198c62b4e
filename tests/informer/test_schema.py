"""The OpenAPI schema describes every endpoint, the envelopes and the error shape, and validates."""

from __future__ import annotations

import re

import jsonschema
import pytest
import yaml
from django.urls import get_resolver
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from tests.conftest import client_for


@pytest.fixture(scope="module")
def schema():
    # Built once per module: the schema is public and generating it reads no data.
    response = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_the_schema_validates(schema):
    validate(schema)


def test_every_operation_documents_the_error_shape(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                for code in ("400", "401", "404"):
                    ref = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Error", (path, method, code)
    assert schema["components"]["schemas"]["Error"]["required"] == ["statusCode", "error", "message", "details"]


def test_collections_are_described_as_hal_envelopes(schema):
    jobs = schema["paths"]["/api/jobs"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    target = schema["components"]["schemas"][jobs["$ref"].rsplit("/", 1)[-1]]
    assert set(target["required"]) == {"_links", "_embedded", "start", "count", "total"}


def test_every_api_route_is_in_the_schema(schema):
    documented = {path.removeprefix("/api/") for path in schema["paths"]}
    api_routes = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, route)
            elif route.startswith("api/"):
                api_routes.append(route.removeprefix("api/"))

    walk(get_resolver().url_patterns)
    normalized = {_openapi_path(route) for route in api_routes}
    missing = {route for route in normalized if route not in documented and route not in {"schema", "docs"}}
    assert not missing


def _openapi_path(route: str) -> str:
    """``jobs/<str:pk>`` or ``^jobs/(?P<pk>[^/]+)$`` → ``jobs/{id}`` (drf-spectacular names pk ``id``)."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route).strip("^$")
    route = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
    return route.replace("{pk}", "{id}")


# --- the schema says what the service does ---------------------------------------------------------------

OPERATION_KEYS = {"get", "post", "put", "patch", "delete"}


def _operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in OPERATION_KEYS:
                yield path, method, operation


def _json_schema(response):
    return response["content"]["application/json"]["schema"]


def _component(schema, ref_holder):
    return schema["components"]["schemas"][ref_holder["$ref"].rsplit("/", 1)[-1]]


def _parameter(operation, name):
    return next(p for p in operation["parameters"] if p["name"] == name)


@pytest.mark.parametrize(
    ("path", "rel"),
    [
        ("/api/job-drivers", "inf:job-driver"),
        ("/api/job-action-drivers", "inf:job-action-driver"),
        ("/api/job-attachment-drivers", "inf:job-attachment-driver"),
        ("/api/job-templates", "inf:job-template"),
        ("/api/jobs/{job_pk}/actions", "inf:job-action"),
        ("/api/jobs/{job_pk}/actions/{action_pk}/attachments", "inf:job-attachment"),
        ("/api/jobs/{job_pk}/shares", "inf:share"),
    ],
)
def test_whole_lists_are_described_as_the_envelopes_they_answer(schema, path, rel):
    envelope = _component(schema, _json_schema(schema["paths"][path]["get"]["responses"]["200"]))
    assert envelope["type"] == "object"
    assert set(envelope["required"]) == {"_links", "_embedded", "start", "count", "total"}
    assert envelope["properties"]["_links"]["required"] == ["self"]
    embedded = _component(schema, envelope["properties"]["_embedded"]["allOf"][0])
    assert embedded["required"] == [rel]
    assert embedded["properties"][rel]["type"] == "array"


def test_an_envelope_served_matches_its_schema(schema, owner):
    # given
    envelope = _component(schema, _json_schema(schema["paths"]["/api/job-drivers"]["get"]["responses"]["200"]))

    # when
    body = client_for(owner).get("/api/job-drivers").json()

    # then
    assert set(envelope["required"]) <= set(body)
    assert isinstance(body["_embedded"]["inf:job-driver"], list)


@pytest.mark.parametrize("method", ["get", "post"])
def test_login_documents_its_throttle(schema, method):
    response = schema["paths"]["/api/login"][method]["responses"]["429"]
    assert _json_schema(response)["$ref"] == "#/components/schemas/Error"


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/jobs", "post"),
        ("/api/jobs/{id}", "put"),
        ("/api/jobs/{id}", "patch"),
        ("/api/jobs/{id}", "post"),
        ("/api/jobs/{id}/_commit", "post"),
        ("/api/jobs/{job_pk}/history/{id}/_cancel", "post"),
        ("/api/jobs/{job_pk}/history/{id}", "delete"),
        ("/api/jobs/{job_pk}/shares/{principal_id}", "put"),
        ("/api/jobs/{job_pk}/shares/{principal_id}", "delete"),
    ],
)
def test_operations_that_can_conflict_document_409(schema, path, method):
    response = schema["paths"][path][method]["responses"]["409"]
    assert _json_schema(response)["$ref"] == "#/components/schemas/Error"


def test_every_error_status_of_every_operation_has_the_error_shape(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        assert {"400", "401", "403", "404", "406", "500"} <= set(responses), (path, method)
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), (path, method)
        for code, response in responses.items():
            if int(code) >= 400:
                assert _json_schema(response)["$ref"] == "#/components/schemas/Error", (path, method, code)


def test_sort_lists_its_values_both_ways(schema):
    from jobs.api.jobs import JOB_SORT_FIELDS

    jobs_sort = _parameter(schema["paths"]["/api/jobs"]["get"], "sort")["schema"]
    assert set(jobs_sort["enum"]) == {*JOB_SORT_FIELDS, *(f"-{name}" for name in JOB_SORT_FIELDS)}
    assert jobs_sort["default"] == "name"
    history_sort = _parameter(schema["paths"]["/api/jobs/{job_pk}/history"]["get"], "sort")["schema"]
    assert {"createdAt", "-createdAt"} <= set(history_sort["enum"])
    assert history_sort["default"] == "-createdAt"


def test_sort_values_of_the_schema_are_accepted(schema, owner):
    values = _parameter(schema["paths"]["/api/jobs"]["get"], "sort")["schema"]["enum"]
    client = client_for(owner)
    for value in values:
        assert client.get("/api/jobs", {"sort": value}).status_code == 200, value


def test_fire_times_take_no_interval_for_a_manual_only_schedule(schema):
    # Left out (with intervalType), the schedule is manual-only and the answer an empty list (§5).
    interval = _parameter(schema["paths"]["/api/job-fire-times"]["get"], "interval")
    assert not interval.get("required", False)


def test_request_bodies_are_json_objects_without_unknown_keys(schema):
    seen = set()
    for path, method, operation in _operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        assert set(content) == {"application/json"}, (path, method)
        ref = content["application/json"]["schema"]
        assert _component(schema, ref)["additionalProperties"] is False, (path, method)
        seen.add(ref["$ref"])
    assert len(seen) >= 8


def test_an_unknown_key_the_schema_forbids_is_refused(owner):
    # given
    from jobs.models import Job

    # when
    response = client_for(owner).post(
        "/api/jobs", {"type": "email", "name": "A", "interval": "0 8 * * *", "colour": "red"}, format="json"
    )

    # then
    assert response.status_code == 400
    assert "colour" in response.json()["details"]
    assert not Job.objects.exists()


def test_types_are_enumerated_from_the_driver_registries(schema):
    from jobs.drivers import registry

    def available(kind):
        return [driver_id for driver_id, _ in registry.choices(kind, available_only=True)]

    components = schema["components"]["schemas"]
    for name, kind in [
        ("JobRequest", "job"),
        ("PatchedJobRequest", "job"),
        ("JobActionRequest", "action"),
        ("PatchedJobActionRequest", "action"),
        ("JobAttachmentRequest", "attachment"),
        ("PatchedJobAttachmentRequest", "attachment"),
    ]:
        # A body may only name a driver that can work here (an unavailable one is a 400).
        assert components[name]["properties"]["type"]["enum"] == available(kind), name
    assert "email" in available("job")
    # Filters and driver routes take every registered one: jobs of an unavailable type still exist.
    every_job_type = set(registry.JOB_DRIVERS)
    assert set(_parameter(schema["paths"]["/api/jobs"]["get"], "type")["schema"]["enum"]) == every_job_type
    driver_id = _parameter(schema["paths"]["/api/job-drivers/{driver_id}"]["get"], "driver_id")
    assert set(driver_id["schema"]["enum"]) == every_job_type


def test_a_type_outside_the_enum_is_refused(owner, monkeypatch):
    # given: a type registered but not available on this installation (every real one is: withdraw one)
    from jobs.drivers.registry import job_driver
    from jobs.models import Job

    monkeypatch.setattr(job_driver("api-call"), "available", False)

    # when
    response = client_for(owner).post(
        "/api/jobs",
        {
            "type": "api-call",
            "name": "A",
            "interval": "0 8 * * *",
            "data": {"url": "https://example.com/health"},
        },
        format="json",
    )

    # then
    assert response.status_code == 400
    assert "type" in response.json()["details"]
    assert not Job.objects.exists()


def test_put_takes_the_partial_body_it_merges(schema):
    for path in ["/api/jobs/{id}", "/api/jobs/{job_pk}/actions/{id}"]:
        put = schema["paths"][path]["put"]["requestBody"]["content"]["application/json"]["schema"]
        patch = schema["paths"][path]["patch"]["requestBody"]["content"]["application/json"]["schema"]
        assert put == patch
        assert "required" not in _component(schema, put)


@pytest.mark.parametrize("email", ["", "owner@example.com"])
def test_me_email_is_an_address_or_empty(schema, owner, email):
    # given
    owner.email = email
    owner.save()
    me = _component(schema, _json_schema(schema["paths"]["/api/me"]["get"]["responses"]["200"]))

    # when
    body = client_for(owner).get("/api/me").json()

    # then
    assert body["email"] == email
    jsonschema.validate(body["email"], me["properties"]["email"], format_checker=jsonschema.FormatChecker())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("not-an-address", me["properties"]["email"], format_checker=jsonschema.FormatChecker())


def test_file_contents_are_documented_with_any_content_type(schema):
    path = "/api/jobs/{job_pk}/actions/{action_pk}/attachments/{id}/action-attachment-file-contents"
    assert set(schema["paths"][path]["get"]["responses"]["200"]["content"]) == {"*/*"}


def test_filters_are_typed_as_the_api_reads_them(schema):
    jobs = schema["paths"]["/api/jobs"]["get"]
    assert _parameter(jobs, "enabled")["schema"] == {"type": "boolean"}
    assert _parameter(jobs, "ownerId")["schema"] == {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
    history = schema["paths"]["/api/jobs/{job_pk}/history"]["get"]
    assert _parameter(history, "success")["schema"] == {"type": "boolean"}
