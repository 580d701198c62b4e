"""The ``report`` attachment: one of the job's datasets rendered through a Django template, as HTML or PDF.

The template runs in the job template sandbox (``jobs.rendering``: built-in tags and filters only, no
``{% load %}``, ``{% include %}`` or ``{% extends %}``). The PDF is made by WeasyPrint with a URL fetcher
that refuses everything: a report reads nothing from the network or the file system (no image, style
sheet or font a template names), so a template cannot make the service fetch addresses for it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.template.loader import render_to_string

from jobs import rendering
from jobs.drivers import datasets
from jobs.drivers.base import AttachmentDriver, AttachmentFile, RunContext, StepFailed

logger = logging.getLogger(__name__)

# The rows a report reads: enough for any report a person reads, bounded for a dataset of a million rows.
REPORT_MAX_ROWS = 10_000
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}

TEMPLATE_HELP = (
    "A Django template over the run context plus the dataset: title; dataset (id, name, alias, records, "
    "dataUpdatedAt, fields, rows, shown, truncated); fields ([{name, label, dataType, position}]); rows (the first "
    f"{REPORT_MAX_ROWS:,}, each an object by field name); table (the same rows as lists of cells in field order). "
    "HTML-escaped. A fragment (no <html>) is set in the default layout with the title; a whole document is kept "
    "as it is. Images, style sheets and fonts are never fetched."
)


class ReportAttachment(AttachmentDriver):
    """One of the job's datasets rendered through a template as html or pdf."""

    id = "report"
    name = "Report"
    description = (
        "One of the job's datasets (by its alias) rendered through a Django template, as html or as pdf (by "
        "WeasyPrint, nothing fetched). The file is named after the attachment, with the format's extension."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["alias", "template", "format"],
        "properties": {
            "alias": datasets.ALIAS,
            "template": {"type": "string", "minLength": 1, "maxLength": 1_000_000, "description": TEMPLATE_HELP},
            "format": {"type": "string", "enum": ["html", "pdf"]},
            "title": {
                "type": "string",
                "maxLength": 500,
                "description": "A template over the run context; default the attachment's name.",
            },
        },
    }

    @classmethod
    def validation_errors(cls, data: Any) -> list[str]:
        """The schema's problems, then the template's and the title's syntax."""
        problems = super().validation_errors(data)
        if problems:
            return problems
        for field in ("template", "title"):
            problem = rendering.check_template(data.get(field) or "")
            if problem:
                problems.append(f"data.{field}: not a valid template: {problem}")
        return problems

    @classmethod
    def materialize(cls, context: RunContext, attachment: dict[str, Any]) -> AttachmentFile:
        """Render the report over the dataset's current rows (the job's owner needs view_dataset on it)."""
        data = datasets.checked_data(cls, attachment.get("data") or {}, what=f"Attachment '{attachment['name']}'")
        html = render_report(context, {**attachment, "data": data})
        name = datasets.file_name(attachment.get("name") or data["alias"], data["format"])
        if data["format"] == "html":
            return AttachmentFile(name=name, content_type=CONTENT_TYPES["html"], content=html.encode())
        return AttachmentFile(name=name, content_type=CONTENT_TYPES["pdf"], content=pdf(html, what=name))


def report_context(context: RunContext, attachment: dict[str, Any]) -> dict[str, Any]:
    """What a report's template sees beyond the run context: the title, the dataset, its fields and rows."""
    from datasets.data import dataset_rows

    data = attachment.get("data") or {}
    alias = data["alias"]
    dataset = datasets.dataset_for(context, alias, need=datasets.READ)
    fields = list(dataset.fields or [])
    rows: list[dict[str, Any]] = []
    if dataset.current_generation_id is not None:
        rows = dataset_rows(generation_id=dataset.current_generation_id, fields=fields, limit=REPORT_MAX_ROWS)
    names = [field["name"] for field in fields]
    title_source = data.get("title") or attachment.get("name") or dataset.name
    title = " ".join(rendering.render(title_source, context, what="report title").split())
    updated = dataset.data_updated_at
    return {
        "title": title,
        "dataset": {
            "id": str(dataset.pk),
            "name": dataset.name,
            "alias": alias,
            "records": dataset.records,
            "dataUpdatedAt": updated.isoformat().replace("+00:00", "Z") if updated else None,
            "fields": fields,
            "rows": rows,
            "shown": len(rows),
            "truncated": len(rows) < dataset.records,
        },
        "fields": fields,
        "rows": rows,
        "table": [[row.get(name) for name in names] for row in rows],
    }


def render_report(context: RunContext, attachment: dict[str, Any]) -> str:
    """The report as an HTML document: the template's own, or its fragment set in the default layout."""
    data = attachment.get("data") or {}
    extra = report_context(context, attachment)
    body = rendering.render(data["template"], context, autoescape=True, what="report template", extra=extra)
    if "<html" in body[:2000].lower():
        return body
    return render_to_string("jobs/reports/base.html", {"body": body, **rendering.template_context(context), **extra})


def pdf(html: str, *, what: str) -> bytes:
    """``html`` as a PDF, fetching nothing; a WeasyPrint failure fails the step."""
    import weasyprint  # type: ignore[import-untyped]  # WeasyPrint ships no type information

    try:
        return weasyprint.HTML(string=html, url_fetcher=refusing_fetcher()).write_pdf()
    except Exception as error:  # WeasyPrint raises many kinds; the step says which and why
        logger.warning("The PDF of %s could not be made", what, exc_info=True)
        raise StepFailed(f"The PDF of '{what}' could not be made: {type(error).__name__}: {error}") from None


class FetchRefused(ValueError):
    """A report named a resource (an image, a style sheet, a font): reports fetch nothing."""


def refusing_fetcher() -> Any:
    """A WeasyPrint URL fetcher that refuses every URL (a class from WeasyPrint 66, a function before)."""
    from weasyprint import urls

    def refuse(url: str, *args: Any, **kwargs: Any) -> Any:
        logger.info("A report's PDF did not fetch %s: reports fetch nothing", url[:200])
        raise FetchRefused(f"Reports fetch nothing: {url[:200]}")

    base = getattr(urls, "URLFetcher", None)
    if base is None:
        return refuse

    class RefusingFetcher(base):  # type: ignore[misc, valid-type]
        def fetch(self, url: str, headers: Any = None) -> Any:
            return refuse(url)

    return RefusingFetcher()
