"""The serializer plumbing every endpoint shares: camelCase names, unknown keys, field hooks."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.http import QueryDict
from rest_framework import serializers

from informer.api.serializers import ApiQuerySerializer, ApiSerializer, camel, snake
from jobs.models import JobAction


@pytest.mark.parametrize(
    ("snake_name", "camel_name"),
    [("name", "name"), ("next_run_at", "nextRunAt"), ("_links", "_links"), ("dst_policy", "dstPolicy")],
)
def test_camel_and_snake_round_trip(snake_name, camel_name):
    assert camel(snake_name) == camel_name
    assert snake(camel_name) == snake_name


class Body(ApiSerializer):
    run_condition = serializers.JSONField(required=False)
    max_attempts = serializers.IntegerField(required=False)
    read_only_thing = serializers.CharField(read_only=True)

    def validate_run_condition(self, value: Any) -> Any:
        if value == "bad":
            raise serializers.ValidationError("is bad.")
        return {"checked": value}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return attrs


def test_fields_are_exposed_in_camel_case_with_snake_sources():
    body = Body(data={"runCondition": 1, "maxAttempts": 2})

    assert body.is_valid(), body.errors
    assert set(body.fields) == {"runCondition", "maxAttempts", "readOnlyThing"}
    assert body.validated_data == {"run_condition": {"checked": 1}, "max_attempts": 2}


def test_snake_case_field_hooks_run_for_camel_case_fields():
    body = Body(data={"runCondition": "bad"})

    assert not body.is_valid()
    assert body.errors == {"runCondition": ["is bad."]}


@pytest.mark.parametrize(
    ("data", "unknown"),
    [({"bogus": 1}, ["bogus"]), ({"run_condition": 1}, ["run_condition"]), ({"a": 1, "b": 2}, ["a", "b"])],
)
def test_unknown_keys_are_rejected_by_name(data, unknown):
    body = Body(data=data)

    assert not body.is_valid()
    assert sorted(body.errors) == unknown
    assert body.errors[unknown[0]] == [f"Unknown field '{unknown[0]}'."]


def test_read_only_and_hal_keys_are_ignored():
    body = Body(data={"readOnlyThing": "x", "_links": {"self": {}}, "_embedded": {}, "maxAttempts": 1})

    assert body.is_valid(), body.errors
    assert body.validated_data == {"max_attempts": 1}


def test_missing_attributes_still_raise_attribute_error():
    body = Body()

    with pytest.raises(AttributeError):
        body.validate_nothing_here  # noqa: B018
    with pytest.raises(AttributeError):
        body.validate_nothingHere  # noqa: B018
    with pytest.raises(AttributeError):
        body.whatever  # noqa: B018


@pytest.mark.parametrize("condition", [{"bogus": 1}, {"status": "sometimes"}, "success", [{"status": "any"}]])
def test_an_action_with_an_invalid_run_condition_is_a_400(roles, db_state, condition):
    # given
    before = db_state()
    body = {
        "type": "email",
        "name": "Notify",
        "data": {"to": "ops@example.com", "subject": "s", "body": "b"},
        "runCondition": condition,
    }

    # when
    response = roles.clients["owner"].post(f"/api/jobs/{roles.job.pk}/actions", body, format="json")

    # then
    assert response.status_code == 400, response.content
    assert {key.split(".")[0] for key in response.json()["details"]} == {"runCondition"}
    assert not JobAction.objects.exists()
    assert db_state() == before


# --- Strict JSON types ----------------------------------------------------------------------------------


class Typed(ApiSerializer):
    """One field of each kind, as JSON bodies carry them."""

    name = serializers.CharField(required=False)
    enabled = serializers.BooleanField(required=False)
    level = serializers.IntegerField(required=False)
    ratio = serializers.FloatField(required=False)
    amount = serializers.DecimalField(required=False, max_digits=6, decimal_places=2)
    kind = serializers.ChoiceField(choices=["cron", "simple"], required=False)
    access = serializers.ChoiceField(choices=[(0, "none"), (1, "view")], required=False)
    key = serializers.UUIDField(required=False)
    at = serializers.DateTimeField(required=False)
    day = serializers.DateField(required=False)
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    counts = serializers.DictField(child=serializers.IntegerField(), required=False)
    flags = serializers.MultipleChoiceField(choices=["a", "b"], required=False)
    anything = serializers.JSONField(required=False)
    maybe = serializers.CharField(required=False, allow_null=True)


# (field, the value a JSON body sends, the exact message)
WRONG_TYPES: list[tuple[str, Any, list[str] | dict[Any, list[str]]]] = [
    ("name", 123, ["Must be a string, not a number (123)."]),
    ("name", 1.5, ["Must be a string, not a number (1.5)."]),
    ("name", True, ["Must be a string, not a boolean (true)."]),
    ("name", ["a"], ['Must be a string, not a list (["a"]).']),
    ("enabled", "yes", ['Must be true or false, not a string ("yes").']),
    ("enabled", "true", ['Must be true or false, not a string ("true").']),
    ("enabled", 1, ["Must be true or false, not a number (1)."]),
    ("enabled", 0, ["Must be true or false, not a number (0)."]),
    ("level", "3", ['Must be a whole number, not a string ("3").']),
    ("level", True, ["Must be a whole number, not a boolean (true)."]),
    ("level", 3.5, ["Must be a whole number, not 3.5."]),
    ("level", float("inf"), ["Must be a whole number, not Infinity."]),
    ("level", {}, ["Must be a whole number, not an object ({})."]),
    ("ratio", "0.5", ['Must be a number, not a string ("0.5").']),
    ("ratio", False, ["Must be a number, not a boolean (false)."]),
    ("amount", "1.25", ['Must be a number, not a string ("1.25").']),
    ("kind", 1, ["Must be a string, not a number (1)."]),
    ("kind", True, ["Must be a string, not a boolean (true)."]),
    ("access", "1", ['Must be a whole number, not a string ("1").']),
    ("access", True, ["Must be a whole number, not a boolean (true)."]),
    ("key", 1, ["Must be a string, not a number (1)."]),
    ("at", 1767225600, ["Must be a string, not a number (1767225600)."]),
    ("day", 20260101, ["Must be a string, not a number (20260101)."]),
    ("tags", ["ok", 2], {1: ["Must be a string, not a number (2)."]}),
    ("counts", {"a": 1, "b": "2"}, {"b": ['Must be a whole number, not a string ("2").']}),
    ("flags", ["a", 1], {1: ["Must be a string, not a number (1)."]}),
]


@pytest.mark.parametrize(("field", "value", "errors"), WRONG_TYPES)
def test_a_json_value_of_the_wrong_type_is_refused_not_coerced(field, value, errors):
    body = Typed(data={field: value})

    assert not body.is_valid()
    assert body.errors == {field: errors}


# (field, a value of the right JSON type, what it becomes)
RIGHT_TYPES: list[tuple[str, Any, Any]] = [
    ("name", "123", "123"),
    ("enabled", False, False),
    ("level", 3, 3),
    ("level", 3.0, 3),  # JSON does not tell 3 from 3.0
    ("ratio", 1, 1.0),
    ("amount", 1.25, Decimal("1.25")),
    ("kind", "cron", "cron"),
    ("access", 1, 1),
    ("key", "6f1c7a3e-58a2-4f0e-9d34-0c8f1f0b1c2d", uuid.UUID("6f1c7a3e-58a2-4f0e-9d34-0c8f1f0b1c2d")),
    ("day", "2026-01-01", date(2026, 1, 1)),
    ("tags", ["a", "b"], ["a", "b"]),
    ("counts", {"a": 1}, {"a": 1}),
    ("flags", ["a"], ["a"]),
    ("anything", ["x", 1, True, None, {"y": 2.5}], ["x", 1, True, None, {"y": 2.5}]),
    ("maybe", None, None),
]


@pytest.mark.parametrize(("field", "value", "expected"), RIGHT_TYPES)
def test_a_json_value_of_the_right_type_is_accepted(field, value, expected):
    body = Typed(data={field: value})

    assert body.is_valid(), body.errors
    assert body.validated_data == {field: expected}


def test_every_wrong_value_is_named_at_once():
    body = Typed(data={"name": 1, "enabled": "no", "level": "2"})

    assert not body.is_valid()
    assert set(body.errors) == {"name", "enabled", "level"}


def test_python_values_the_admin_forms_pass_are_not_refused():
    # the admin validates cleaned form values (datetimes, Decimals) with the API's serializers
    body = Typed(data={"at": datetime(2026, 1, 1, tzinfo=UTC), "day": date(2026, 1, 1), "amount": Decimal("2.50")})

    assert body.is_valid(), body.errors


def test_a_form_body_is_text_and_read_as_drf_reads_it():
    body = Typed(data=QueryDict("name=123&enabled=true&level=3"))

    assert body.is_valid(), body.errors
    assert body.validated_data == {"name": "123", "enabled": True, "level": 3}


class Query(ApiQuerySerializer):
    count = serializers.IntegerField(required=False)
    ratio = serializers.FloatField(required=False)
    detail = serializers.BooleanField(required=False)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"count": "10"}, {"count": 10}),
        ({"count": "-2"}, {"count": -2}),
        ({"ratio": "0.5"}, {"ratio": 0.5}),
        ({"ratio": "1e3"}, {"ratio": 1000.0}),
        ({"detail": "true"}, {"detail": True}),
    ],
)
def test_query_parameters_are_text(data, expected):
    query = Query(data=data)

    assert query.is_valid(), query.errors
    assert query.validated_data == expected


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"count": "\u0661"}, {"count": ["'\u0661' is not a whole number."]}),
        ({"count": "\uff11\uff10"}, {"count": ["'\uff11\uff10' is not a whole number."]}),
        ({"count": " 1"}, {"count": ["' 1' is not a whole number."]}),
        ({"count": "1_000"}, {"count": ["'1_000' is not a whole number."]}),
        ({"ratio": "\u0661.5"}, {"ratio": ["'\u0661.5' is not a number."]}),
    ],
)
def test_query_numbers_are_ascii_digits(data, errors):
    # int() and float() read any Unicode digit
    query = Query(data=data)

    assert not query.is_valid()
    assert query.errors == errors


def test_form_body_numbers_are_ascii_digits():
    body = Typed(data=QueryDict("level=%D9%A1"))

    assert not body.is_valid()
    assert body.errors == {"level": ["'\u0661' is not a whole number."]}
