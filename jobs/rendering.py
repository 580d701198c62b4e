"""Rendering user templates (email subjects and bodies, webhook bodies) over a run's context.

Templates use Django's template language on an engine of their own: no loaders and no template
directories (``{% include %}`` and ``{% extends %}`` cannot read server files), only the built-in
tags and filters, and a context holding plain data, never model instances.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.template import Context, Engine, TemplateSyntaxError
from django.template.loader import render_to_string

from jobs.drivers.base import RunContext, StepFailed


@cache
def _engine() -> Engine:
    return Engine(dirs=[], app_dirs=False, loaders=[("django.template.loaders.locmem.Loader", {})], debug=False)


def check_template(source: str) -> str | None:
    """None when ``source`` compiles, else the syntax error as a sentence."""
    try:
        _engine().from_string(source)
    except TemplateSyntaxError as error:
        return str(error)
    return None


def render(source: str, context: RunContext, *, autoescape: bool = False, what: str = "template") -> str:
    """Render ``source`` over the run's context; a syntax error fails the step, naming ``what``."""
    if not source:
        return ""
    try:
        template = _engine().from_string(source)
    except TemplateSyntaxError as error:
        raise StepFailed(f"The {what} is not a valid template: {error}", permanent=True) from None
    return template.render(Context(template_context(context), autoescape=autoescape))


def template_context(context: RunContext) -> dict[str, Any]:
    """What templates see: the job, the run, its params and the dataset aliases with record counts."""
    job = context.job
    return {
        "job": {
            "id": job.get("id"),
            "name": job.get("name"),
            "type": job.get("type"),
            "naturalId": job.get("naturalId"),
            "description": job.get("description", ""),
        },
        "run": dict(context.run),
        "params": dict(context.params),
        "datasets": dict(context.datasets),
    }


def email_layout(*, body: str, html: bool, context: RunContext) -> str:
    """Wrap a rendered body in the default layout (``templates/jobs/email/``)."""
    name = "jobs/email/base.html" if html else "jobs/email/base.txt"
    return render_to_string(name, {"body": body, **template_context(context)})
