"""The ``report`` attachment: a dataset's rows through a sandboxed Django template, as HTML or as a PDF that
fetches nothing."""

from __future__ import annotations

import re
import threading
import uuid
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from datasets.models import Dataset, DatasetUserObjectPermission
from jobs.drivers import reports
from jobs.drivers.base import RunContext, StepFailed
from jobs.drivers.registry import attachment_driver
from jobs.models import Job, JobDataset
from jobs.selectors import job_definition
from tests.datasets.factories import DatasetFactory, fields_of, stored_generation
from tests.factories import JobFactory
from tests.runs.conftest import T0

pytestmark = pytest.mark.django_db

FIELDS = fields_of(("region", "string"), ("amount", "integer"))
TABLE = (
    "<table><tr>{% for field in fields %}<th>{{ field.label }}</th>{% endfor %}</tr>"
    "{% for cells in table %}<tr>{% for cell in cells %}<td>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</table>"
)


@pytest.fixture
def sales(owner: Any) -> Dataset:
    dataset: Dataset = DatasetFactory(owner=owner, name="Sales", slug="sales")
    stored_generation(dataset, FIELDS, [["West", 10], ["<b>East</b>", 20], ["North", 30]])
    Dataset.objects.filter(pk=dataset.pk).update(data_updated_at=T0)
    dataset.refresh_from_db()
    return dataset


@pytest.fixture
def job(owner: Any, sales: Dataset) -> Job:
    job: Job = JobFactory(owner=owner, name="Weekly", slug="weekly")
    JobDataset.objects.create(job=job, dataset=sales, alias="sales")
    return job


def context_for(job: Job) -> RunContext:
    return RunContext(
        run_id=str(uuid.UUID(int=7)),
        job=job_definition(job),
        params={"period": "March"},
        results={},
        run={"id": str(uuid.UUID(int=7))},
    )


def report(template: str, *, format: str = "html", name: str = "Sales report", **data: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "report",
        "name": name,
        "data": {"alias": "sales", "template": template, "format": format, **data},
    }


def make(job: Job, attachment: dict[str, Any]) -> Any:
    return attachment_driver("report").materialize(context_for(job), attachment)


# --- HTML ---------------------------------------------------------------------------------------------------


def test_a_fragment_is_set_in_the_layout_with_its_title_and_escaped_cells(job):
    # when
    made = make(job, report(TABLE, title="Sales for {{ params.period }}"))

    # then
    assert (made.name, made.content_type) == ("Sales report.html", "text/html; charset=utf-8")
    html = made.content.decode()
    assert html.startswith("<!doctype html>")
    assert "<title>Sales for March</title>" in html
    assert "<h1>Sales for March</h1>" in html
    assert "Sales: 3 records, data of 2026-03-09T10:00:00Z; run 00000000-0000-0000-0000-000000000007." in html
    assert (
        "<table><tr><th>Region</th><th>Amount</th></tr><tr><td>West</td><td>10</td></tr>"
        "<tr><td>&lt;b&gt;East&lt;/b&gt;</td><td>20</td></tr><tr><td>North</td><td>30</td></tr></table>"
    ) in html


def test_a_whole_document_is_kept_as_it_is(job):
    template = (
        "<!DOCTYPE html><html><body>{{ title }}: {% for row in rows %}{{ row.region }}={{ row.amount }} {% endfor %}"
        "({{ dataset.records }} of {{ dataset.name }}, {{ dataset.shown }} shown)</body></html>"
    )

    made = make(job, report(template))

    assert made.content.decode() == (
        "<!DOCTYPE html><html><body>Sales report: West=10 &lt;b&gt;East&lt;/b&gt;=20 North=30 "
        "(3 of Sales, 3 shown)</body></html>"
    )


def test_a_report_reads_at_most_its_row_cap_and_says_so(job, monkeypatch):
    # given
    monkeypatch.setattr(reports, "REPORT_MAX_ROWS", 2)

    # when
    made = make(job, report("<html>{{ rows|length }} {{ dataset.shown }} {{ dataset.truncated }}</html>"))

    # then
    assert made.content.decode() == "<html>2 2 True</html>"


def test_the_name_gets_the_formats_extension_once(job):
    assert make(job, report("<p></p>", name="summary.HTML")).name == "summary.HTML"
    assert make(job, report("<p></p>", format="pdf", name="a/b")).name == "a-b.pdf"


