"""Driver registry: a plain map from kind to dotted path, imported lazily on first use."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from jobs.drivers.base import Driver

JOB_DRIVERS: dict[str, str] = {
    "email": "jobs.drivers.job_types.EmailJob",
    "dataset-refresh": "jobs.drivers.job_types.DatasetRefreshJob",
    "library-sync": "jobs.drivers.job_types.LibrarySyncJob",
    "index-files": "jobs.drivers.job_types.IndexFilesJob",
    "api-call": "jobs.drivers.job_types.ApiCallJob",
    "snapshot-cleanup": "jobs.drivers.job_types.SnapshotCleanupJob",
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
