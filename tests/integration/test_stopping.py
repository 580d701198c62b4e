"""Stopping ``manage.py qcluster``: SIGTERM to its main process or to its whole process group, busy or idle.

Whichever way it is told, the cluster exits within ten seconds: a run that ends within the grace period
finishes; a longer one is released (back to ``queued``, the same attempt, enqueued at once) and another
cluster runs it without waiting for the reaper or the dispatcher.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.core.management import CommandError, call_command
from django_q.brokers import get_broker

from runs.management.commands.qcluster import DEFAULT_GRACE_SECONDS, RELEASE_SECONDS, descendants
from runs.models import Run, RunStatus, Worker
from tests.integration.conftest import Process, wait_for
from tests.integration.test_workers import alive, run_now, running_on_a_worker, slow_job, status_of

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STOP_WITHIN = 10  # seconds, whichever way the cluster is told to stop
WAYS = ["main process", "process group"]
# Nothing but a release or a hand-back may move a run in these tests: no scheduler runs (so no reaper
# and no dispatcher), and the dispatcher's redelivery would wait an hour anyway.
NO_REDELIVERY = {"INFORMER_REDELIVER_AFTER": "3600"}


def tell_to_stop(cluster: Process, way: str) -> float:
    """SIGTERM the cluster's main process, or every process of its group (systemd, honcho); returns when."""
    if way == "main process":
        os.kill(cluster.pid, signal.SIGTERM)
    else:
        os.killpg(cluster.pid, signal.SIGTERM)
    return time.monotonic()


def exit_of(cluster: Process, told_at: float) -> tuple[int, float]:
    """The cluster's exit code and how many seconds after ``told_at`` it exited."""
    code = cluster.popen.wait(STOP_WITHIN + 20)
    return code, time.monotonic() - told_at


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def worker_pids(cluster: str) -> set[int]:
    return set(Worker.objects.filter(cluster=cluster, stopped_at__isnull=True).values_list("pid", flat=True))


@pytest.mark.parametrize("way", WAYS)
def test_an_idle_cluster_stops_at_once(stack, way):
    # given: a grace period long enough that waiting it out cannot pass for a slow exit on a loaded machine
    grace = 15
    cluster = stack.qcluster("--grace", str(grace))
    pids = worker_pids(stack.cluster)

    # when
    told_at = tell_to_stop(cluster, way)

    # then: no grace period to wait out, and nothing left behind
    code, seconds = exit_of(cluster, told_at)
    assert (code, seconds < grace) == (0, True), (code, seconds)
    wait_for(lambda: group_gone(cluster.pid), timeout=2, message="every process of the cluster exited")
    assert not any(alive(pid) for pid in pids)
    # Its workers are listed as stopped, not as lost.
    assert Worker.objects.filter(cluster=stack.cluster, stopped_at__isnull=True).count() == 0
    assert "has stopped." in cluster.output()


@pytest.mark.parametrize("way", WAYS)
def test_a_run_that_ends_within_the_grace_period_finishes(stack, slow_server, owner, way):
    # given
    cluster = stack.qcluster()
    run = run_now(owner, slow_job(owner, slow_server, 1.5))
    running_on_a_worker(run)

    # when
    told_at = tell_to_stop(cluster, way)

    # then
    code, seconds = exit_of(cluster, told_at)
    assert (code, seconds <= STOP_WITHIN) == (0, True), (code, seconds)
    assert status_of(run) == RunStatus.SUCCEEDED
    assert Run.objects.count() == 1


