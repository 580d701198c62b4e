"""Actions delivered for real (§7): email over SMTP to a local server, webhooks to a local HTTP endpoint, SSRF refusals.

``LocalSmtp``, ``Inbox`` and ``Endpoint`` are shared with the end-to-end test, which imports them from here.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from jobs.models import Job, JobAction
from runs import services
from runs.executor import execute_run
from runs.models import Run, RunStatus
from tests.conftest import client_for
from tests.informer.test_outbound import FAKE_DNS, REFUSED_URLS
from tests.jobs.api.test_actions import JobActionFactory, JobAttachmentFactory

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
CSV = "région;total\r\nnord;12\r\nsud;7\r\n".encode()


# --- Local servers --------------------------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.received = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.received.set()
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(envelope.content, policy=email.policy.default) for envelope in self.envelopes]


class LocalSmtp(Controller):
    """An SMTP server on 127.0.0.1 at a port the system picks (aiosmtpd wants a fixed one: read it back)."""

    def __init__(self, handler: Inbox) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Endpoint:
    """A local HTTP endpoint: records every request and answers ``status`` with ``body`` (and ``headers``)."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.status, self.body, self.headers = 200, b"accepted", {"Content-Type": "text/plain"}
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                endpoint.requests.append(Received(self.command, self.path, headers, body))
                self.send_response(endpoint.status)
                for name, value in endpoint.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(endpoint.body)))
                self.end_headers()
                self.wfile.write(endpoint.body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.port = self.http.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def inbox(settings: Any) -> Iterator[Inbox]:
    """A local SMTP server that Django's SMTP backend sends to."""
    handler = Inbox()
    controller = LocalSmtp(handler)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10
    settings.DEFAULT_FROM_EMAIL = "informer@example.com"
    yield handler
    controller.stop()


@pytest.fixture
def endpoint(settings: Any) -> Iterator[Endpoint]:
    """A local HTTP endpoint the outbound guard lets through (127.0.0.1 is allowed)."""
    settings.INFORMER_OUTBOUND_ALLOW = ["127.0.0.1"]
    server = Endpoint()
    yield server
    server.close()


def run_now(job: Job, **params: Any) -> Run:
    """Record a manual run and execute it here, as a worker would."""
    run = services.run_create_manual(job=job, params=params, enqueue=False)
    execute_run(str(run.pk))
    run.refresh_from_db()
    return run


def entry(run: Run, action: JobAction) -> dict[str, Any]:
    """The progress entry of ``action`` in ``run``."""
    (found,) = [item for item in run.progress if item.get("actionId") == str(action.pk)]
    return found


def upload_through_the_api(owner: Any, action: JobAction, name: str, content: bytes, content_type: str) -> None:
    attachment = JobAttachmentFactory(action=action, name=name)
    url = f"/api/jobs/{action.job_id}/actions/{action.pk}/attachments/{attachment.pk}/action-attachment-file-contents"
    response = client_for(owner).put(url, content, content_type=content_type)
    assert response.status_code == 200, response.content


# --- Email ----------------------------------------------------------------------------------------------


def test_an_email_action_is_sent_over_smtp_with_its_attachments_byte_for_byte(job, owner, inbox, media):
    # given
    action = JobActionFactory(
        job=job,
        name="Send the report",
        data={
            "to": "{{ params.to }}",
            "cc": "boss@example.com",
            "bcc": ["audit@example.com"],
            "subject": "Résumé for {{ params.period }}: {{ job.name }}",
            "body": "Hello,\nthe {{ params.period }} figures are attached.",
        },
    )
    upload_through_the_api(owner, action, "report.pdf", PDF, "application/pdf")
    upload_through_the_api(owner, action, "figures.csv", CSV, "text/csv")

    # when
    run = run_now(job, to="ana@example.com", period="March")

    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    (envelope,) = inbox.envelopes
    assert envelope.mail_from == "informer@example.com"
    assert envelope.rcpt_tos == ["ana@example.com", "boss@example.com", "audit@example.com"]
    (message,) = inbox.messages()
    assert message["Subject"] == "Résumé for March: Nightly"
    assert (message["From"], message["To"], message["Cc"], message["Bcc"]) == (
        "informer@example.com",
        "ana@example.com",
        "boss@example.com",
        None,
    )
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert text.replace("\r\n", "\n") == (  # SMTP carries text with CRLF line ends
        f'Hello,\nthe March figures are attached.\n\n-- \nSent by Informer Jobs for "Nightly" (run {run.pk}).\n\n'
    )
    attachments = [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    ]
    assert attachments == [("report.pdf", "application/pdf", PDF), ("figures.csv", "text/csv", CSV)]
    assert hashlib.sha256(attachments[0][2]).hexdigest() == hashlib.sha256(PDF).hexdigest()
    step = entry(run, action)
    assert (step["status"], step["message"]) == (
        "success",
        "Sent 'Résumé for March: Nightly' to 3 recipient(s) with 2 attachment(s).",
    )
    assert run.data[f"action:{action.pk}"] == {"recipients": 3, "attachments": ["report.pdf", "figures.csv"]}


def test_an_html_email_escapes_values_and_has_a_readable_text_alternative(job, inbox):
    # given
    JobActionFactory(
        job=job,
        data={
            "to": "ops@example.com",
            "subject": "Report",
            "body": "<p>Hi {{ params.who }} &amp; co</p>",
            "format": "html",
        },
    )

    # when
    run = run_now(job, who="<b>Ana</b>")

    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    (message,) = inbox.messages()
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "<p>Hi &lt;b&gt;Ana&lt;/b&gt; &amp; co</p>" in html
    assert text.startswith("Hi <b>Ana</b> & co\r\n")


def test_an_unreachable_smtp_server_fails_the_step(job, settings):
    # given: a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    action = JobActionFactory(job=job, name="Send")

    # when
    run = run_now(job)

    # then
    step = entry(run, action)
    assert step["status"] == "error"
    assert step["message"].startswith("Sending the email failed: ")
    assert "refused" in step["message"].lower()
    assert (run.status, run.error) == (RunStatus.FAILED, f"Send: {step['message']}")


# --- Webhooks -------------------------------------------------------------------------------------------

# (method, templated body, the body the endpoint must receive; {run} is the run's id)
WEBHOOK_CALLS = [
    ("POST", '{"job": "{{ job.name }}", "run": "{{ run.id }}", "period": "{{ params.period }}"}', None),
    ("PUT", "period={{ params.period|upper }}&job={{ job.naturalId }}", "period=MARCH&job=alpha:nightly"),
    ("PATCH", "", ""),
    ("GET", "", ""),
    ("DELETE", "", ""),
]


@pytest.mark.parametrize(("method", "body", "expected"), WEBHOOK_CALLS, ids=[call[0] for call in WEBHOOK_CALLS])
def test_a_webhook_action_delivers_the_rendered_request(job, endpoint, method, body, expected):
    # given
    action = JobActionFactory(
        job=job,
        type="webhook",
        name="Ping",
        data={
            "url": endpoint.url + "/hooks/{{ params.period|lower }}?run={{ run.id }}",
            "method": method,
            "headers": {"Content-Type": "application/json", "X-Job": "{{ job.naturalId }}"},
            "body": body,
        },
    )

    # when
    run = run_now(job, period="March")

    # then
    assert run.status == RunStatus.SUCCEEDED, run.error
    (received,) = endpoint.requests
    if expected is None:
        expected = f'{{"job": "Nightly", "run": "{run.pk}", "period": "March"}}'
    assert (received.method, received.path, received.body) == (method, f"/hooks/march?run={run.pk}", expected.encode())
    assert (received.headers["x-job"], received.headers["content-type"]) == ("alpha:nightly", "application/json")
    assert received.headers["host"] == f"127.0.0.1:{endpoint.port}"
    url = f"{endpoint.url}/hooks/march?run=••••"  # history shows no query value
    step = entry(run, action)
    assert (step["status"], step["message"]) == ("success", f"{method} {url} answered 200.")
    response = run.data[f"action:{action.pk}"]["response"]
    assert (response["status"], response["excerpt"], response["truncated"]) == (200, "accepted", False)


# (id, what the endpoint answers, expectStatus, the step's message after the URL)
UNEXPECTED = [
    ("server error", 500, b"upstream exploded", None, "answered 500; expected a 2xx status."),
    ("not found", 404, b"no such hook", None, "answered 404; expected a 2xx status."),
    ("redirect without Location", 302, b"moved?", None, "answered 302; expected a 2xx status."),
    ("2xx not in the expected list", 200, b"ok but", [201, 202], "answered 200; expected 201, 202."),
]


@pytest.mark.parametrize(
    ("status", "answer", "expect_status", "message"),
    [case[1:] for case in UNEXPECTED],
    ids=[case[0] for case in UNEXPECTED],
)
def test_an_unexpected_status_fails_the_step_and_keeps_the_excerpt(
    job, endpoint, status, answer, expect_status, message
):
    # given
    endpoint.status, endpoint.body = status, answer
    data: dict[str, Any] = {"url": f"{endpoint.url}/hook", "body": "x"}
    if expect_status:
        data["expectStatus"] = expect_status
    action = JobActionFactory(job=job, type="webhook", name="Ping", data=data)

    # when
    run = run_now(job)

    # then
    step = entry(run, action)
    assert (step["status"], step["message"]) == ("error", f"POST {endpoint.url}/hook {message}")
    assert str(status) in step["message"]
    kept = run.data[step["key"]]["response"]
    assert (kept["status"], kept["excerpt"], kept["truncated"]) == (status, answer.decode(), False)
    # The progress entry itself carries the status and a short excerpt, for a client polling the run.
    assert step["response"] == {"status": status, "excerpt": answer.decode()[:500]}
    assert (run.status, run.error) == (RunStatus.FAILED, f"Ping: {step['message']}")


def test_a_long_answer_is_kept_as_a_capped_excerpt(job, endpoint):
    # given
    endpoint.status, endpoint.body = 500, b"e" * 10_000
    action = JobActionFactory(job=job, type="webhook", data={"url": f"{endpoint.url}/hook"})

    # when
    run = run_now(job)

    # then
    kept = run.data[f"action:{action.pk}"]["response"]
    assert (kept["excerpt"], kept["truncated"]) == ("e" * 2048, True)
    assert entry(run, action)["response"] == {"status": 500, "excerpt": "e" * 500}


@pytest.mark.parametrize(("status", "attempts"), [(503, 2), (200, 1)])
def test_a_failed_webhook_is_retried_while_attempts_remain(job, endpoint, status, attempts):
    # given
    endpoint.status = status
    Job.objects.filter(pk=job.pk).update(max_attempts=2)
    JobActionFactory(job=job, type="webhook", data={"url": f"{endpoint.url}/hook"})

    # when
    run_now(job)

    # then
    assert Run.objects.filter(job=job).count() == attempts


# --- SSRF -----------------------------------------------------------------------------------------------

WEB_REFUSALS = [(url, words) for url, words in REFUSED_URLS if url.startswith(("http://", "https://"))]


@pytest.fixture
def no_connections(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Fake DNS for the test names of the outbound tests; every TCP connect is recorded and refused."""
    real_getaddrinfo = socket.getaddrinfo
    state = SimpleNamespace(connects=[])

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name in FAKE_DNS:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in FAKE_DNS[name]]
        return real_getaddrinfo(host, port, *args, **kwargs)

    def connect(sock: Any, address: Any) -> None:
        state.connects.append(address)
        raise ConnectionRefusedError(111, "refused by the test")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    return state


def test_every_web_refusal_of_the_outbound_table_is_covered():
    assert len(WEB_REFUSALS) >= 25
    assert {words for _, words in WEB_REFUSALS} >= {"loopback", "private", "cloud metadata", "link-local"}


@pytest.mark.parametrize(("url", "words"), WEB_REFUSALS, ids=[url for url, _ in WEB_REFUSALS])
def test_a_webhook_to_a_forbidden_address_is_refused_without_connecting(job, settings, no_connections, url, words):
    # given
    settings.INFORMER_OUTBOUND_ALLOW = []
    Job.objects.filter(pk=job.pk).update(max_attempts=3)
    action = JobActionFactory(job=job, type="webhook", name="Ping", data={"url": url, "body": "secret"})

    # when
    run = run_now(job)

    # then
    step = entry(run, action)
    assert step["status"] == "error"
    assert step["message"].startswith("Refusing ")
    assert words in step["message"]
    assert no_connections.connects == []
    assert (run.status, run.error) == (RunStatus.FAILED, f"Ping: {step['message']}")
    assert Run.objects.filter(job=job).count() == 1  # a refusal is permanent: no retry


def test_a_redirect_to_a_private_address_is_refused(job, endpoint):
    # given: the allowed endpoint redirects to the intranet
    endpoint.status, endpoint.body = 307, b""
    endpoint.headers = {"Location": "http://10.0.0.1/admin"}
    action = JobActionFactory(job=job, type="webhook", data={"url": f"{endpoint.url}/hook", "body": "x"})

    # when
    run = run_now(job)

    # then
    step = entry(run, action)
    assert (step["status"], step["message"]) == (
        "error",
        "Refusing to connect to 10.0.0.1 (private address) for host '10.0.0.1'; "
        "add 10.0.0.1 to INFORMER_OUTBOUND_ALLOW to allow it.",
    )
    assert [request.path for request in endpoint.requests] == ["/hook"]
