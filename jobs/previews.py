"""Render an action as a run would render it now, delivering nothing (API and admin alike)."""

from __future__ import annotations

from typing import Any

from informer import redaction
from informer.api.exceptions import DomainError
from jobs.drivers.base import RunContext, StepFailed
from jobs.drivers.registry import action_driver
from jobs.models import JobAction
from jobs.selectors import action_definition, job_definition


def action_preview(
    *, action: JobAction, data: dict[str, Any] | None = None, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What ``action`` would deliver now; ``data`` overrides its own keys, ``params`` stand in for a run's.

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
    context = RunContext(
        run_id="",
        job=job_definition(action.job),
        params=params or {},
        results={},
        run={"id": None, "trigger": "preview"},
        preview=True,
    )
    try:
        return driver.preview(context, definition)
    except StepFailed as failure:
        raise DomainError(failure.message, field="data") from None
