"""Driver data errors in the API's words: each names the path of the value it is about, in JSON's terms."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.drivers.registry import action_driver, job_driver
from jobs.drivers.schema_errors import schema_errors

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["url", "name"],
    "properties": {
        "url": {"type": "string", "pattern": "^https?://"},
        "name": {"type": "string", "minLength": 1, "maxLength": 5},
        "codes": {"type": "array", "items": {"type": "integer", "minimum": 100, "maximum": 599}, "uniqueItems": True},
        "tags": {"type": "array", "minItems": 2, "maxItems": 3},
        "mode": {"enum": ["a", "b"]},
        "ratio": {"type": "number", "exclusiveMinimum": 0},
        "id": {"type": "string", "format": "uuid"},
        "fixed": {"const": 1},
        "flag": {"type": ["boolean", "null"]},
        "to": {"oneOf": [{"type": "string", "minLength": 1}, {"type": "array", "items": {"type": "string"}}]},
    },
}
BASE = {"url": "https://example.com", "name": "n"}

CASES: list[tuple[str, Any, list[str]]] = [
    ("valid", BASE, []),
    ("not an object", [1], ["data: must be an object, not an array."]),
    ("missing properties, each on its own path", {}, ["data.url: is required.", "data.name: is required."]),
    (
        "unknown properties, each on its own path",
        {**BASE, "colour": 1, "size": 2},
        [
            "data.colour: is not a known property; the known properties are: url, name, codes, tags, mode, ratio, id, "
            "fixed, flag, to.",
            "data.size: is not a known property; the known properties are: url, name, codes, tags, mode, ratio, id, "
            "fixed, flag, to.",
        ],
    ),
    ("wrong type", {**BASE, "url": 5}, ["data.url: must be a string, not an integer."]),
    ("true is not an integer", {**BASE, "codes": [True]}, ["data.codes[0]: must be an integer, not true or false."]),
    ("one of two types", {**BASE, "flag": "yes"}, ["data.flag: must be true or false or null, not a string."]),
    ("pattern", {**BASE, "url": "ftp://x"}, ['data.url: "ftp://x" does not match the pattern ^https?://.']),
    ("empty", {**BASE, "name": ""}, ["data.name: must not be empty."]),
    ("too long", {**BASE, "name": "abcdef"}, ["data.name: must be at most 5 characters long."]),
    ("below the minimum", {**BASE, "codes": [99]}, ["data.codes[0]: must be at least 100, not 99."]),
    ("above the maximum", {**BASE, "codes": [600]}, ["data.codes[0]: must be at most 599, not 600."]),
    ("not above the bound", {**BASE, "ratio": 0}, ["data.ratio: must be greater than 0, not 0."]),
    ("repeated items", {**BASE, "codes": [200, 200]}, ["data.codes: must not list the same item twice."]),
    ("too few items", {**BASE, "tags": [1]}, ["data.tags: must have at least 2 items."]),
    ("too many items", {**BASE, "tags": [1, 2, 3, 4]}, ["data.tags: must have at most 3 items."]),
    ("not a choice", {**BASE, "mode": "c"}, ['data.mode: "c" is not one of: "a", "b".']),
    ("format", {**BASE, "id": "nope"}, ['data.id: "nope" is not a valid uuid.']),
    ("const", {**BASE, "fixed": 2}, ["data.fixed: must be 1."]),
    ("a branch of its type", {**BASE, "to": ""}, ["data.to: must not be empty."]),
    ("an item of the list branch", {**BASE, "to": [1]}, ["data.to[0]: must be a string, not an integer."]),
    ("no branch of its type", {**BASE, "to": 5}, ["data.to: must be a string or an array, not an integer."]),
]


@pytest.mark.parametrize(("data", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_schema_errors(data: Any, expected: list[str]) -> None:
    assert schema_errors(SCHEMA, data) == expected


def test_one_of_several_required_properties() -> None:
    # snapshot-cleanup needs keep or maxAgeDays besides its datasets
    errors = job_driver("snapshot-cleanup").validation_errors({"datasets": ["sales"]})

    assert errors == ["data: needs one of: keep, maxAgeDays."]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"method": "POST"}, ["data.url: is required."]),
        (
            {"url": "https://example.com", "method": "FETCH"},
            ['data.method: "FETCH" is not one of: "GET", "POST", "PUT", "PATCH", "DELETE".'],
        ),
    ],
)
def test_drivers_speak_json_not_python(data: dict[str, Any], expected: list[str]) -> None:
    errors = action_driver("webhook").validation_errors(data)

    assert errors == expected
    assert not any("'" in error or "property" in error.split(":", 1)[1] for error in errors)
