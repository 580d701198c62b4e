"""The serializer plumbing every endpoint shares: camelCase names, unknown keys, field hooks."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from informer.api.serializers import ApiSerializer, camel, snake
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
