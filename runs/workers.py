"""Worker registration: each django-q2 worker process records itself and heartbeats while alive."""

from __future__ import annotations

import logging
import os
import socket
import threading

from django.conf import settings
from django.db import connection
from django.dispatch import receiver

from runs import services
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
    threading.Thread(target=_heartbeat, args=(worker.pk,), name="worker-heartbeat", daemon=True).start()
    logger.info("Registered worker %s", worker.name)
    return worker


def _heartbeat(worker_id: object) -> None:
    """Keep the worker's liveness fresh even while it is idle."""
    interval = max(1.0, float(settings.INFORMER_HEARTBEAT_SECONDS))
    stop = threading.Event()
    while not stop.wait(interval):
        try:
            services.worker_heartbeat(worker_id=worker_id)  # type: ignore[arg-type]
        except Exception:
            logger.exception("Worker heartbeat failed")
        finally:
            connection.close()


try:
    from django_q.signals import post_spawn

    @receiver(post_spawn)
    def _on_spawn(sender: object, proc_name: str, **kwargs: object) -> None:
        """A django-q2 worker process started: register it at once, so idle workers are listed too."""
        try:
            current_worker()
        except Exception:
            logger.exception("Could not register worker %s", proc_name)
except ImportError:  # pragma: no cover - django-q2 is a dependency
    pass