# --- The sandbox --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "text"),
    [
        ("{% load static %}", "{% load %} is not available in job templates (line 1)"),
        ("{% include 'jobs/email/base.html' %}", "{% include %} is not available in job templates (line 1)"),
        ("{% extends 'jobs/email/base.html' %}", "{% extends %} is not available in job templates (line 1)"),
        ("{% ssi '/etc/passwd' %}", "Invalid block tag on line 1: 'ssi'."),
    ],
)
def test_templates_that_would_read_files_or_libraries_are_refused_when_saved_and_when_run(job, template, text):
    # when saved
    errors = attachment_driver("report").validation_errors(report(template)["data"])

    # then
    assert len(errors) == 1
    assert errors[0].startswith(f"data.template: not a valid template: {text}")

    # and when run (a definition saved before the rule)
    with pytest.raises(StepFailed) as failed:
        make(job, report(template))
    assert failed.value.message.startswith(f"Attachment 'Sales report': data.template: not a valid template: {text}")
    assert failed.value.permanent is True


def test_the_owner_must_still_read_the_dataset(owner, job, sales):
    DatasetUserObjectPermission.objects.filter(user=owner, content_object=sales).delete()

    with pytest.raises(StepFailed) as failed:
        make(job, report(TABLE))

    assert failed.value.message.startswith(f"The job's owner {owner.display_name} may no longer read dataset 'sales'")


# --- PDF ----------------------------------------------------------------------------------------------------


class _Recording(BaseHTTPRequestHandler):
    requests: list[str] = []

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        type(self).requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red; }")


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server that records every path asked of it."""
    _Recording.requests = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recording)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", _Recording.requests
    httpd.shutdown()
    httpd.server_close()


def pdf_objects(content: bytes) -> bytes:
    """The PDF's objects as text: its streams (object streams included) inflated."""
    inflated = [content]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", content, re.S):
        try:
            inflated.append(zlib.decompress(match.group(1)))
        except zlib.error:  # a font or an image: not an object stream
            continue
    return b"\n".join(inflated)


def test_a_pdf_report_is_the_html_report_on_pages(job, owner, monkeypatch):
    # given: enough rows for several pages, and what WeasyPrint is given kept
    many = DatasetFactory(owner=owner, name="Many", slug="many")
    stored_generation(many, FIELDS, [[f"Region {n}", n] for n in range(150)])
    JobDataset.objects.create(job=job, dataset=many, alias="many")
    given: list[str] = []
    real = reports.pdf
    monkeypatch.setattr(reports, "pdf", lambda html, *, what: given.append(html) or real(html, what=what))

    # when
    made = make(job, report(TABLE, format="pdf", alias="many", title="Many for {{ params.period }}"))

    # then
    assert (made.name, made.content_type) == ("Sales report.pdf", "application/pdf")
    assert made.content.startswith(b"%PDF-")
    assert made.content.rstrip().endswith(b"%%EOF")
    objects = pdf_objects(made.content)
    assert b"/Title (Many for March)" in objects
    pages = int(re.findall(rb"/Type /Pages/Kids \[[^\]]*\]/Count (\d+)", objects)[0])
    assert pages > 1
    assert "<tr><td>Region 149</td><td>149</td></tr>" in given[0]


def test_a_pdf_report_fetches_nothing(job, server, tmp_path):
    # given: a template naming a style sheet, an image and a font on a local server, and a local file
    base, requests = server
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red; }")
    template = (
        f'<link rel="stylesheet" href="{base}/style.css"><img src="{base}/logo.png">'
        f'<style>@font-face {{ font-family: X; src: url("{base}/font.woff"); }} '
        f'@import url("file://{secret}");</style><p style="font-family: X">{{{{ rows|length }}}}</p>'
    )

    # when
    made = make(job, report(template, format="pdf"))

    # then: the PDF is made, and nothing was asked of the server
    assert made.content.startswith(b"%PDF-")
    assert requests == []


def test_the_fetcher_refuses_every_url():
    fetcher = reports.refusing_fetcher()

    for url in ("http://127.0.0.1/x", "https://example.com/a.png", "file:///etc/passwd", "data:text/plain,hi"):
        with pytest.raises(reports.FetchRefused):
            fetcher(url)


def test_a_pdf_that_cannot_be_made_fails_the_step(job, monkeypatch):
    # given
    def broken(self: Any, *args: Any, **kwargs: Any) -> bytes:
        raise ValueError("no fonts")

    monkeypatch.setattr("weasyprint.HTML.write_pdf", broken)

    # when
    with pytest.raises(StepFailed) as failed:
        make(job, report(TABLE, format="pdf"))

    # then
    assert failed.value.message == "The PDF of 'Sales report.pdf' could not be made: ValueError: no fonts"
