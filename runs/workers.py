"""Worker registration: each django-q2 worker process records itself and heartbeats while alive.

Also what a worker knows of its cluster stopping: a flag that says to start no more runs, and the signal
(SIGUSR1) that releases the run under way.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import multiprocessing.util
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection
from django.dispatch import receiver

from runs import bookkeeping, services
from runs.models import Worker

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_worker: dict[int, Worker] = {}
_not_a_worker = False  # see not_a_worker()


def current_worker() -> Worker | None:
    """This process's worker record, registering it on first use; None in a non-worker process."""
    from django_q.conf import Conf

    if Conf.SYNC or _not_a_worker:
        return None  # runs executed inline (sync mode, ``run_job --inline``) have no worker process
    pid = os.getpid()
    with _lock:
        worker = _worker.get(pid)
        if worker is None:
            worker = _register(pid)
            _worker[pid] = worker
    return worker


@contextmanager
def not_a_worker() -> Iterator[None]:
    """Inside, the runs this process executes register no worker (``run_job --inline``: no cluster's).

    Registered, the command would be listed as a worker, and as lost once it exited.
    """
    global _not_a_worker
    previous, _not_a_worker = _not_a_worker, True
    try:
        yield
    finally:
        _not_a_worker = previous


def _register(pid: int) -> Worker:
    host = socket.gethostname()
    cluster = str(settings.Q_CLUSTER.get("name", ""))
    worker = services.worker_register(
        name=f"{cluster}@{host}:{pid}", host=host, pid=pid, cluster=cluster, concurrency=1
    )
    bookkeeping.start()
    threading.Thread(target=_heartbeat, args=(worker.pk,), name="worker-heartbeat", daemon=True).start()
    logger.info("Registered worker %s", worker.name)
    return worker


def _heartbeat(worker_id: object) -> None:
    """Keep the worker's liveness fresh even while it is idle, and write the jobs' deferred last-run fields."""
    interval = max(1.0, float(settings.INFORMER_HEARTBEAT_SECONDS))
    stop = threading.Event()
    last_beat = time.monotonic()
    while not stop.wait(bookkeeping.FLUSH_SECONDS):
        try:
            bookkeeping.flush()
            if time.monotonic() - last_beat >= interval:
                last_beat = time.monotonic()
                services.worker_heartbeat(worker_id=worker_id)  # type: ignore[arg-type]
        except Exception:
            logger.exception("Worker heartbeat failed")
        finally:
            connection.close()


class WorkerShutdown(SystemExit):
    """The worker process was told to release its run (its cluster is stopping) while it executed it."""


# Set by the cluster's sentinel when it starts to stop: shared memory that the worker processes it
# forks inherit. A plain byte and no lock, because a process killed while holding a lock would leave
# the others waiting on it; None outside a cluster started by ``manage.py qcluster``.
_stopping: Any = None


class _Interrupt:
    """What the release signal's handler and the executing thread share: plain flags, because a handler
    that took a lock the interrupted code holds (a ``threading.Event``'s) would wait for itself."""

    executing = False
    requested = False


def cluster_state_create() -> None:
    """Make the shared "stopping" flag; called by the sentinel before it forks its workers."""
    global _stopping
    _stopping = multiprocessing.RawValue(ctypes.c_bool, False)


def cluster_stop_begin() -> None:
    """Tell every worker of this cluster to start no more runs."""
    if _stopping is not None:
        _stopping.value = True


def stopping() -> bool:
    """Whether this process's cluster is stopping (a run delivered now is handed back, not started)."""
    return _stopping is not None and bool(_stopping.value)


@contextmanager
def interruptible() -> Iterator[None]:
    """While inside, a release request (SIGUSR1) interrupts the run's steps with WorkerShutdown."""
    if _Interrupt.requested:
        # The request came between the claim and the steps: they do not start.
        _Interrupt.requested = False
        raise WorkerShutdown(128 + signal.SIGUSR1)
    _Interrupt.executing = True
    try:
        yield
    finally:
        _Interrupt.executing = False


def _on_release(signum: int, frame: object) -> None:
    # The sentinel sends this once its stop's grace period is over: the run under way goes back to
    # the queue for another worker instead of holding up the stop (``manage.py qcluster``).
    if _Interrupt.executing:
        _Interrupt.executing = False
        raise WorkerShutdown(128 + signum)
    if stopping():
        _Interrupt.requested = True  # a run being claimed right now is released before its steps start


def mark_stopped() -> None:
    """Record that this process's worker stopped, so it is listed as stopped rather than lost."""
    worker = _worker.get(os.getpid())
    if worker is None:
        return
    try:
        bookkeeping.flush()
        services.worker_stopped(worker_id=worker.pk)
    except Exception:  # stopping must not fail because the database is gone
        logger.exception("Could not record that worker %s stopped", worker.name)


try:
    from django_q.signals import post_spawn

    @receiver(post_spawn)
    def _on_spawn(sender: object, proc_name: str, **kwargs: object) -> None:
        """A django-q2 worker process started: register it at once, so idle workers are listed too."""
        try:
            worker = current_worker()
        except Exception:
            logger.exception("Could not register worker %s", proc_name)
            return
        if worker is not None and threading.current_thread() is threading.main_thread():
            # SIGTERM and SIGINT stay ignored, as the sentinel left them: a signal to the whole process
            # group (systemd, a terminal's Ctrl-C) is the main process's to act on, and it stops the
            # workers through the sentinel.
            signal.signal(signal.SIGUSR1, _on_release)
            # A worker that leaves through django-q2's STOP (the cluster stopping) is listed as stopped;
            # multiprocessing runs these finalizers, not atexit, after the bookkeeping's flush.
            multiprocessing.util.Finalize(None, mark_stopped, exitpriority=5)
except ImportError:  # pragma: no cover - django-q2 is a dependency
    pass
