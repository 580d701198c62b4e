"""Driver registry: a plain map from kind to dotted path, imported lazily on first use."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from jobs.drivers.base import ActionDriver, AttachmentDriver, Driver

JOB_DRIVERS: dict[str, str] = {
    "email": "jobs.drivers.job_types.EmailJob",
    "dataset-refresh": "jobs.drivers.job_types.DatasetRefreshJob",
    "library-sync": "jobs.drivers.job_types.LibrarySyncJob",
    "index-files": "jobs.drivers.job_types.IndexFilesJob",
    "api-call": "jobs.drivers.job_types.ApiCallJob",
    "snapshot-cleanup": "jobs.drivers.job_types.SnapshotCleanupJob",
}

ACTION_DRIVERS: dict[str, str] = {
    "email": "jobs.drivers.actions.EmailAction",
    "webhook": "jobs.drivers.actions.WebhookAction",
    "dataset": "jobs.drivers.actions.DatasetAction",
    "library": "jobs.drivers.actions.LibraryAction",
}

ATTACHMENT_DRIVERS: dict[str, str] = {
    "file": "jobs.drivers.attachments.FileAttachment",
    "dataset": "jobs.drivers.attachments.DatasetAttachment",
    "report": "jobs.drivers.attachments.ReportAttachment",
}


class UnknownDriver(LookupError):
    """No driver is registered under that kind."""


@cache
def _load(path: str) -> type[Driver]:
    module_name, _, attribute = path.rpartition(".")
    return getattr(import_module(module_name), attribute)


def job_driver(kind: str) -> type[Driver]:
    """The job-type driver registered as ``kind``."""
    try:
        return _load(JOB_DRIVERS[kind])
    except KeyError:
        raise UnknownDriver(kind) from None


def job_drivers() -> list[type[Driver]]:
    """Every registered job-type driver, in registration order."""
    return [_load(path) for path in JOB_DRIVERS.values()]


def action_driver(kind: str) -> type[ActionDriver]:
    """The action driver registered as ``kind``."""
    try:
        return _load(ACTION_DRIVERS[kind])  # type: ignore[return-value]
    except KeyError:
        raise UnknownDriver(kind) from None


def action_drivers() -> list[type[Driver]]:
    """Every registered action driver."""
    return [_load(path) for path in ACTION_DRIVERS.values()]


def attachment_driver(kind: str) -> type[AttachmentDriver]:
    """The attachment driver registered as ``kind``."""
    try:
        return _load(ATTACHMENT_DRIVERS[kind])  # type: ignore[return-value]
    except KeyError:
        raise UnknownDriver(kind) from None


def attachment_drivers() -> list[type[Driver]]:
    """Every registered attachment driver."""
    return [_load(path) for path in ATTACHMENT_DRIVERS.values()]
