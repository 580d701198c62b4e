"""Driver registry: a plain map from kind to dotted path, imported lazily on first use."""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import Literal, cast

from informer.api.exceptions import DomainError
from jobs.drivers.base import ActionDriver, AttachmentDriver, Driver, JobTypeDriver

JOB_DRIVERS: dict[str, str] = {
    "email": "jobs.drivers.job_types.EmailJob",
    "dataset-refresh": "jobs.drivers.job_types.DatasetRefreshJob",
    "library-sync": "jobs.drivers.libraries.LibrarySyncJob",
    "index-files": "jobs.drivers.libraries.IndexFilesJob",
    "api-call": "jobs.drivers.job_types.ApiCallJob",
    "snapshot-cleanup": "jobs.drivers.job_types.SnapshotCleanupJob",
}

ACTION_DRIVERS: dict[str, str] = {
    "email": "jobs.drivers.actions.EmailAction",
    "webhook": "jobs.drivers.actions.WebhookAction",
    "dataset": "jobs.drivers.dataset_actions.DatasetAction",
    "library": "jobs.drivers.libraries.LibraryAction",
}

ATTACHMENT_DRIVERS: dict[str, str] = {
    "file": "jobs.drivers.attachments.FileAttachment",
    "dataset": "jobs.drivers.attachments.DatasetAttachment",
    "report": "jobs.drivers.reports.ReportAttachment",
}


Kind = Literal["job", "action", "attachment"]

REGISTRIES: dict[str, dict[str, str]] = {
    "job": JOB_DRIVERS,
    "action": ACTION_DRIVERS,
    "attachment": ATTACHMENT_DRIVERS,
}

# How messages name a driver of each kind.
KIND_LABELS: dict[str, str] = {"job": "job type", "action": "action type", "attachment": "attachment type"}


class UnknownDriver(LookupError):
    """No driver is registered under that kind."""


# Each registry holds one kind of driver, which the lookups below cast to (an import path cannot say it).
@cache
def _load(path: str) -> type[Driver]:
    module_name, _, attribute = path.rpartition(".")
    return getattr(import_module(module_name), attribute)


def job_driver(kind: str) -> type[JobTypeDriver]:
    """The job-type driver registered as ``kind``."""
    try:
        return cast(type[JobTypeDriver], _load(JOB_DRIVERS[kind]))
    except KeyError:
        raise UnknownDriver(kind) from None


def job_drivers() -> list[type[Driver]]:
    """Every registered job-type driver, in registration order."""
    return [_load(path) for path in JOB_DRIVERS.values()]


def action_driver(kind: str) -> type[ActionDriver]:
    """The action driver registered as ``kind``."""
    try:
        return cast(type[ActionDriver], _load(ACTION_DRIVERS[kind]))
    except KeyError:
        raise UnknownDriver(kind) from None


def action_drivers() -> list[type[Driver]]:
    """Every registered action driver."""
    return [_load(path) for path in ACTION_DRIVERS.values()]


def attachment_driver(kind: str) -> type[AttachmentDriver]:
    """The attachment driver registered as ``kind``."""
    try:
        return cast(type[AttachmentDriver], _load(ATTACHMENT_DRIVERS[kind]))
    except KeyError:
        raise UnknownDriver(kind) from None


def attachment_drivers() -> list[type[Driver]]:
    """Every registered attachment driver."""
    return [_load(path) for path in ATTACHMENT_DRIVERS.values()]


def driver(kind: Kind, driver_id: str) -> type[Driver]:
    """The driver of ``kind`` (``job``, ``action``, ``attachment``) registered as ``driver_id``."""
    try:
        return _load(REGISTRIES[kind][driver_id])
    except KeyError:
        raise UnknownDriver(driver_id) from None


def choices(kind: Kind, *, available_only: bool = False) -> list[tuple[str, str]]:
    """``(id, name)`` of every driver of ``kind`` in registration order, e.g. for a form's choices."""
    drivers = (_load(path) for path in REGISTRIES[kind].values())
    return [(item.id, item.name) for item in drivers if item.available or not available_only]


def unavailable_message(kind: Kind, driver_id: str) -> str | None:
    """Why ``driver_id`` cannot be chosen on this installation, or None when it can (or is not registered)."""
    if driver_id not in REGISTRIES[kind] or driver(kind, driver_id).available:
        return None
    return f"The {KIND_LABELS[kind]} '{driver_id}' is not available on this installation."


def require_available(kind: Kind, driver_id: str, *, current: str | None = None, field: str = "type") -> None:
    """Refuse choosing a driver that cannot work here (a 400 naming ``field``).

    Keeping the one a row already has (``current``) is allowed: existing jobs, actions and attachments of
    a type that is not available stay readable, editable (to disable them, say) and deletable.
    """
    if driver_id == current:
        return
    message = unavailable_message(kind, driver_id)
    if message is not None:
        raise DomainError(f"{field}: {message}", details={field: [message]})
