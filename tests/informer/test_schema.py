"""The OpenAPI schema describes every endpoint, the envelopes and the error shape, and validates."""

from __future__ import annotations

import re

import pytest
import yaml
from django.urls import get_resolver
from openapi_spec_validator import validate

from tests.conftest import client_for


@pytest.fixture
def schema(owner):
    response = client_for(owner).get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi")
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
