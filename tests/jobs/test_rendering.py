"""Template errors say what job templates can do: no ``{% load %}``, no files, Django's built-in tags and filters."""

from __future__ import annotations

from typing import Any

import pytest

from jobs.drivers.base import RunContext, StepFailed
from jobs.models import JobAction
from jobs.rendering import available_filters, available_tags, check_template, render
from tests.conftest import client_for
from tests.factories import JobFactory


def test_load_is_not_available_and_the_message_says_what_is() -> None:
    problem = check_template("Hello\n{% load static %}{% static 'logo.png' %}")

    assert problem is not None
    assert problem.startswith("{% load %} is not available in job templates (line 2): ")
    assert "Must be one of" not in problem and "registered tag library" not in problem
    assert f"Tags: {', '.join(available_tags())}; filters: {', '.join(available_filters())}." in problem


def test_the_available_tags_and_filters_are_the_built_in_ones_less_files() -> None:
    assert {"if", "for", "with", "now", "autoescape"} <= set(available_tags())
    assert not {"load", "include", "extends"} & set(available_tags())
    assert {"date", "default", "join", "upper", "floatformat"} <= set(available_filters())


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ('{% include "header.html" %}', "{% include %} is not available in job templates (line 1): "),
        ('\n\n{% extends "base.html" %}', "{% extends %} is not available in job templates (line 3): "),
        ("{% if x %}{% include 'a' %}{% endif %}", "{% include %} is not available in job templates (line 1): "),
    ],
)
def test_include_and_extends_are_refused_when_saved_not_when_run(source: str, problem: str) -> None:
    assert (check_template(source) or "").startswith(problem)


@pytest.mark.parametrize(
    ("source", "starts", "lists"),
    [
        ("{% static 'x' %}", "Invalid block tag on line 1: 'static'. ", "Job templates can use these tags: "),
        ("{% if a %}{% url2 %}{% endif %}", "Invalid block tag on line 1: 'url2', expected", "these tags: "),
        ("{{ when|nosuchfilter }}", "Invalid filter: 'nosuchfilter'. ", "Job templates can use these filters: "),
    ],
)
def test_unknown_tags_and_filters_list_what_there_is(source: str, starts: str, lists: str) -> None:
    problem = check_template(source) or ""

    assert problem.startswith(starts)
    assert lists in problem
    assert "load this tag" not in problem


@pytest.mark.parametrize(
    "source",
    [
        "Report for {{ job.name|upper }} on {{ run.startedAt|default:'now' }}",
        "{% verbatim %}{% load static %}{% endverbatim %}",
        "{% comment %}{% include 'a' %}{% endcomment %}",
        "{% for row in params.rows %}{{ row }}{% empty %}none{% endfor %}",
    ],
)
def test_valid_templates_pass(source: str) -> None:
    assert check_template(source) is None


def test_a_template_error_fails_the_step_naming_the_field() -> None:
    context = RunContext(run_id="r", job={"name": "Nightly"}, params={}, results={})

    with pytest.raises(StepFailed) as info:
        render("{% load humanize %}", context, what="subject")

    assert info.value.message.startswith("The subject is not a valid template: {% load %} is not available")


@pytest.mark.parametrize("field", ["subject", "body"])
def test_the_api_names_the_field_whose_template_loads(owner: Any, db_state: Any, field: str) -> None:
    # given
    job = JobFactory(owner=owner)
    data = {"to": "ops@example.com", "subject": "Report", "body": "Hi", field: "{% load static %}Hi"}
    before = db_state()

    # when
    response = client_for(owner).post(
        f"/api/jobs/{job.pk}/actions", {"type": "email", "name": "Mail", "data": data}, format="json"
    )

    # then
    assert response.status_code == 400, response.content
    body = response.json()
    assert list(body["details"]) == ["data"]
    assert body["message"].startswith(
        f"data.{field}: not a valid template: {{% load %}} is not available in job templates (line 1)"
    )
    assert "Must be one of" not in body["message"]
    assert JobAction.objects.count() == 0
    assert db_state() == before
