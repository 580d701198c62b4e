"""Rendering user templates (email subjects and bodies, webhook bodies) over a run's context.

Templates use Django's template language on an engine of their own: no loaders and no template
directories (``{% include %}`` and ``{% extends %}`` cannot read server files), only the built-in
tags and filters, and a context holding plain data, never model instances.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.template.base import TokenType
from django.template.loader import render_to_string
from django.template.loader_tags import ExtendsNode, IncludeNode

from jobs.drivers.base import RunContext, StepFailed


@cache
def _engine() -> Engine:
    return Engine(dirs=[], app_dirs=False, loaders=[("django.template.loaders.locmem.Loader", {})], debug=False)


# Tags that cannot work here: there is no library to load and no template file to include or extend.
_UNAVAILABLE_TAGS = frozenset({"load", "include", "extends"})
# Django's hint after an unknown tag, which points at {% load %}: job templates cannot load anything.
_LOAD_HINT = "Did you forget to register or load this tag?"


@cache
def available_tags() -> list[str]:
    """The tags job templates can use: Django's built-in ones, less those that need files or libraries."""
    names = {name for library in _engine().template_builtins for name in library.tags}
    return sorted(names - _UNAVAILABLE_TAGS)


@cache
def available_filters() -> list[str]:
    """The filters job templates can use: Django's built-in ones."""
    return sorted({name for library in _engine().template_builtins for name in library.filters})


def _compile(source: str) -> Template:
    """``source`` as a template; a TemplateSyntaxError says what job templates can and cannot do."""
    try:
        template = _engine().from_string(source)
    except TemplateSyntaxError as error:
        raise TemplateSyntaxError(_explain(error)) from None
    # They compile, but with no template files to read they could only fail when the job runs.
    for node_type, name in ((ExtendsNode, "extends"), (IncludeNode, "include")):
        for node in template.nodelist.get_nodes_by_type(node_type):
            raise TemplateSyntaxError(
                f"{{% {name} %}} is not available in job templates ({_line(node.token)}): "
                "they cannot read other templates."
            )
    return template


def _line(token: Any) -> str:
    return f"line {token.lineno}" if getattr(token, "lineno", None) else "here"


def _explain(error: TemplateSyntaxError) -> str:
    """Django's syntax error, reworded where it assumes tag libraries job templates do not have."""
    token = getattr(error, "token", None)
    words = token.contents.split() if token is not None and token.token_type == TokenType.BLOCK else []
    if words and words[0] == "load":
        # Django says "'static' is not a registered tag library. Must be one of:" and an empty list.
        return (
            f"{{% load %}} is not available in job templates ({_line(token)}): they use Django's "
            f"built-in tags and filters, which need no loading. Tags: {', '.join(available_tags())}; "
            f"filters: {', '.join(available_filters())}."
        )
    text = str(error)
    if _LOAD_HINT in text:
        return text.replace(_LOAD_HINT, f"Job templates can use these tags: {', '.join(available_tags())}.")
    if text.startswith("Invalid filter:"):
        return f"{text}. Job templates can use these filters: {', '.join(available_filters())}."
    return text


def check_template(source: str) -> str | None:
    """None when ``source`` compiles, else the syntax error as a sentence."""
    try:
        _compile(source)
    except TemplateSyntaxError as error:
        return str(error)
    return None


def render(
    source: str,
    context: RunContext,
    *,
    autoescape: bool = False,
    what: str = "template",
    extra: dict[str, Any] | None = None,
) -> str:
    """Render ``source`` over the run's context (and ``extra``, e.g. a report's rows); a syntax error fails
    the step, naming ``what``."""
    if not source:
        return ""
    try:
        template = _compile(source)
    except TemplateSyntaxError as error:
        raise StepFailed(f"The {what} is not a valid template: {error}", permanent=True) from None
    return template.render(Context({**template_context(context), **(extra or {})}, autoescape=autoescape))


# The context in a sentence, for the drivers' schema descriptions (README, "Template context", says more).
CONTEXT_HELP = (
    "Django template over the run context: job.id, job.name, job.slug, job.naturalId, job.type, "
    "job.description, job.timezone; run.id, run.status, run.trigger, run.triggeredBy (type and name, with "
    "username for a user), run.attempt, run.scheduledFor, run.startedAt; params.<name>; datasets.<alias> "
    "(id, name, records, dataUpdatedAt, fields, and rows: the first 1,000 as objects keyed by field name). "
    "A preview renders with run.id 00000000-0000-0000-0000-000000000000."
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
