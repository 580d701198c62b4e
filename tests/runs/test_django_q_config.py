"""django-q2's own limits never contradict ours: our tables keep results, our attempt counter retries.

And the redelivery of runs lost with a broker or a dead cluster waits ``INFORMER_REDELIVER_AFTER``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils import timezone
from django_q.models import Failure, OrmQ, Success, Task

from jobs.models import Job
from runs import services
from runs.models import Run, Trigger
from tests.factories import JobFactory

ROOT = Path(__file__).resolve().parents[2]


def longest_job_timeout() -> int:
    validators = Job._meta.get_field("timeout_seconds").validators
    return max(v.limit_value for v in validators if isinstance(v, MaxValueValidator))


def test_the_cluster_configuration_leaves_retries_and_timeouts_to_us():
    # given
    cluster = settings.Q_CLUSTER

    # then
    assert longest_job_timeout() == 7 * 86400
    assert cluster["max_attempts"] == 1  # retries are ours (maxAttempts, backoff, permanence)
    assert cluster["timeout"] >= longest_job_timeout()  # django-q2 never kills a run we let go on
    assert cluster["retry"] > cluster["timeout"]  # a running task is never handed out again
    assert cluster["save_limit"] == -1  # no success rows: the run history holds the results
    assert cluster["ack_failures"] is True


def test_an_executed_run_leaves_no_task_rows(db, django_capture_on_commit_callbacks):
    # given
    job = JobFactory()

    # when: enqueued through django-q2 (inline in unit tests) once the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        run = services.run_create_manual(job=job)

    # then
    run.refresh_from_db()
    assert run.status == "succeeded"
    rows = {model.__name__: model.objects.count() for model in (Success, Task, Failure, OrmQ)}
    assert rows == {"Success": 0, "Task": 0, "Failure": 0, "OrmQ": 0}


# ------------------------------------------------------------------------------- redelivery


def redeliver_after_from(tmp_path: Path, value: str | None) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh process with ``INFORMER_REDELIVER_AFTER`` set to ``value`` (or unset)."""
    env = {key: item for key, item in os.environ.items() if key != "INFORMER_REDELIVER_AFTER"}
    env.update(INFORMER_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    if value is not None:
        env["INFORMER_REDELIVER_AFTER"] = value
    probe = "import informer.settings as s; print(s.INFORMER_REDELIVER_AFTER)"
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize(("value", "expected"), [(None, 10), ("", 10), ("1", 1), ("45", 45), ("3600", 3600)])
def test_the_redelivery_wait_is_read_from_the_environment(tmp_path, value, expected):
    result = redeliver_after_from(tmp_path, value)

    assert (result.returncode, result.stdout.strip()) == (0, str(expected)), result.stderr


@pytest.mark.parametrize("value", ["0", "-5", "3601", "ten", "1.5"])
def test_a_redelivery_wait_out_of_bounds_refuses_to_start(tmp_path, value):
    result = redeliver_after_from(tmp_path, value)

    assert result.returncode != 0
    assert "ImproperlyConfigured: INFORMER_REDELIVER_AFTER must be" in result.stderr


def enqueued_ago(seconds: float) -> Run:
    job = JobFactory()
    enqueued_at = timezone.now() - timedelta(seconds=seconds)
    return Run.objects.create(job=job, tenant=job.tenant, trigger=Trigger.MANUAL, enqueued_at=enqueued_at)


@pytest.mark.parametrize(("wait", "ago", "sent_again"), [(10, 8, False), (10, 12, True), (2, 3, True), (60, 30, False)])
def test_the_dispatcher_sends_a_lost_run_again_after_the_configured_wait(
    db, settings, monkeypatch, wait, ago, sent_again
):
    # given: the broker holds nothing, and the run was enqueued ``ago`` seconds ago
    settings.INFORMER_REDELIVER_AFTER = wait
    sent: list[list] = []
    monkeypatch.setattr(services, "run_enqueue", lambda ids, **options: sent.append(list(ids)))
    monkeypatch.setattr(services, "_broker_idle", lambda: True)
    run = enqueued_ago(ago)

    # when
    count = services.runs_dispatch()

    # then
    assert (count, sent) == ((1, [[run.pk]]) if sent_again else (0, []))
