"""Render an action as a run would render it now, delivering nothing (API and admin alike)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from informer import redaction
from informer.api.exceptions import DomainError
from jobs.drivers.base import RunContext, StepFailed
from jobs.drivers.registry import action_driver
from jobs.models import JobAction
from jobs.selectors import action_definition, job_definition
from jobs.services.dataset_runs import RunDatasets

# A preview has no run: it renders with this id, well-formed (a UUID, as a run's) and plainly not a run's
# (the nil UUID), so that a template or a receiver's parser sees the shape it will get and nobody mistakes
# it for a real run. The id the next run will have is not known before it is recorded.
PREVIEW_RUN_ID = "00000000-0000-0000-0000-000000000000"


def preview_run(user: Any = None) -> dict[str, Any]:
    """The ``run`` of a preview's template context: a "run now" by ``user`` starting at this moment.

    ``triggeredBy`` has the shape the runs app records for a user's run (``runs/triggers.py``).
    """
    if user is not None and getattr(user, "is_authenticated", False):
        name = user.get_full_name() or user.username
        triggered_by = {"type": "user", "id": user.pk, "username": user.username, "name": name}
    else:
        triggered_by = {"type": "unknown", "name": "unknown"}
    return {
        "id": PREVIEW_RUN_ID,
        "status": "running",
        "trigger": "preview",
        "triggeredBy": triggered_by,
        "attempt": 1,
        "scheduledFor": None,
        "startedAt": timezone.now().isoformat().replace("+00:00", "Z"),
    }


def action_preview(
    *,
    action: JobAction,
    data: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    user: Any = None,
) -> dict[str, Any]:
    """What ``action`` would deliver now; ``data`` overrides its own keys, ``params`` stand in for a run's.

    ``user``, the one asking, is the preview's ``run.triggeredBy``, as if they ran the job now.

    A mask in ``data`` stands for the stored value it hides, as on a write. A bad override (or a mask
    standing for nothing) is a 400 naming ``data``; a render failure (a template error, an invalid rendered
    address) is a 400 with the driver's message.
    """
    driver = action_driver(action.type)
    definition = action_definition(action)
    if data is not None:
        # The data as a GET showed it may carry masks: each stands for the stored value, as on a PUT.
        data, mask_errors = redaction.restore_masked(data, action.data)
        if mask_errors:
            raise DomainError(mask_errors[0], details={"data": mask_errors})
        merged = {**action.data, **data}
        errors = driver.errors(merged)
        if errors:
            raise DomainError(errors[0], details={"data": errors})
        definition["data"] = merged
    job = job_definition(action.job)
    context = RunContext(
        run_id=PREVIEW_RUN_ID,
        job=job,
        params=params or {},
        results={},
        run=preview_run(user),
        # The datasets as a run would see them now, less those the one asking may not read.
        datasets=RunDatasets(job, viewer=user).refresh(),
        preview=True,
        delivery_id=PREVIEW_RUN_ID,
    )
    try:
        return driver.preview(context, definition)
    except StepFailed as failure:
        raise DomainError(failure.message, field="data") from None
