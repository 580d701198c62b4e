"""The headers every outbound delivery adds (webhook actions, ``api-call`` jobs), so that receivers can de-duplicate.

* ``Idempotency-Key: <run id>:<action id>`` (``<run id>:job`` for an ``api-call`` job's request). The run
  id is the first attempt's: a worker killed mid-run is retried as a new run, and its deliveries carry
  the same key as the first attempt's, so a receiver that keeps the keys it has seen does the work once.
  A preview shows the key with its stand-in run id.
* ``Content-Type: application/json`` when the body is JSON.

Neither replaces a header the job or action sets itself, whatever its case (``content-type`` included).
"""

from __future__ import annotations

import json
from typing import Any

from jobs.drivers.base import RunContext

IDEMPOTENCY_KEY = "Idempotency-Key"
JOB_STEP = "job"  # the key's second part for the request of an api-call job


def idempotency_key(context: RunContext, step: str) -> str:
    """``<first attempt's run id>:<step>``, where ``step`` is an action id or ``job``."""
    return f"{context.delivery_id or context.run_id}:{step}"


def delivery_headers(headers: dict[str, str], body: str | None, *, context: RunContext, step: str) -> dict[str, str]:
    """``headers`` with an Idempotency-Key and, for a JSON body, a Content-Type, unless they name them."""
    sent = dict(headers)
    named = {name.lower() for name in sent}
    if IDEMPOTENCY_KEY.lower() not in named:
        sent[IDEMPOTENCY_KEY] = idempotency_key(context, step)
    if "content-type" not in named and body and is_json(body):
        sent["Content-Type"] = "application/json"
    return sent


def is_json(text: str) -> bool:
    """Whether ``text`` is one JSON value (RFC 8259: no NaN or Infinity, which Python's decoder accepts)."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError):  # a body nested deeper than the decoder goes is not sent as JSON
        return False
    return True
