"""Request bodies nested too deeply or holding lone surrogates (§2): a 400 in the error shape, never a 500."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.test import APIClient

from informer.api.parsers import JsonLoneSurrogate, JSONParser, JsonTooDeep, json_depth, loads
from jobs.models import Job, JobAction
from tests.conftest import client_for

DEPTH_MESSAGE = "The JSON body is nested more than 64 levels deep."


def nested(depth: int, leaf: Any = 1) -> Any:
    """``depth`` levels of alternating objects and arrays around ``leaf`` (the top level is an object)."""
    value = leaf
    for level in range(depth):
        value = {"a": value} if (depth - level) % 2 else [value]
    return value


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ("1", 0),
        ('"[[[[{{{{"', 0),
        ("[]", 1),
        ('{"a": [1, {"b": []}]}', 4),
        ('["\\"[[[", ["\\\\"], "]"]', 2),  # escaped quotes and backslashes do not end a string early
        ("[[1], [[2]], [3]]", 3),
        (json.dumps(nested(64)), 64),
        ("[" * 1000 + "]" * 1000, 1000),
        ("[" * 1000, 1000),  # malformed, but measured before the decoder sees it
    ],
)
def test_json_depth(text, depth):
    assert json_depth(text) == depth


def test_json_depth_stops_counting_past_the_limit():
    assert json_depth("[" * 100_000, 64) == 65


def test_loads_refuses_past_the_limit_and_decodes_up_to_it():
    assert loads(json.dumps(nested(64))) == nested(64)
    with pytest.raises(JsonTooDeep) as caught:
        loads(json.dumps(nested(65)))
    assert str(caught.value) == "The JSON is nested more than 64 levels deep."
    with pytest.raises(ValueError):
        loads("NaN")  # strict, as DRF's parser is


def test_the_parser_refuses_a_deep_body_and_parses_the_rest():
    parser = JSONParser()
    assert parser.parse(io.BytesIO(json.dumps(nested(64)).encode())) == nested(64)
    with pytest.raises(ParseError) as caught:
        parser.parse(io.BytesIO(b"[" * 100_000 + b"]" * 100_000))
    assert str(caught.value.detail) == DEPTH_MESSAGE
    with pytest.raises(ParseError) as malformed:
        parser.parse(io.BytesIO(b"{bad"))
    assert str(malformed.value.detail).startswith("JSON parse error - ")


def test_the_limit_is_a_setting(owner, settings, db_state):
    # given
    settings.INFORMER_JSON_MAX_DEPTH = 3
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", nested(4), format="json")

    # then
    assert response.status_code == 400
    assert response.json()["message"] == "The JSON body is nested more than 3 levels deep."
    assert db_state() == before


@pytest.mark.parametrize("depth", [65, 1000, 100_000])
def test_a_deep_job_is_refused_and_nothing_is_written(owner, db_state, depth):
    # given
    body = '{"type": "email", "name": "Deep", "data": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"
    before = db_state()

    # when
    response = client_for(owner).post("/api/jobs", body, content_type="application/json")

    # then
    assert response.status_code == 400, response.content
    assert response.json() == {"statusCode": 400, "error": "Bad Request", "message": DEPTH_MESSAGE, "details": {}}
    assert Job.objects.count() == 0
    assert db_state() == before


def test_sixty_four_levels_reach_the_serializer(owner):
    body = {"type": "email", "name": "Deep", "data": nested(63)}

    response = client_for(owner).post("/api/jobs", body, format="json")

    assert response.json()["message"] != DEPTH_MESSAGE


def test_brackets_inside_strings_do_not_count(owner):
    body = {"type": "email", "name": "[" * 150, "interval": "@daily", "description": "{" * 1000 + "]" * 1000}

    response = client_for(owner).post("/api/jobs", body, format="json")

    assert response.status_code == 201, response.content
    assert Job.objects.get().description == "{" * 1000 + "]" * 1000


def test_login_refuses_a_deep_body(db):
    response = APIClient().post("/api/login", "[" * 1000 + "]" * 1000, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["message"] == DEPTH_MESSAGE


# --- form and multipart bodies: a JSONField decodes their text itself ------------------------------------

DEEP_TEXT = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize("form", ["multipart", "urlencoded"])
def test_a_form_field_holding_deep_json_is_a_400_naming_it(job, owner, db_state, form):
    # given
    client = client_for(owner)
    before = db_state()
    job_before = Job.objects.filter(pk=job.pk).values().get()

    # when
    if form == "multipart":
        response = client.put(f"/api/jobs/{job.pk}", {"name": "Changed", "data": DEEP_TEXT}, format="multipart")
    else:
        body = f"name=Changed&data={DEEP_TEXT}"
        response = client.put(f"/api/jobs/{job.pk}", body, content_type="application/x-www-form-urlencoded")

    # then
    message = "The JSON in 'data' is nested more than 64 levels deep."
    assert response.status_code == 400, response.content
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": f"data: {message}",
        "details": {"data": [message]},
    }
    assert Job.objects.filter(pk=job.pk).values().get() == job_before
    assert db_state() == before


def test_a_form_action_with_a_deep_run_condition_is_refused(job, owner, db_state):
    # given
    before = db_state()

    # when
    response = client_for(owner).post(
        f"/api/jobs/{job.pk}/actions",
        {"type": "email", "name": "Notify", "runCondition": "  " + DEEP_TEXT},
        format="multipart",
    )

    # then
    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == ["runCondition"]
    assert JobAction.objects.count() == 0
    assert db_state() == before


def test_form_text_that_is_not_json_is_left_alone(job, owner):
    response = client_for(owner).put(
        f"/api/jobs/{job.pk}", {"description": "a [" + "[" * 100 + " note"}, format="multipart"
    )

    assert response.status_code == 200, response.content
    assert Job.objects.get(pk=job.pk).description == "a [" + "[" * 100 + " note"


# --- lone surrogates: an escape JSON allows that no UTF-8 text can hold ---------------------------------


@pytest.mark.parametrize(
    ("text", "path", "code_point"),
    [
        ('{"a": "\\ud800"}', "a", 0xD800),
        ('{"a": [1, {"b": "x\\uDFFF"}]}', "a[1].b", 0xDFFF),
        ('{"a": {"\\udc00": 1}}', "a", 0xDC00),  # in a key: the object holding it is named
        ('"\\ud83d"', "", 0xD83D),  # half a pair
    ],
)
def test_loads_refuses_a_lone_surrogate_naming_where_it_is(text, path, code_point):
    with pytest.raises(JsonLoneSurrogate) as caught:
        loads(text)
    assert (caught.value.path, caught.value.code_point) == (path, code_point)


def test_loads_keeps_a_pair_and_an_escaped_backslash():
    assert loads('{"a": "\\ud83d\\ude00", "b": "\\\\ud800"}') == {"a": "\U0001f600", "b": "\\ud800"}


def test_a_lone_surrogate_in_a_body_is_a_400_naming_its_field(owner, db_state):
    # given: text in a JSON value, which no string field of a serializer checks
    before = db_state()
    body = '{"type": "email", "name": "Odd", "data": {"subject": "\\ud800"}}'

    # when
    response = client_for(owner).post("/api/jobs", body, content_type="application/json")

    # then
    message = "JSON parse error - U+D800 is a lone surrogate escape, not a character."
    assert response.status_code == 400, response.content
    assert response.json() == {
        "statusCode": 400,
        "error": "Bad Request",
        "message": f"data.subject: {message}",
        "details": {"data.subject": [message]},
    }
    assert Job.objects.count() == 0
    assert db_state() == before
