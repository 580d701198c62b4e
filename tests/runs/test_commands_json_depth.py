"""JSON given to the commands is held to the API's depth limit: a deep value is a CommandError, not a traceback."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from runs.models import Run
from tests.factories import JobFactory

DEEP = "[" * 1000 + "]" * 1000  # Python's decoder recurses once per level: this raised RecursionError
DEEPER = '{"a": ' * 100_000 + "1" + "}" * 100_000
TOO_DEEP = "The JSON is nested more than 64 levels deep."


def command(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.parametrize("deep", [DEEP, DEEPER], ids=["1000 deep", "100000 deep"])
def test_fire_times_refuses_a_deep_dst_policy(deep):
    with pytest.raises(CommandError) as failure:
        command("fire_times", "0 8 * * *", f"--dst-policy={deep}")

    assert str(failure.value) == f"--dst-policy: {TOO_DEEP}"


def test_fire_times_refuses_a_non_finite_number_in_the_dst_policy():
    # The API's decoder: NaN and Infinity are not JSON.
    with pytest.raises(CommandError) as failure:
        command("fire_times", "0 8 * * *", '--dst-policy={"gap": NaN}')

    assert str(failure.value) == """--dst-policy: '{"gap": NaN}' is not valid JSON."""


@pytest.mark.parametrize("deep", [DEEP, DEEPER], ids=["1000 deep", "100000 deep"])
def test_run_job_refuses_a_deep_param_and_queues_nothing(owner, db_state, deep):
    # given
    JobFactory(owner=owner, name="Nightly", slug="nightly")
    before = db_state()

    # when
    with pytest.raises(CommandError) as failure:
        command("run_job", "alpha:nightly", "--inline", "--param", f"rows={deep}")

    # then
    assert str(failure.value) == f"--param 'rows': {TOO_DEEP}"
    assert db_state() == before
    assert not Run.objects.exists()


def test_run_job_params_within_the_limit_are_still_json(owner, settings):
    # given
    settings.INFORMER_JSON_MAX_DEPTH = 2
    job = JobFactory(owner=owner, name="Nightly", slug="nightly")

    # when
    command("run_job", "alpha:nightly", "--inline", "--param", "rows=[[1, 2]]", "--param", "ratio=NaN")

    # then: NaN is not JSON, so it is the text itself
    assert Run.objects.get(job=job).params == {"rows": [[1, 2]], "ratio": "NaN"}
