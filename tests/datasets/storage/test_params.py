"""Declared parameters bound to the values a refresh or run is given (pure, no database)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from datasets.services.refresh import bind_params
from informer.api.exceptions import DomainError

DECLARED = [
    {"name": "region", "type": "string", "default": "West", "required": False},
    {"name": "minimum", "type": "integer", "default": None, "required": True},
    {"name": "ratio", "type": "number", "default": 0.5, "required": False},
    {"name": "active", "type": "boolean", "default": None, "required": False},
    {"name": "since", "type": "date", "default": "2024-01-01", "required": False},
    {"name": "until", "type": "datetime", "default": None, "required": False},
]


@pytest.mark.parametrize(
    ("given", "bound"),
    [
        (
            {"minimum": 5},
            {
                "region": "West",
                "minimum": 5,
                "ratio": 0.5,
                "active": None,
                "since": dt.date(2024, 1, 1),
                "until": None,
            },
        ),
        (
            # as `--param k=v` gives them: text
            {
                "region": "East",
                "minimum": "-12",
                "ratio": "2",
                "active": "yes",
                "since": "2023-12-31",
                "until": "2024-03-01T10:00:00+02:00",
            },
            {
                "region": "East",
                "minimum": -12,
                "ratio": 2,
                "active": True,
                "since": dt.date(2023, 12, 31),
                "until": dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC),
            },
        ),
        (
            {"minimum": 3.0, "ratio": 1.25, "active": False, "until": "2024-03-01T10:00:00"},
            {
                "region": "West",
                "minimum": 3,
                "ratio": 1.25,
                "active": False,
                "since": dt.date(2024, 1, 1),
                "until": dt.datetime(2024, 3, 1, 10, tzinfo=dt.UTC),
            },
        ),
    ],
)
def test_bind_params_coerces_and_applies_defaults(given: dict[str, Any], bound: dict[str, Any]) -> None:
    assert bind_params(DECLARED, given) == bound


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        (
            {"minimum": 1, "other": 2},
            "params.other",
            "params.other: is not a parameter of this dataset; its parameters are: region, minimum, ratio, active, "
            "since, until.",
        ),
        ({}, "params.minimum", "params.minimum: is required."),
        ({"minimum": None}, "params.minimum", "params.minimum: is required."),
        ({"minimum": "many"}, "params.minimum", "params.minimum: must be an integer, not 'many'."),
        ({"minimum": 1.5}, "params.minimum", "params.minimum: must be an integer, not a number."),
        ({"minimum": True}, "params.minimum", "params.minimum: must be an integer, not a boolean."),
        ({"minimum": 1, "ratio": "half"}, "params.ratio", "params.ratio: must be a number, not 'half'."),
        ({"minimum": 1, "region": 7}, "params.region", "params.region: must be a string, not a number."),
        (
            {"minimum": 1, "active": "maybe"},
            "params.active",
            "params.active: must be a boolean (true or false), not 'maybe'.",
        ),
        (
            {"minimum": 1, "since": "31/01/2024"},
            "params.since",
            "params.since: must be a date in ISO 8601 (2024-01-31), not '31/01/2024'.",
        ),
        (
            {"minimum": 1, "until": ["x"]},
            "params.until",
            "params.until: must be a datetime in ISO 8601 (2024-01-31T08:00:00Z), not a list.",
        ),
    ],
)
def test_bind_params_refuses_naming_the_parameter(given: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(DomainError) as raised:
        bind_params(DECLARED, given)

    assert raised.value.message == message
    assert raised.value.details == {field: [message]}


def test_bind_params_needs_an_object() -> None:
    with pytest.raises(DomainError) as raised:
        bind_params([], ["a"])  # type: ignore[arg-type]

    assert raised.value.details == {"params": ["params: must be a JSON object of parameter values."]}


def test_bind_params_without_declarations() -> None:
    assert bind_params([], None) == {}
