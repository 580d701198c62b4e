"""What did run: run history and workers (filled in by the running-jobs work)."""

from __future__ import annotations
