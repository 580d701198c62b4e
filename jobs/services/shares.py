"""Writes and reads of a job's shares (§3): principals, access levels and the permissions behind them."""

from __future__ import annotations

from collections.abc import Iterable

from informer import shares
from informer.models import Team, User
from informer.shares import Principal, principal_of, principal_resolve
from jobs.models import Job, JobGroupObjectPermission, JobUserObjectPermission

__all__ = [
    "ACCESS_LEVELS",
    "JOB_SHARES",
    "Principal",
    "principal_of",
    "principal_resolve",
    "share_get",
    "share_level",
    "share_list",
    "share_set",
]

ACCESS_LEVELS: dict[int, tuple[str, ...]] = {
    0: (),
    1: ("view_job",),
    2: ("view_job", "change_job", "run_job"),
    3: ("view_job", "change_job", "run_job", "delete_job", "share_job"),
}

JOB_SHARES = shares.Shareable(
    noun="job",
    app_label="jobs",
    user_permissions=JobUserObjectPermission,
    group_permissions=JobGroupObjectPermission,
    levels=ACCESS_LEVELS,
)


def share_level(codenames: Iterable[str]) -> int:
    """The highest access level whose permissions ``codenames`` include."""
    return shares.share_level(ACCESS_LEVELS, codenames)


def share_list(*, job: Job) -> list[tuple[Principal, int]]:
    """Every principal holding any permission on ``job`` with their access level."""
    return shares.share_list(JOB_SHARES, job)


def share_get(*, job: Job, principal: User | Team) -> int:
    """The access level ``principal`` holds on ``job`` directly (not through a team)."""
    return shares.share_get(JOB_SHARES, job, principal)


def share_set(*, job: Job, principal: User | Team, level: int) -> int:
    """Give ``principal`` exactly the permissions of access ``level`` on ``job``."""
    return shares.share_set(JOB_SHARES, job, principal, level)
