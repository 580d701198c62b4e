"""Shares (§3) of libraries: access levels and the permissions behind them."""

from __future__ import annotations

from informer import shares
from informer.models import Team, User
from informer.shares import Principal
from library.models import Library, LibraryGroupObjectPermission, LibraryUserObjectPermission

# 1 may read it and download its files; 2 may also edit it, upload and delete files, and sync it;
# 3 may also delete and share it.
LIBRARY_ACCESS_LEVELS: dict[int, tuple[str, ...]] = {
    0: (),
    1: ("view_library",),
    2: ("view_library", "change_library", "sync_library"),
    3: ("view_library", "change_library", "sync_library", "delete_library", "share_library"),
}

LIBRARY_SHARES = shares.Shareable(
    noun="library",
    app_label="library",
    user_permissions=LibraryUserObjectPermission,
    group_permissions=LibraryGroupObjectPermission,
    levels=LIBRARY_ACCESS_LEVELS,
)


def share_list(*, library: Library) -> list[tuple[Principal, int]]:
    """Every principal holding any permission on ``library`` with their access level."""
    return shares.share_list(LIBRARY_SHARES, library)


def share_get(*, library: Library, principal: User | Team) -> int:
    """The access level ``principal`` holds on ``library`` directly (not through a team)."""
    return shares.share_get(LIBRARY_SHARES, library, principal)


def share_set(*, library: Library, principal: User | Team, level: int) -> int:
    """Give ``principal`` exactly the permissions of access ``level`` on ``library`` (its owner keeps level 3)."""
    return shares.share_set(LIBRARY_SHARES, library, principal, level)


def library_grant_owner(library: Library, user: User) -> None:
    """Give a library's creator every library permission (level 3)."""
    shares.share_set(LIBRARY_SHARES, library, user, 3)
