"""``manage.py qcluster``: django-q2's cluster, stopped in bounded time by SIGTERM or SIGINT to it or its group.

django-q2's own command has two ways of not stopping. A SIGTERM to the whole process group (systemd's
default ``KillMode=control-group``, honcho's Ctrl-C) kills its sentinel at once (the sentinel and the
processes it forks keep SIGTERM's default action), usually while the sentinel waits on the cluster's
stop event; the main process then calls ``stop_event.set()``, whose multiprocessing condition waits for
that dead waiter to wake up, forever. And a SIGTERM to the main process alone waits for the runs under
way to end, which a job may let take days.

Here only the main process acts on SIGTERM and SIGINT: the sentinel and everything it forks ignore them
(a signal to the group reaches the main process too). The main process tells the sentinel to stop; from
then on the workers start no run (one they are delivered goes back to the broker), the runs under way
have ``--grace`` seconds to finish, then each is released (back to ``queued`` and enqueued, for another
worker), and a worker still there ``RELEASE_SECONDS`` later is killed and its runs released for it. The
main process exits within ``--grace`` + ``RELEASE_SECONDS`` + ``MARGIN_SECONDS``, whatever happens.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing.util
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from multiprocessing import Event
from multiprocessing.process import BaseProcess
from typing import Any

from django import db
from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django_q.cluster import Cluster, Sentinel, get_mp_context
from django_q.conf import setproctitle
from django_q.management.commands.qcluster import Command as DjangoQCommand

from runs import services, workers

logger = logging.getLogger("runs.cluster")

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
DEFAULT_GRACE_SECONDS = 3.0
# For a worker told to release its run (SIGUSR1) to record it and leave: one write and django-q2's STOP.
RELEASE_SECONDS = 2.0
# How much longer the main process waits for the sentinel before it kills what is left itself.
MARGIN_SECONDS = 2.0
POLL_SECONDS = 0.1


def _alive(processes: Iterable[BaseProcess | None]) -> list[BaseProcess]:
    return [process for process in processes if process is not None and process.is_alive()]


PR_SET_PDEATHSIG = 1  # prctl(2)


def _die_with_sentinel(sentinel: StoppingSentinel) -> None:
    """In each process the sentinel forks: be killed should the sentinel die without stopping it.

    These processes ignore SIGTERM, so an orphan could otherwise only be ended by hand; the sentinel's
    own stop always waits for them first. Linux only (prctl); elsewhere an orphan stays an orphan.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != sentinel.pid:
        os._exit(1)  # the sentinel died before the request above was made


