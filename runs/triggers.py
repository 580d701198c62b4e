"""Who or what started a run: ``Run.triggered_by``, shown as ``triggeredBy`` in the API, the admin and templates.

A small JSON object recorded when the run is made, so that it stays true after the user is renamed or
deleted (as a Rundeck execution keeps its user's name). Every form has ``type`` and ``name``, a label to
show; the other keys depend on the type:

* ``{"type": "user", "id": 7, "username": "ana", "name": "Ana Lima"}``: "Run now" in the API or the
  admin, and re-runs (``name`` is the full name, else the username);
* ``{"type": "command", "command": "run_job", "osUser": "deploy", "host": "web-1", "name": …}``: a
  management command on a server (the operating-system account, as no Django user is involved);
* ``{"type": "schedule", "name": "schedule"}`` and ``{"type": "catchUp", "name": "catch-up"}``: the
  scheduler, on time or for a missed occurrence (the ``trigger`` of the record says the same);
* ``{"type": "retry", "originalRunId": "<uuid>", "name": "retry"}``: the next attempt of a failed run;
  ``originalRunId`` is the first attempt's id, the same for every attempt of one run (it makes the
  ``Idempotency-Key`` of webhook deliveries);
* ``{"type": "unknown", "name": "unknown"}``: runs recorded before this field existed, or made by code
  that did not say.
"""

from __future__ import annotations

import getpass
import socket
from typing import TYPE_CHECKING, Any

from runs.models import Trigger

if TYPE_CHECKING:
    from runs.models import Run

TYPES = ("user", "command", "schedule", "catchUp", "retry", "unknown")
UNKNOWN: dict[str, Any] = {"type": "unknown", "name": "unknown"}
SCHEDULE: dict[str, Any] = {"type": "schedule", "name": "schedule"}
CATCH_UP: dict[str, Any] = {"type": "catchUp", "name": "catch-up"}


def by_user(user: Any) -> dict[str, Any]:
    """A run started by ``user`` (run now, re-run)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return dict(UNKNOWN)
    name = user.get_full_name() or user.username
    return {"type": "user", "id": user.pk, "username": user.username, "name": name}


def by_command(command: str) -> dict[str, Any]:
    """A run started by a management command, with the account and host it ran as."""
    try:
        account = getpass.getuser()
    except Exception:  # no login name and no passwd entry (some containers): the account stays unnamed
        account = ""
    host = socket.gethostname()
    where = f"{account}@{host}" if account else host
    return {"type": "command", "command": command, "osUser": account, "host": host, "name": f"{command} ({where})"}


def by_scheduler(trigger: str) -> dict[str, Any]:
    """An occurrence the scheduler recorded: on time (``schedule``) or caught up (``catchUp``)."""
    return dict(CATCH_UP if trigger == Trigger.CATCH_UP else SCHEDULE)


def by_retry(previous: Run) -> dict[str, Any]:
    """The next attempt of ``previous``: it names the first attempt, whichever attempt failed."""
    return {"type": "retry", "originalRunId": str(original_run_id(previous)), "name": "retry"}


def original_run_id(run: Run) -> Any:
    """The id of the first attempt of ``run`` (its own id unless it is a retry)."""
    if run.trigger == Trigger.RETRY:
        original = (run.triggered_by or {}).get("originalRunId")
        if original:
            return original
        if run.retry_of_id is not None:
            return run.retry_of_id  # a retry recorded without it: the attempt it retried is the best known
    return run.pk


def label(triggered_by: dict[str, Any] | None) -> str:
    """What to show for a run's ``triggeredBy``."""
    if not triggered_by:
        return UNKNOWN["name"]
    return str(triggered_by.get("name") or triggered_by.get("type") or UNKNOWN["name"])
