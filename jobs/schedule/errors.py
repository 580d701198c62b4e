"""The one error of the schedule engine."""

from __future__ import annotations


class ScheduleError(ValueError):
    """A schedule that cannot be accepted; `field` names the offending API field (camelCase)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)  # both in args, so the error survives pickling
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return self.message
