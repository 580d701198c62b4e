"""IANA time zone names: the one check every place runs before turning a name into a ZoneInfo.

Pure (standard library only), so the schedule engine uses it as the models and services do.
"""

from __future__ import annotations

import re
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

__all__ = ["MAX_NAME_LENGTH", "UnknownTimeZone", "load_zone", "zone_names"]

# The columns hold 64 characters; the longest IANA name has 32 (America/Argentina/ComodRivadavia).
MAX_NAME_LENGTH = 64
# ASCII letters, digits, '_', '-' and '+' in '/'-separated parts that start with a letter or digit:
# no '..', no absolute path, no NUL, so nothing odd ever reaches the file system through zoneinfo.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9][A-Za-z0-9_+\-]*)*", re.ASCII)


class UnknownTimeZone(ValueError):
    """The value does not name an IANA time zone; the message is one readable sentence."""


def load_zone(name: object) -> ZoneInfo:
    """The ZoneInfo of an IANA time zone name; UnknownTimeZone if it is not one."""
    if not isinstance(name, str) or not name.strip():
        raise UnknownTimeZone("A time zone is required, e.g. 'Europe/Berlin'.")
    if len(name) > MAX_NAME_LENGTH:
        # Checked before zoneinfo sees it: a name past the file system's limit is an OSError there.
        raise UnknownTimeZone(
            f"The time zone name is {len(name)} characters long; IANA names have at most {MAX_NAME_LENGTH}."
        )
    if not _NAME.fullmatch(name) or name not in zone_names():
        raise UnknownTimeZone(f"Unknown time zone '{name}'.")
    try:
        return ZoneInfo(name)
    except (ValueError, OSError):
        # Listed but unreadable (a damaged tzdata file): still not a zone this service can use.
        raise UnknownTimeZone(f"Unknown time zone '{name}'.") from None


@cache
def zone_names() -> frozenset[str]:
    """The IANA names accepted anywhere in the service."""
    # 'localtime' is whatever the host is set to and 'Factory' is a placeholder: neither names a place.
    return frozenset(available_timezones()) - {"localtime", "Factory"}
