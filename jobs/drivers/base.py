"""What every driver is: an id, a name, a description and a JSON Schema for its ``data``."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.utils import timezone

from jobs.drivers.schema_errors import schema_errors


class Driver:
    """A registered kind of job, action or attachment."""

    id: ClassVar[str]
    name: ClassVar[str]
    description: ClassVar[str]
    schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False, "properties": {}}
    # False for a driver whose work this installation cannot do yet: it is listed (so clients know it
    # exists) but new jobs, actions and attachments may not choose it.
    available: ClassVar[bool] = True

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """The driver as the API lists it."""
        return {
            "id": cls.id,
            "name": cls.name,
            "description": cls.description,
            "available": cls.available,
            "schema": cls.schema,
        }

    @classmethod
    def validation_errors(cls, data: Any) -> list[str]:
        """Readable messages for every way ``data`` breaks the schema, each opening with its path (``data.url: …``)."""
        return schema_errors(cls.schema, data)

    @classmethod
    def reference_errors(
        cls, data: dict[str, Any], *, user: Any, tenant_id: int, current: dict[str, Any] | None = None
    ) -> list[str]:
        """Why ``user`` may not save ``data`` for lack of rights on what it names (a library, say), as
        ``data.<key>: …`` messages; ``current`` is the data stored before (same type), checked when it was saved."""
        return []


class StepFailed(Exception):
    """A step failed in an expected way; ``message`` becomes the progress entry's and the run's error.

    ``permanent`` says whether trying again could help (a bad URL will not; a timeout might).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        data: dict[str, Any] | None = None,
        entry: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.data = data or {}
        self.entry = entry or {}


@dataclass
class StepResult:
    """What a step reports: ``success`` or ``warning``, a message, results kept in the run's ``data``
    (under the step's key) and small extra fields for its progress entry (``entry``)."""

    message: str = ""
    warning: bool = False
    data: dict[str, Any] = field(default_factory=dict)
    entry: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return timezone.now().isoformat().replace("+00:00", "Z")


class ProgressEntry:
    """One progress entry a step added; it advances while the step works and ends before the step does."""

    def __init__(self, progress: StepProgress, entry: dict[str, Any]):
        self.progress = progress
        self.entry = entry

    def update(self, message: str, **fields: Any) -> None:
        """Say how far it got (a message and small fields such as ``records``); written within a second."""
        with self.progress.lock:
            self.entry.update(fields)
            self.entry["message"] = message
        self.progress.changed()

    def end(self, status: str, message: str, **fields: Any) -> None:
        """Close the entry as ``success``, ``warning`` or ``error`` with a last message."""
        with self.progress.lock:
            self.entry.update(fields)
            self.entry.update(status=status, message=message, endedAt=_now())
        self.progress.changed()


class StepProgress:
    """Progress entries a step adds beside its own, one per thing it works through (each dataset a refresh
    reads), so that a client polling the run watches them advance.

    The executor binds it to the run's progress (its list, its lock, and what writes it); previews and
    direct calls get an unbound one that keeps the entries to itself.
    """

    def __init__(
        self,
        entries: list[dict[str, Any]] | None = None,
        *,
        lock: threading.Lock | None = None,
        changed: Callable[[], None] | None = None,
    ):
        self.entries: list[dict[str, Any]] = [] if entries is None else entries
        self.lock = lock or threading.Lock()
        self.changed: Callable[[], None] = changed or (lambda: None)

    def begin(self, key: str, name: str, message: str = "", **fields: Any) -> ProgressEntry:
        """Add a running entry (after those already there) and write it."""
        entry = {
            "key": key,
            "name": name,
            "status": "running",
            "message": message,
            "startedAt": _now(),
            "endedAt": None,
        }
        entry.update(fields)
        with self.lock:
            self.entries.append(entry)
        self.changed()
        return ProgressEntry(self, entry)


@dataclass
class RunContext:
    """What a driver sees of the run it works for (or of the run a preview imagines)."""

    run_id: str
    job: dict[str, Any]
    params: dict[str, Any]
    results: dict[str, Any]
    should_stop: Callable[[], bool] = lambda: False
    run: dict[str, Any] = field(default_factory=dict)
    datasets: dict[str, Any] = field(default_factory=dict)
    preview: bool = False
    # What deliveries are keyed by (Idempotency-Key): the first attempt's run id, the same on every retry.
    delivery_id: str = ""
    # Entries a step adds to the run's progress as it works (see StepProgress).
    progress: StepProgress = field(default_factory=StepProgress)


@dataclass(frozen=True)
class AttachmentFile:
    """An attachment made ready to deliver."""

    name: str
    content_type: str
    content: bytes


class JobTypeDriver(Driver):
    """A job type: validates ``data`` and does the run's first step."""

    @classmethod
    def execute(cls, context: RunContext) -> StepResult:
        """Do the type's work for one run."""
        raise StepFailed(f"The '{cls.id}' job type is not available yet on this installation.", permanent=True)


class ActionDriver(Driver):
    """An action type: validates ``data``, renders a preview, and executes as one step of a run."""

    @classmethod
    def extra_errors(cls, data: dict[str, Any]) -> list[str]:
        """Checks beyond the JSON Schema (recipients, template syntax...)."""
        return []

    @classmethod
    def errors(cls, data: Any) -> list[str]:
        """Every problem with ``data``: the schema's first, then the driver's own checks."""
        problems = cls.validation_errors(data)
        return problems or cls.extra_errors(data)

    @classmethod
    def preview(cls, context: RunContext, action: dict[str, Any]) -> dict[str, Any]:
        """What the action would deliver now, without delivering anything."""
        raise StepFailed(f"The '{cls.id}' action is not available yet on this installation.", permanent=True)

    @classmethod
    def execute(cls, context: RunContext, action: dict[str, Any]) -> StepResult:
        """Deliver the action for one run."""
        raise StepFailed(f"The '{cls.id}' action is not available yet on this installation.", permanent=True)


class AttachmentDriver(Driver):
    """An attachment type: turns an attachment's definition into a file to deliver."""

    @classmethod
    def materialize(cls, context: RunContext, attachment: dict[str, Any]) -> AttachmentFile:
        """The attachment's name, content type and bytes for this run."""
        raise StepFailed(f"The '{cls.id}' attachment type is not available yet on this installation.", permanent=True)
