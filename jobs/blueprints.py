"""Ready-made job blueprints served at ``/api/job-templates``; ``POST /api/jobs`` accepts ``templateId``.

A blueprint's ``job`` holds API (camelCase) fields; a client's body overrides them field by field,
and its ``data`` is merged key by key over the blueprint's.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from jobs.drivers import registry

FAILURE_NOTICE = {
    "type": "email",
    "name": "Failure notice",
    "data": {
        "to": "{{ params.notify|default:'ops@example.com' }}",
        "subject": "[Informer] {{ job.name }} failed",
        "body": "The run {{ run.id }} of {{ job.name }} failed. See its history for the steps.",
    },
    "runCondition": {"status": "failure"},
}

BLUEPRINTS: dict[str, dict[str, Any]] = {
    "nightly-dataset-refresh": {
        "name": "Nightly dataset refresh",
        "description": "Re-runs a dataset's query every night at 02:00 and tells ops when it fails.",
        "job": {
            "type": "dataset-refresh",
            "name": "Nightly dataset refresh",
            "interval": "0 2 * * *",
            "intervalType": "cron",
            "misfirePolicy": "runOnce",
            "maxAttempts": 3,
        },
        "actions": [FAILURE_NOTICE],
    },
    "weekly-report-email": {
        "name": "Weekly report email",
        "description": "Emails a report every Monday at 08:00 (attach a file or a dataset export to the action).",
        "job": {"type": "email", "name": "Weekly report", "interval": "0 8 * * mon", "intervalType": "cron"},
        "actions": [
            {
                "type": "email",
                "name": "Send the report",
                "data": {
                    "to": "{{ params.to|default:'reports@example.com' }}",
                    "subject": "{{ job.name }} for the week",
                    "body": "Hello,\n\nthe weekly report is attached.\n",
                    "format": "text",
                },
            }
        ],
    },
    "hourly-library-sync": {
        "name": "Hourly library sync",
        "description": "Mirrors a library from its cloud integration at the top of every hour.",
        "job": {
            "type": "library-sync",
            "name": "Hourly library sync",
            "interval": "0 * * * *",
            "intervalType": "cron",
            "overlapPolicy": "skip",
        },
        "actions": [],
    },
    "api-health-check": {
        "name": "API health check",
        "description": "Calls an endpoint every 5 minutes; a failure sends a notice.",
        "job": {
            "type": "api-call",
            "name": "API health check",
            "interval": "*/5 * * * *",
            "intervalType": "cron",
            "misfirePolicy": "skip",
            "timeoutSeconds": 60,
            "data": {"url": "https://example.com/health", "method": "GET", "expectStatus": [200]},
        },
        "actions": [FAILURE_NOTICE],
    },
    "monthly-snapshot-cleanup": {
        "name": "Monthly snapshot cleanup",
        "description": (
            "Keeps the 30 newest snapshots of every dataset its owner may change, on the first day of each month "
            "at 03:00 (list aliases in data.datasets to narrow it)."
        ),
        "job": {
            "type": "snapshot-cleanup",
            "name": "Monthly snapshot cleanup",
            "interval": "0 3 1 * *",
            "intervalType": "cron",
            "data": {"datasets": "all", "keep": 30},
        },
        "actions": [],
    },
    "webhook-with-failure-notice": {
        "name": "Webhook with failure notice",
        "description": "Posts to a webhook every day at 09:00; emails a notice when anything failed.",
        "job": {"type": "email", "name": "Daily webhook", "interval": "0 9 * * *", "intervalType": "cron"},
        "actions": [
            {
                "type": "webhook",
                "name": "Notify the endpoint",
                "data": {
                    "url": "https://example.com/hooks/informer",
                    "method": "POST",
                    "headers": {"Content-Type": "application/json"},
                    "body": '{"job": "{{ job.naturalId }}", "run": "{{ run.id }}"}',
                },
            },
            FAILURE_NOTICE,
        ],
    },
    "on-demand-webhook": {
        "name": "Webhook on demand",
        "description": (
            "Posts to a webhook only when someone runs it: manual-only (intervalType none), never on a schedule; "
            "the body says who ran it."
        ),
        "job": {"type": "email", "name": "Webhook on demand", "intervalType": "none"},
        "actions": [
            {
                "type": "webhook",
                "name": "Notify the endpoint",
                "data": {
                    "url": "https://example.com/hooks/informer",
                    "method": "POST",
                    # No Content-Type: a JSON body is sent as application/json (and with an Idempotency-Key).
                    "body": (
                        '{"job": "{{ job.naturalId }}", "run": "{{ run.id }}", '
                        '"triggeredBy": "{{ run.triggeredBy.username|default:run.triggeredBy.type }}"}'
                    ),
                },
            }
        ],
    },
}


def blueprint(template_id: str) -> dict[str, Any] | None:
    """A deep copy of one blueprint, or None."""
    found = BLUEPRINTS.get(template_id)
    return copy.deepcopy(found) if found is not None else None


def apply_blueprint(template: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The job body a template gives once the client's own fields override it."""
    merged = {**template["job"], **body}
    if isinstance(template["job"].get("data"), dict) and isinstance(body.get("data"), dict):
        merged["data"] = {**template["job"]["data"], **body["data"]}
    return merged


def blueprint_drivers(template: dict[str, Any]) -> Iterator[tuple[registry.Kind, str]]:
    """``(kind, id)`` of every driver a blueprint uses: its job type, its actions' and their attachments'."""
    yield "job", template["job"]["type"]
    for action in template["actions"]:
        yield "action", action["type"]
        for attachment in action.get("attachments", []):
            yield "attachment", attachment["type"]


def unavailable_driver(template: dict[str, Any]) -> tuple[registry.Kind, str] | None:
    """The first driver the blueprint uses that is not available on this installation, or None."""
    for kind, driver_id in blueprint_drivers(template):
        if registry.unavailable_message(kind, driver_id) is not None:
            return kind, driver_id
    return None


def blueprint_available(template: dict[str, Any]) -> bool:
    """Whether every driver the blueprint uses is available on this installation."""
    return unavailable_driver(template) is None


def blueprint_unavailable_message(template_id: str, template: dict[str, Any]) -> str | None:
    """Why no job can be created from this blueprint here, or None when one can."""
    missing = unavailable_driver(template)
    if missing is None:
        return None
    kind, driver_id = missing
    return (
        f"The job template '{template_id}' is not available on this installation: it uses the "
        f"{registry.KIND_LABELS[kind]} '{driver_id}', which is not."
    )
