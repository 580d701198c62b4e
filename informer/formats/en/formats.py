"""English formats: a time shows its seconds and its zone (``2026-12-03 07:41:05 UTC``), never ``7:41 a.m.``.

Django's admin formats every date-time field with these (lists, read-only fields); the times an admin formats
itself go through ``informer.admin.display.admin_time``, which writes the same format with strftime.
"""

from __future__ import annotations

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