class StoppingSentinel(Sentinel):
    """django-q2's sentinel, deaf to SIGTERM and SIGINT, whose stop releases what does not finish in time."""

    def __init__(
        self,
        stop_event: Any,
        start_event: Any,
        cluster_id: uuid.UUID,
        broker: Any = None,
        timeout: int | None = None,
        grace: float = DEFAULT_GRACE_SECONDS,
    ) -> None:
        super().__init__(stop_event, start_event, cluster_id, broker, timeout, start=False)
        # django-q2 just set SIGTERM back to its default action. The signals have been blocked since the
        # fork (see StoppingCluster.start), so one sent meanwhile is discarded here, not lost on a dead
        # sentinel; the processes forked from now on inherit "ignore".
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        self.grace = grace
        self.stopping = threading.Event()
        workers.cluster_state_create()  # before the workers are forked, so that they share it
        threading.Thread(target=self._watch_parent, name="parent-watch", daemon=True).start()
        multiprocessing.util.register_after_fork(self, _die_with_sentinel)
        try:
            self.start()
        finally:
            # Normally there is nothing left. But should the guard loop fail, multiprocessing would
            # send SIGTERM to the daemonic children (which ignore it) and wait for them forever.
            self._kill_leftovers()

    def _watch_parent(self) -> None:
        # Deaf to SIGTERM, a sentinel whose main process was killed outright would otherwise run on,
        # orphaned, until SIGKILL: it stops itself instead.
        while not self.stopping.wait(1.0):
            if os.getppid() != self.parent_pid:
                logger.error("The cluster's main process %s is gone: stopping", self.parent_pid)
                self.stop_event.set()
                return

    def stop(self) -> None:
        """Stop django-q2's way, within the grace period and the release time."""
        self.stopping.set()
        workers.cluster_stop_begin()
        threading.Thread(target=self._stop_in_time, name="stop-in-time", daemon=True).start()
        super().stop()

    def _settled(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the workers, the pusher and the monitor to have left."""
        deadline = time.monotonic() + seconds
        while _alive([*self.pool, self.pusher, self.monitor]):
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    def _stop_in_time(self) -> None:
        if self._settled(self.grace):
            return
        going = _alive(list(self.pool))
        if going:
            logger.info("Releasing the runs of %s workers still executing after %g s", len(going), self.grace)
        for process in going:
            if process.pid:  # an alive process has one; never 0, which would signal the whole group
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGUSR1)
        if not self._settled(RELEASE_SECONDS):
            self._kill_leftovers()

    def _kill_leftovers(self) -> None:
        """SIGKILL the workers, pusher and monitor still there; release the killed workers' runs."""
        self.stopping.set()
        host = socket.gethostname()
        for process in _alive(list(self.pool)):
            process.kill()
            process.join(1)
            try:
                released = services.worker_release(host=host, pid=process.pid or -1)
            except Exception:
                logger.exception("Could not release the runs of the killed worker %s", process.pid)
            else:
                logger.error("Worker %s did not release its runs in time: killed; released %s", process.pid, released)
            finally:
                db.connections.close_all()
        for process in _alive([self.pusher, self.monitor]):
            logger.error("%s did not stop in time: killed", process.name)
            process.kill()


class StoppingCluster(Cluster):
    """django-q2's cluster, started with ``StoppingSentinel``; SIGTERM and SIGINT only note a stop request."""

    def __init__(self, *, grace: float = DEFAULT_GRACE_SECONDS) -> None:
        self.grace = grace
        self.signalled: int | None = None
        super().__init__()  # installs sig_handler for SIGTERM and SIGINT

    def sig_handler(self, signum: int, frame: object) -> None:
        # Only a note: stopping waits on other processes, which a handler must not do (a second signal
        # would run it again inside the first, and django-q2's multiprocessing locks do not nest).
        if self.signalled is None:
            self.signalled = signum

    def start(self) -> int:
        """Start the sentinel and wait until it runs the cluster."""
        if setproctitle:
            setproctitle.setproctitle(f"qcluster main {self.name}")
        self.stop_event = Event()
        self.start_event = Event()
        self.sentinel = get_mp_context().Process(
            target=StoppingSentinel,
            name=f"Process-{uuid.uuid4().hex}",
            args=(self.stop_event, self.start_event, self.cluster_id, self.broker, self.timeout, self.grace),
        )
        # The sentinel starts with the stop signals blocked and unblocks them once it ignores them.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self.sentinel.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)
        logger.info("Q Cluster %s starting.", self.name)
        while not self.start_event.is_set():
            if not self.sentinel.is_alive():
                raise CommandError(
                    f"Q Cluster {self.name} failed to start: its sentinel exited with {self.sentinel.exitcode}."
                )
            time.sleep(POLL_SECONDS)
        return self.pid

    def serve(self) -> bool:
        """Run until SIGTERM or SIGINT, then stop; False when the sentinel died on its own."""
        while self.signalled is None:
            if not self.sentinel.is_alive():
                logger.error("Q Cluster %s: its sentinel exited with %s", self.name, self.sentinel.exitcode)
                self._kill_leftovers()
                return False
            self.sentinel.join(POLL_SECONDS * 2)
        logger.info("Q Cluster %s got %s", self.name, signal.Signals(self.signalled).name)
        return self.stop()

    def stop(self) -> bool:
        """Stop the cluster within the grace period, the release time and a margin; False if it had to be killed."""
        if not self.sentinel.is_alive():
            return False
        logger.info("Q Cluster %s stopping.", self.name)
        # In a thread: were the sentinel dead after all, setting the event would wait on it forever.
        setter = threading.Thread(target=self.stop_event.set, name="stop", daemon=True)
        setter.start()
        setter.join(MARGIN_SECONDS)
        self.sentinel.join(self.grace + RELEASE_SECONDS + MARGIN_SECONDS)
        if self.sentinel.is_alive():
            logger.error("Q Cluster %s did not stop in time: killing it", self.name)
            self._kill_leftovers()
            return False
        self._kill_leftovers()  # normally none: the sentinel leaves nothing behind
        logger.info("Q Cluster %s has stopped.", self.name)
        return True

    def _kill_leftovers(self) -> None:
        """SIGKILL the sentinel and whatever it forked that is still there; release those workers' runs."""
        pids = descendants(self.sentinel.pid)
        for pid in [*pids, self.sentinel.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.sentinel.join(1)
        host = socket.gethostname()
        for pid in pids:
            try:
                services.worker_release(host=host, pid=pid)
            except Exception:
                logger.exception("Could not release the runs of the killed worker %s", pid)


def descendants(pid: int) -> list[int]:
    """The processes below ``pid``, children first (from /proc; none where there is no /proc)."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    # "pid (name) state ppid ...": the name may hold spaces and parentheses.
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    queue = list(children.get(pid, []))
    while queue:
        child = queue.pop(0)
        found.append(child)
        queue.extend(children.get(child, []))
    return found


class Command(DjangoQCommand):
    help = (
        "Start a django-q2 cluster that executes runs. SIGTERM or SIGINT, to this process or its whole "
        "process group, stops it: no new run starts, runs under way get --grace seconds to finish, then "
        "go back to the queue for another worker; it exits within --grace + 4 seconds."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--grace",
            type=float,
            default=DEFAULT_GRACE_SECONDS,
            help=f"Seconds that runs under way get to finish once asked to stop (default {DEFAULT_GRACE_SECONDS:g}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        grace = options["grace"]
        if not 0 <= grace <= 86400:
            raise CommandError(f"--grace must be between 0 and 86400 seconds, got {grace:g}.")
        settings.SECRET_KEY  # noqa: B018 - as django-q2's command: signing needs it, fail before starting
        if options.get("cluster_name"):
            os.environ["Q_CLUSTER_NAME"] = options["cluster_name"]
        cluster = StoppingCluster(grace=grace)
        cluster.start()
        stopped = cluster.stop() if options.get("run_once") else cluster.serve()
        if not stopped:
            raise CommandError(f"Q Cluster {cluster.name} did not stop cleanly.")
