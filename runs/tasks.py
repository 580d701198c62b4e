"""django-q2 entry points: ids in, idempotent (a second delivery does nothing)."""

from __future__ import annotations

from runs.executor import execute_run as _execute_run


def execute_run(run_id: str) -> str:
    """Claim and execute one run by id."""
    return _execute_run(run_id)