@pytest.mark.parametrize("way", WAYS)
def test_a_stopping_cluster_releases_its_long_runs_to_another_cluster(stack, slow_server, owner, way):
    # given: cluster one executes two long runs (one per worker) and holds a third it took from the broker
    first = stack.qcluster(**NO_REDELIVERY)
    first_pids = worker_pids(stack.cluster)
    runs = [run_now(owner, slow_job(owner, slow_server, 120)) for _ in range(3)]
    wait_for(
        lambda: Run.objects.filter(status=RunStatus.RUNNING, worker__pid__in=first_pids).count() == 2,
        timeout=30,
        message="both workers of the first cluster execute a run",
    )
    wait_for(lambda: get_broker().queue_size() == 0, timeout=10, message="the first cluster took the third run")
    second = stack.qcluster(workers=4, **NO_REDELIVERY)
    second_pids = worker_pids(stack.cluster) - first_pids

    # when
    told_at = tell_to_stop(first, way)

    # then: it exits in time, with every run back in the queue as the same attempt, none failed
    code, seconds = exit_of(first, told_at)
    assert (code, seconds <= STOP_WITHIN) == (0, True), (code, seconds)
    assert seconds >= DEFAULT_GRACE_SECONDS  # the runs had their grace period first
    assert "Releasing the runs of 2 workers still executing" in first.output()
    assert not Run.objects.exclude(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists()
    assert Run.objects.count() == 3  # released, not failed and retried
    assert set(Run.objects.values_list("attempt", flat=True)) == {1}
    assert Worker.objects.filter(pid__in=first_pids, stopped_at__isnull=True).count() == 0
    # The other cluster starts them at once (its two workers take two; the third waits for one of them).
    wait_for(
        lambda: Run.objects.filter(status=RunStatus.RUNNING, worker__pid__in=second_pids).count() == 2,
        timeout=5,
        message="the second cluster executes two of the released runs",
    )
    slow_server.release()
    wait_for(
        lambda: Run.objects.filter(status=RunStatus.SUCCEEDED).count() == 3,
        timeout=30,
        message="the second cluster ran all three",
    )
    for run in Run.objects.filter(pk__in=[run.pk for run in runs]).select_related("worker"):
        assert (run.attempt, run.error, run.worker.pid in second_pids) == (1, "", True)
    assert second.popen.poll() is None


def test_a_worker_that_cannot_release_its_run_is_killed_and_its_run_released_for_it(stack, slow_server, owner):
    # given: the worker executing the run is frozen, so it cannot act on the release signal
    cluster = stack.qcluster("--grace", "1", **NO_REDELIVERY)
    run = run_now(owner, slow_job(owner, slow_server, 120))
    pid = running_on_a_worker(run).worker.pid
    os.kill(pid, signal.SIGSTOP)

    # when
    told_at = tell_to_stop(cluster, "process group")

    # then: the sentinel kills it once the release time is over, and releases its run
    code, seconds = exit_of(cluster, told_at)
    assert (code, seconds <= 1 + RELEASE_SECONDS + 3) == (0, True), (code, seconds)
    assert not alive(pid)
    released = Run.objects.get(pk=run.pk)
    assert (released.status, released.lease_token, released.worker_id, released.attempt) == (
        RunStatus.QUEUED,
        None,
        None,
        1,
    )
    assert released.enqueued_at is not None
    assert Worker.objects.get(pid=pid, cluster=stack.cluster).stopped_at is not None
    assert f"Worker {pid} did not release its runs in time: killed" in cluster.output()


@pytest.mark.parametrize("grace", ["-1", "86401"])
def test_the_grace_period_is_bounded(grace):
    with pytest.raises(CommandError, match="--grace must be between 0 and 86400 seconds"):
        call_command("qcluster", "--grace", grace)


def test_a_cluster_whose_sentinel_dies_exits_with_an_error_and_leaves_nothing(stack):
    # given
    cluster = stack.qcluster()
    below = descendants(cluster.pid)
    sentinel = below[0]  # the main process's only child

    # when
    os.kill(sentinel, signal.SIGKILL)

    # then: the processes it forked (which ignore SIGTERM) go with it, and the main process reports it
    assert cluster.popen.wait(STOP_WITHIN) == 1
    wait_for(lambda: not any(alive(pid) for pid in below), timeout=5, message="no process of the cluster is left")
    assert "did not stop cleanly" in cluster.output()


def test_a_cluster_whose_main_process_is_killed_stops_by_itself(stack):
    # given
    cluster = stack.qcluster()
    below = descendants(cluster.pid)

    # when
    os.kill(cluster.pid, signal.SIGKILL)

    # then: the orphaned sentinel notices and stops its workers as on SIGTERM
    wait_for(lambda: not any(alive(pid) for pid in below), timeout=STOP_WITHIN, message="the orphans stopped")
    assert Worker.objects.filter(cluster=stack.cluster, stopped_at__isnull=True).count() == 0
