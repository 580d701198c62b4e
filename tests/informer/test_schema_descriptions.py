"""/api/docs reads plainly: descriptions carry no § references to the contract and no reStructuredText."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from rest_framework.test import APIClient

from informer.api.schema import clean_description

LEAKS = re.compile(r"§|``|:param\b|:(?:class|func|meth|attr|mod|ref):`")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    # Built once per module: the schema is public and generating it reads no data.
    response = APIClient().get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def texts(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every description and summary in the schema, with where it is."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("description", "summary") and isinstance(value, str):
                yield f"{path}/{key}", value
            else:
                yield from texts(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from texts(value, f"{path}[{index}]")


def test_no_description_leaks_section_references_or_rst(schema: dict[str, Any]) -> None:
    found = list(texts(schema))

    assert len(found) > 100  # the walk does reach the operations and components
    assert [(where, text) for where, text in found if LEAKS.search(text)] == []


def test_no_description_just_repeats_its_path(schema: dict[str, Any]) -> None:
    # "`GET /api/me`: who…" or "`/api/jobs` and `/api/jobs/{id}`.": the docs show the path right above
    echo = re.compile(r"`[^`]*/[^`]*`(?:\s*(?:,|and)\s*`[^`]*/[^`]*`)*[.:]")
    for path, item in schema["paths"].items():
        for operation in item.values():
            if isinstance(operation, dict):
                assert not echo.match(operation.get("description", "")), path


def test_what_the_docstrings_said_survives(schema: dict[str, Any]) -> None:
    actions = schema["paths"]["/api/jobs/{job_pk}/actions"]["get"]["description"]
    me = schema["paths"]["/api/me"]["get"]["description"]

    assert actions.startswith("The list follows the API's conventions (`q` over the name, `sort`, `limit`, `start`)")
    assert me == "Who the caller is."


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("One history record (§6); credentials are redacted.", "One history record; credentials are redacted."),
        ("Run now (SPEC §6.2).", "Run now."),
        ("The list follows §2's conventions.", "The list follows the API's conventions."),
        ("SPEC §2: bodies are JSON.", "bodies are JSON."),
        ("As §5 says, it fires.", "As says, it fires."),
        ("The ``data`` object.", "The `data` object."),
        (
            "See :class:`JobSerializer` and :py:func:`~jobs.services.job_create`.",
            "See `JobSerializer` and `jobs.services.job_create`.",
        ),
        (
            "Send it.\n\n:param url: where to.\n:type url: str\n:returns: nothing",
            "Send it.\n\n`url`: where to.\nReturns: nothing",
        ),
        (".. note:: staff only.", "Note: staff only."),
        ("The `docs <https://example.com>`_.", "The [docs](https://example.com)."),
        ("``GET /api/me``: who the caller is.", "Who the caller is."),
        ("``/api/jobs`` and ``/api/jobs/{id}``.", ""),
        ("``/api/jobs/{id}/history``.\n\nRuns of a job.", "Runs of a job."),
        ("Reads ``/api/jobs``: the list.", "Reads `/api/jobs`: the list."),
        ("Plain text stays as it is.", "Plain text stays as it is."),
    ],
)
def test_clean_description(text: str, clean: str) -> None:
    assert clean_description(text) == clean
