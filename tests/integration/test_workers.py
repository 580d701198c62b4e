"""Real ``manage.py qcluster`` workers: run now end to end, lost and hung workers, limits, shutdown.

Stopping a cluster whichever way (its main process, its process group; busy or idle) is in test_stopping.py.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest

from runs.models import FINAL_STATUSES, Run, RunStatus, Trigger
from tests.conftest import client_for
from tests.factories import JobFactory, TenantFactory, UserFactory
from tests.integration.conftest import WORKER_TIMEOUT, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LOST = "The worker stopped responding: no heartbeat for"


def slow_job(owner: Any, server: Any, seconds: float, **fields: Any) -> Any:
    """An api-call job whose request takes ``seconds`` (or until the server is released)."""
    return JobFactory(owner=owner, type="api-call", data={"url": server.url(seconds), "timeoutSeconds": 120}, **fields)


def run_now(owner: Any, job: Any) -> Run:
    response = client_for(owner).post(f"/api/jobs/{job.pk}", {"params": {"from": "test"}}, format="json")
    assert response.status_code == 202, response.content
    return Run.objects.get(pk=response.json()["id"])


def status_of(run: Run) -> str:
    return Run.objects.values_list("status", flat=True).get(pk=run.pk)


def running_on_a_worker(run: Run) -> Run:
    """Wait until a worker executes ``run``; returns it with its worker."""
    return wait_for(
        lambda: (
            Run.objects.select_related("worker")
            .filter(pk=run.pk, status=RunStatus.RUNNING, worker__isnull=False)
            .first()
        ),
        timeout=30,
        message="the run is executing on a worker",
    )


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: its exit was not collected yet.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"


def test_run_now_end_to_end(stack, slow_server, owner):
    # given
    cluster = stack.qcluster()
    job = slow_job(owner, slow_server, 1.5)
    client = client_for(owner)
    staff = client_for(UserFactory(is_staff=True))

    # when
    run = run_now(owner, job)

    # then: the record shows the step going, then the result
    path = f"/api/jobs/{job.pk}/history/{run.pk}"
    going = wait_for(
        lambda: (body := client.get(path).json())["status"] == "running" and body["progress"] and body,
        timeout=30,
        message="progress while running",
    )
    assert [(entry["key"], entry["status"]) for entry in going["progress"]] == [("type", "running")]
    done = wait_for(
        lambda: (body := client.get(path).json())["status"] in FINAL_STATUSES and body,
        timeout=30,
        message="the run ended",
    )
    assert (done["status"], done["success"], done["error"], done["trigger"]) == ("succeeded", True, "", "manual")
    assert done["params"] == {"from": "test"}
    assert [(entry["key"], entry["status"]) for entry in done["progress"]] == [("type", "success")]
    assert done["data"]["type"]["response"]["body"] == "ok"
    assert done["workerId"] is not None
    worker = staff.get(f"/api/job-workers/{done['workerId']}").json()
    assert (worker["alive"], worker["cluster"], worker["runningRuns"]) == (True, stack.cluster, 0)
    assert worker["pid"] != cluster.pid  # a worker process of the cluster, not its main process
    listed = staff.get("/api/job-workers").json()["_embedded"]["inf:job-worker"]
    assert done["workerId"] in [item["id"] for item in listed if item["alive"]]


def test_a_killed_worker_loses_its_run_which_is_retried(stack, slow_server, owner):
    # given
    stack.scheduler()
    stack.qcluster()
    run = run_now(owner, slow_job(owner, slow_server, 30, max_attempts=2))
    pid = running_on_a_worker(run).worker.pid

    # when
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()

    # then
    failed = wait_for(
        lambda: Run.objects.filter(pk=run.pk, status=RunStatus.FAILED).first(),
        timeout=WORKER_TIMEOUT + 6,
        message="the reaper failed the run",
    )
    assert time.monotonic() - killed_at <= WORKER_TIMEOUT + 4
    assert failed.error.startswith(LOST)
    assert failed.lease_token is None
    retry = Run.objects.get(retry_of=run)
    assert (retry.attempt, retry.trigger, retry.params) == (2, Trigger.RETRY, {"from": "test"})
    assert not Run.objects.filter(pk=run.pk, status=RunStatus.RUNNING).exists()


def test_a_hung_worker_that_wakes_up_changes_nothing(stack, slow_server, owner):
    # given
    stack.scheduler()
    cluster = stack.qcluster()
    run = run_now(owner, slow_job(owner, slow_server, 30, max_attempts=2))
    pid = running_on_a_worker(run).worker.pid

    # when: the worker freezes past the timeout, is reaped, then resumes and its request completes
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(
            lambda: status_of(run) == RunStatus.FAILED, timeout=WORKER_TIMEOUT + 6, message="the reaper failed the run"
        )
        reaped = Run.objects.filter(pk=run.pk).values().get()
    finally:
        os.kill(pid, signal.SIGCONT)
    slow_server.release()
    wait_for(
        lambda: f"(run-{run.pk})" in cluster.output(),
        timeout=20,
        message="the resumed worker finished its task",
    )

    # then
    assert reaped["error"].startswith(LOST)
    assert Run.objects.filter(pk=run.pk).values().get() == reaped  # its late writes were rejected
    assert Run.objects.filter(retry_of=run, attempt=2).count() == 1


def test_a_tenant_limit_holds_under_a_burst(stack, slow_server):
    # given
    owner = UserFactory(tenant=TenantFactory(slug="narrow", max_concurrent_jobs=1))
    jobs = [slow_job(owner, slow_server, 1.5) for _ in range(4)]
    stack.scheduler()
    stack.qcluster()

    # when
    runs = [run_now(owner, job) for job in jobs]
    most_running = 0

    def all_final() -> bool:
        nonlocal most_running
        statuses = list(Run.objects.values_list("status", flat=True))
        most_running = max(most_running, statuses.count(RunStatus.RUNNING))
        return all(status in FINAL_STATUSES for status in statuses)

    wait_for(all_final, timeout=60, message="all four runs ended", interval=0.05)

    # then
    assert most_running == 1
    assert slow_server.most_in_flight == 1
    assert [status_of(run) for run in runs] == [RunStatus.SUCCEEDED] * 4


def test_sigterm_lets_the_running_run_finish(stack, slow_server, owner):
    # given
    scheduler = stack.scheduler()
    cluster = stack.qcluster()
    run = run_now(owner, slow_job(owner, slow_server, 1.5))
    running_on_a_worker(run)

    # when
    scheduler.popen.send_signal(signal.SIGTERM)
    cluster.popen.send_signal(signal.SIGTERM)

    # then: the cluster stops taking tasks but lets the one under way end within its grace period
    assert scheduler.popen.wait(10) == 0
    assert "Scheduler stopped." in scheduler.output()
    assert cluster.popen.wait(10) == 0
    assert status_of(run) == RunStatus.SUCCEEDED
    assert not Run.objects.filter(status=RunStatus.RUNNING).exists()
