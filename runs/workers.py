"""Worker registration: each django-q2 worker process records itself and heartbeats while alive."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.dispatch import receiver

from runs import bookkeeping, services
from runs.models import Worker

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_worker: dict[int, Worker] = {}


def current_worker() -> Worker | None:
    """This process's worker record, registering it on first use; None in a non-worker process."""
    from django_q.conf import Conf

    if Conf.SYNC:
        return None  # runs executed inline (sync mode) have no worker process
    pid = os.getpid()
    with _lock:
        worker = _worker.get(pid)
        if worker is None:
            worker = _register(pid)
            _worker[pid] = worker
    return worker


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
    """The worker process was told to stop (SIGTERM) while it executed a run."""


_executing = threading.Event()


@contextmanager
def interruptible() -> Iterator[None]:
    """While inside, a SIGTERM interrupts the run's steps with WorkerShutdown instead of killing the process."""
    _executing.set()
    try:
        yield
    finally:
        _executing.clear()


def _on_sigterm(signum: int, frame: object) -> None:
    # django-q2 workers inherit "die at once" from their sentinel. When the whole process group gets
    # SIGTERM (systemd's default, a container stop) that left the run "running" until the reaper gave
    # up on it; interrupting the run instead lets the executor record it failed, and retry it, now.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    if _executing.is_set():
        _executing.clear()
        raise WorkerShutdown(128 + signum)
    mark_stopped()
    os.kill(os.getpid(), signal.SIGTERM)  # idle: stop as before


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
            signal.signal(signal.SIGTERM, _on_sigterm)
except ImportError:  # pragma: no cover - django-q2 is a dependency
    pass
