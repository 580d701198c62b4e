"""django-q2's own limits never contradict ours: our tables keep results, our attempt counter retries."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator
from django_q.models import Failure, OrmQ, Success, Task

from jobs.models import Job
from runs import services
from tests.factories import JobFactory


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
