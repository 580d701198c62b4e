"""Fixtures and helpers of the run tests: a run factory, fixed instants, replaceable job-type steps."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import factory
import pytest

from jobs.drivers.base import RunContext, StepResult
from jobs.drivers.job_types import EmailJob
from jobs.models import Job
from runs.models import Run, RunStatus, Trigger
from tests.factories import JobFactory

T0 = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0, second: int = 0, *, day: int = 9) -> datetime:
    """An instant on 2026-03-09 (UTC) unless ``day`` says otherwise."""
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def iso(moment: datetime) -> str:
    """The API's rendering of an instant."""
    return moment.isoformat().replace("+00:00", "Z")


class RunFactory(factory.django.DjangoModelFactory):
    """A history record; a manual, queued run unless told otherwise."""

    class Meta:
        model = Run

    job = factory.SubFactory(JobFactory)
    tenant = factory.LazyAttribute(lambda o: o.job.tenant)
    owner_id = factory.LazyAttribute(lambda o: o.job.owner_id)
    trigger = Trigger.MANUAL
    status = RunStatus.QUEUED


def running_run(job: Job, *, since: datetime | None = None, **fields: Any) -> Run:
    """A run some worker is executing: started ``since`` (default now), with a lease."""
    from django.utils import timezone

    started = since or timezone.now()
    return RunFactory(
        job=job,
        status=RunStatus.RUNNING,
        started_at=started,
        heartbeat_at=fields.pop("heartbeat_at", started),
        lease_token=uuid.uuid4(),
        **fields,
    )


def finished_run(job: Job, status: str = RunStatus.SUCCEEDED, **fields: Any) -> Run:
    """A run that ended with ``status``."""
    from django.utils import timezone

    now = timezone.now()
    return RunFactory(
        job=job,
        status=status,
        success=status == RunStatus.SUCCEEDED,
        started_at=fields.pop("started_at", now),
        ended_at=fields.pop("ended_at", now),
        **fields,
    )


def row(run: Run) -> dict[str, Any]:
    """Every column of ``run`` as stored now."""
    return Run.objects.filter(pk=run.pk).values().get()


def rows() -> list[dict[str, Any]]:
    """Every run as stored now, in a stable order."""
    return list(Run.objects.order_by("pk").values())


@pytest.fixture
def email_step(monkeypatch: pytest.MonkeyPatch) -> Callable[[Callable[[RunContext], StepResult]], None]:
    """Replace what the ``email`` job type does when a run executes."""

    def replace(work: Callable[[RunContext], StepResult]) -> None:
        monkeypatch.setattr(EmailJob, "execute", classmethod(lambda cls, context: work(context)))

    return replace


def sleeper(seconds: float, *, started: threading.Event | None = None, stoppable: bool = False) -> Callable:
    """A step that sleeps ``seconds`` (checking ``should_stop`` when ``stoppable``)."""

    def work(context: RunContext) -> StepResult:
        if started is not None:
            started.set()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if stoppable and context.should_stop():
                break
            time.sleep(0.02)
        return StepResult(message=f"Slept {seconds:g} s.")

    return work


def in_thread(target: Callable[[], Any]) -> threading.Thread:
    """Run ``target`` in a thread that closes its own database connection."""
    from django.db import connection

    def body() -> None:
        try:
            target()
        finally:
            connection.close()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


class _Handler(BaseHTTPRequestHandler):
    """``/hello`` → 200 "hello" with ``X-Test: yes``; ``/status/<code>`` → that status."""

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""

    def do_GET(self) -> None:
        if self.path.startswith("/status/"):
            status, body, headers = int(self.path.rsplit("/", 1)[1]), b"nope", {}
        else:
            status, body, headers = 200, b"hello", {"X-Test": "yes", "Content-Type": "text/plain"}
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def http_server() -> Iterator[str]:
    """A local HTTP server; yields its base URL (``http://127.0.0.1:<port>``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """Give pytest its own SIGTERM/SIGINT handlers back after code that installs others."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)
