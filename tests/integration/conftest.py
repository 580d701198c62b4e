"""Real processes for integration tests: ``manage.py scheduler`` and ``manage.py qcluster`` on the test database.

Each test gets its own django-q2 cluster name, so that tasks left in a shared Redis by an earlier run are
never consumed, and this process enqueues into the same queue as the cluster it started. Processes are
always stopped (SIGTERM, then SIGKILL) and their output is attached to the report of a failing test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parents[2]
WORKER_TIMEOUT = 6
HEARTBEAT_SECONDS = 1
WORKERS = 2


@pytest.fixture(autouse=True)
def _sync_tasks() -> None:
    """Overrides the unit tests' inline django-q2: here a real cluster executes the tasks."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Attach the output of every process the test started to the report when it fails."""
    report = yield
    if report.failed:
        for process in getattr(item, "_processes", []):
            report.sections.append((f"process {process.name} (exit {process.popen.poll()})", process.output()))
    return report


def wait_for(predicate: Callable[[], Any], *, timeout: float, message: str, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:g} s waiting for: {message}")
        time.sleep(interval)


def hold_for(predicate: Callable[[], Any], *, seconds: float, message: str, interval: float = 0.1) -> None:
    """Assert that ``predicate`` stays truthy for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert predicate(), message
        time.sleep(interval)


@dataclass
class Process:
    """A started ``manage.py`` process, its output going to a file."""

    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_for_output(self, text: str, *, timeout: float = 30) -> None:
        wait_for(
            lambda: text in self.output() or self.popen.poll() is not None,
            timeout=timeout,
            message=f"{text!r} in the output of {self.name}",
        )
        assert text in self.output(), f"{self.name} exited with {self.popen.poll()} before printing {text!r}"

    def terminate(self, *, timeout: float = 20) -> int:
        """SIGTERM the process and wait for it to exit; returns its exit code."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        return self.popen.wait(timeout)

    def kill_group(self) -> None:
        """SIGKILL the process and whatever it spawned (it leads its own process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)


def database_url() -> str:
    """The URL of the test database pytest-django created, for the processes we start."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "localhost"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{db['NAME']}"


class SlowServer:
    """A local HTTP server whose ``/slow?seconds=N`` answers after N seconds (or when released)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

            def do_GET(self) -> None:
                seconds = float(parse_qs(urlsplit(self.path).query).get("seconds", ["0"])[0])
                with server.lock:
                    server.requests += 1
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    server.released.wait(seconds)
                    body = b"ok"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the worker went away mid-request
                finally:
                    with server.lock:
                        server.in_flight -= 1

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def url(self, seconds: float) -> str:
        return f"http://127.0.0.1:{self.http.server_port}/slow?seconds={seconds:g}"

    def release(self) -> None:
        """Answer every waiting and future request at once."""
        self.released.set()

    def close(self) -> None:
        self.release()
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    server = SlowServer()
    yield server
    server.close()


@dataclass
class Stack:
    """Starts scheduler and worker processes for one test."""

    cluster: str
    env: dict[str, str]
    logs: Path
    item: pytest.Item
    processes: list[Process] = field(default_factory=list)

    def start(self, command: str, *args: str, **env: str) -> Process:
        name = f"{command}-{len(self.processes) + 1}"
        log = self.logs / f"{name}.log"
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "manage.py", command, *args],
                cwd=BASE_DIR,
                env={**self.env, **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the test can signal it with its children
            )
        process = Process(name, popen, log)
        self.processes.append(process)
        self.item._processes = self.processes  # type: ignore[attr-defined]
        return process

    def scheduler(self) -> Process:
        process = self.start("scheduler")
        process.wait_for_output("Scheduler started")
        return process

    def qcluster(self, *args: str, workers: int = WORKERS, **env: str) -> Process:
        """Start a cluster and wait until ``workers`` worker processes (of all its clusters) registered."""
        from runs.models import Worker

        process = self.start("qcluster", *args, **env)
        wait_for(
            lambda: (
                Worker.objects.filter(cluster=self.cluster, stopped_at__isnull=True).count() >= workers
                or process.popen.poll() is not None
            ),
            timeout=60,
            message=f"{workers} workers of {process.name} registered",
        )
        assert process.popen.poll() is None, f"{process.name} exited with {process.popen.poll()}"
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(10)
            process.kill_group()  # whatever is left: a worker stuck in a request, an orphan


@pytest.fixture
def stack(
    transactional_db: Any,
    slow_server: SlowServer,
    request: pytest.FixtureRequest,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[Stack]:
    """Start real processes against the test database; they are stopped before the database is flushed."""
    from django_q.conf import Conf

    cluster = f"it-{uuid.uuid4().hex[:12]}"
    # This process enqueues (run now, tests) into the queue of the cluster the test starts.
    monkeypatch.setattr(Conf, "PREFIX", cluster)
    monkeypatch.setattr(Conf, "CLUSTER_NAME", cluster)
    monkeypatch.setattr(Conf, "Q_STAT", f"django_q:{cluster}:cluster")
    settings.INFORMER_WORKER_TIMEOUT = WORKER_TIMEOUT
    settings.INFORMER_HEARTBEAT_SECONDS = HEARTBEAT_SECONDS
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "INFORMER_CLUSTER_NAME": cluster,
        "INFORMER_WORKERS": str(WORKERS),
        "INFORMER_WORKER_TIMEOUT": str(WORKER_TIMEOUT),
        "INFORMER_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
        "INFORMER_OUTBOUND_ALLOW": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
    }
    if django_settings.REDIS_URL:
        env["REDIS_URL"] = django_settings.REDIS_URL
    else:
        env.pop("REDIS_URL", None)
    processes = Stack(cluster=cluster, env=env, logs=tmp_path, item=request.node)
    yield processes
    slow_server.release()  # a worker waiting on it can finish, so the cluster stops promptly
    processes.stop_all()
    if django_settings.REDIS_URL:
        _forget_redis_keys(django_settings.REDIS_URL, cluster)


def _forget_redis_keys(url: str, cluster: str) -> None:
    """Delete this test's queue and cluster statistics from Redis."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"django_q:{cluster}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
