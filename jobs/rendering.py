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


# The context in a sentence, for the drivers' schema descriptions (README, "Template context", says more).
CONTEXT_HELP = (
    "Django template over the run context: job.id, job.name, job.slug, job.naturalId, job.type, "
    "job.description, job.timezone; run.id, run.status, run.trigger, run.triggeredBy (type and name, with "
    "username for a user), run.attempt, run.scheduledFor, run.startedAt; params.<name>; datasets.<alias> "
    "(none until datasets are available). A preview renders with run.id 00000000-0000-0000-0000-000000000000."
)


def template_context(context: RunContext) -> dict[str, Any]:
    """What templates see: the job, the run, its params and the dataset aliases with record counts.

    The same keys in a run and in a preview (which fills ``run`` with stand-ins, see ``jobs.previews``).
    """
    job, run = context.job, context.run
    return {
        "job": {
            "id": job.get("id"),
            "name": job.get("name"),
            "slug": job.get("slug"),
            "type": job.get("type"),
            "naturalId": job.get("naturalId"),
            "description": job.get("description", ""),
            "timezone": job.get("timezone"),
        },
        "run": {
            "id": run.get("id") or context.run_id,
            "status": run.get("status"),
            "trigger": run.get("trigger"),
            "triggeredBy": dict(run.get("triggeredBy") or {}),
            "attempt": run.get("attempt"),
            "scheduledFor": run.get("scheduledFor"),
            "startedAt": run.get("startedAt"),
        },
        "params": dict(context.params),
        "datasets": dict(context.datasets),
    }


def email_layout(*, body: str, html: bool, context: RunContext) -> str:
    """Wrap a rendered body in the default layout (``templates/jobs/email/``)."""
    name = "jobs/email/base.html" if html else "jobs/email/base.txt"
    return render_to_string(name, {"body": body, **template_context(context)})
