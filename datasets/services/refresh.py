"""Refreshing a dataset: its query streamed into a new generation, swapped in once complete (§8).

One refresh per dataset at a time: a refresh claims the dataset with a conditional UPDATE of
``refresh_started_at`` that only one caller can win, renews the claim while rows stream, and releases it
when done. Readers keep seeing the current generation until the new one is READY and the dataset points
at it (one short transaction); a refresh that fails or is cancelled deletes its own rows and leaves the
dataset as it was.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from datasets import storage
from datasets.cells import FieldInference, rows_json, to_cell
from datasets.connectors.base import QueryStream
from datasets.connectors.registry import connector_for
from datasets.models import Dataset, Generation, GenerationStatus
from datasets.services.datasources import dataset_config
from informer.api.exceptions import Conflict, DomainError

__all__ = [
    "BATCH_ROWS",
    "RefreshCancelled",
    "RefreshInProgress",
    "RefreshResult",
    "bind_params",
    "dataset_clear",
    "dataset_refresh",
    "dataset_run",
    "refresh_claim",
]

logger = logging.getLogger(__name__)

BATCH_ROWS = 5000  # rows fetched from the source, and written, at a time
RENEW_SECONDS = 30.0  # how often a running refresh renews its claim
RUN_LIMIT_MAX = 1000


class RefreshInProgress(Conflict):
    """Another refresh (or restore) of this dataset is running: the 409."""

    def __init__(
        self, message: str = "The dataset is being refreshed; try again once that refresh has finished."
    ) -> None:
        super().__init__(message)


class RefreshCancelled(Exception):
    """The refresh stopped because its ``cancelled`` callback said so; the dataset is unchanged."""

    def __init__(self, message: str = "The refresh was cancelled; the dataset keeps its previous rows.") -> None:
        super().__init__(message)
        self.message = message


@dataclass
class RefreshResult:
    """What a refresh did (the §8 answer of ``_refresh``)."""

    id: uuid.UUID  # the dataset's
    records: int
    previous_record_count: int
    duration: int  # milliseconds
    fields_added: list[str]
    fields_updated: list[str]
    data_updated_at: dt.datetime | None
    truncated: bool
    success: bool = True
    generation_id: int | None = None
    size: int = 0  # bytes of the stored rows' JSON

    def as_json(self) -> dict[str, Any]:
        """The answer's JSON object (camelCase keys, as §8 names them)."""
        return {
            "id": str(self.id),
            "records": self.records,
            "previousRecordCount": self.previous_record_count,
            "duration": self.duration,
            "fieldsAdded": self.fields_added,
            "fieldsUpdated": self.fields_updated,
            "dataUpdatedAt": self.data_updated_at.isoformat().replace("+00:00", "Z") if self.data_updated_at else None,
            "truncated": self.truncated,
            "success": self.success,
        }


@dataclass
class Claim:
    """A dataset held by one refresh (or restore): ``token`` is the ``refresh_started_at`` it wrote."""

    dataset_id: uuid.UUID
    token: dt.datetime
    renewed: float = field(default_factory=time.monotonic)

    def renew(self) -> None:
        """Keep the claim alive while rows stream (at most every RENEW_SECONDS)."""
        if time.monotonic() - self.renewed < RENEW_SECONDS:
            return
        now = timezone.now()
        if not Dataset.objects.filter(pk=self.dataset_id, refresh_started_at=self.token).update(refresh_started_at=now):
            raise RefreshInProgress("Another refresh took this dataset over (this one had stalled); it stopped.")
        self.token, self.renewed = now, time.monotonic()

    def release(self) -> None:
        """Let the next refresh in (a claim another one took over is left to it)."""
        Dataset.objects.filter(pk=self.dataset_id, refresh_started_at=self.token).update(refresh_started_at=None)


@contextmanager
def refresh_claim(dataset_id: uuid.UUID) -> Iterator[Claim]:
    """Hold the dataset's refresh claim for the block; RefreshInProgress (409) when another holds it."""
    now = timezone.now()
    # One conditional UPDATE: of two callers, only one matches the row; a claim older than a statement
    # may run (its process died without releasing it) is taken over.
    free = Q(refresh_started_at__isnull=True) | Q(refresh_started_at__lt=storage.claim_stale_before(now))
    if not Dataset.objects.filter(free, pk=dataset_id).update(refresh_started_at=now):
        if not Dataset.objects.filter(pk=dataset_id).exists():
            raise DomainError("The dataset no longer exists.")
        raise RefreshInProgress()
    claim = Claim(dataset_id=dataset_id, token=now)
    try:
        yield claim
    finally:
        try:
            claim.release()
        except DatabaseError:  # the service's database went away: the claim goes stale and is taken over
            logger.exception("Could not release the refresh claim of dataset %s", dataset_id)


_INTEGER = re.compile(r"[+-]?\d+\Z")
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
_ARTICLE = {"integer": "an integer", "boolean": "a boolean (true or false)"}
# What every source binds as an integer (SQLite and MySQL refuse wider ones; PostgreSQL's bigint).
INTEGER_MIN, INTEGER_MAX = -(2**63), 2**63 - 1


class _OutOfRange(ValueError):
    """A whole number wider than a 64-bit integer, for a parameter of type integer."""


def _integer(value: int) -> int:
    if not INTEGER_MIN <= value <= INTEGER_MAX:
        raise _OutOfRange(value)
    return value


def _number(value: int | float) -> int | float:
    # A whole number too wide to bind as an integer is bound as the double a JSON number is.
    if isinstance(value, int) and not INTEGER_MIN <= value <= INTEGER_MAX:
        return float(value)  # OverflowError past a double's range
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return repr(value)
    return f"a {type(value).__name__}"


def _coerce(data_type: str, value: Any) -> Any:
    """``value`` (a JSON value, or the text ``--param k=v`` gives) as ``data_type``; ValueError if it is not one."""
    if data_type == "string":
        if isinstance(value, str):
            return value
    elif data_type == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return _integer(value)
        if isinstance(value, float) and value.is_integer():
            return _integer(int(value))
        if isinstance(value, str) and _INTEGER.match(value.strip()):
            return _integer(int(value.strip()))
    elif data_type == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _number(value)
        if isinstance(value, str) and value.strip():
            number = float(value)  # ValueError for text that is not a number
            if number == number and abs(number) != float("inf"):
                return _number(int(number)) if _INTEGER.match(value.strip()) else number
    elif data_type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
    elif data_type == "date":
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value
        if isinstance(value, str):
            return dt.date.fromisoformat(value.strip())
    elif data_type == "datetime":
        moment = value if isinstance(value, dt.datetime) else None
        if isinstance(value, str):
            moment = dt.datetime.fromisoformat(value.strip())
        if moment is not None:
            # A time without a zone is UTC, as every time in this service.
            return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    raise ValueError(data_type)


def bind_params(declared: list[dict[str, Any]], given: dict[str, Any] | None) -> dict[str, Any]:
    """The value of every declared parameter: given ones coerced to their type, the others their default.

    An undeclared name, a missing required one, or a value not of the declared type is a DomainError
    naming ``params.<name>``.
    """
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise DomainError("params: must be a JSON object of parameter values.", field="params")
    names = [item["name"] for item in declared]
    for name in given:
        if name not in names:
            known = ", ".join(names) if names else "none"
            raise DomainError(
                f"params.{name}: is not a parameter of this dataset; its parameters are: {known}.",
                field=f"params.{name}",
            )
    bound: dict[str, Any] = {}
    for item in declared:
        name, data_type = item["name"], item.get("type") or "string"
        value = given.get(name)
        if value is None or (isinstance(value, str) and value == "" and data_type != "string"):
            value = item.get("default")
            if value is None:
                if item.get("required"):
                    raise DomainError(f"params.{name}: is required.", field=f"params.{name}")
                bound[name] = None
                continue
        try:
            bound[name] = _coerce(data_type, value)
        except _OutOfRange:
            raise DomainError(
                f"params.{name}: must be an integer from {INTEGER_MIN} to {INTEGER_MAX}.", field=f"params.{name}"
            ) from None
        except (ValueError, TypeError, OverflowError):
            expected = _ARTICLE.get(data_type, f"a {data_type}")
            if data_type in ("date", "datetime"):
                expected += " in ISO 8601 (2024-01-31" + ("T08:00:00Z" if data_type == "datetime" else "") + ")"
            raise DomainError(
                f"params.{name}: must be {expected}, not {_json_type(value)}.", field=f"params.{name}"
            ) from None
    return bound


def _json_params(bound: dict[str, Any]) -> dict[str, Any]:
    return {name: to_cell(value) for name, value in bound.items()}


def _millis(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


@dataclass
class _Streamed:
    records: int = 0
    size: int = 0
    truncated: bool = False


def _stream_into(
    generation_id: int,
    stream: QueryStream,
    inference: FieldInference,
    *,
    claim: Claim,
    progress: Callable[[int], None] | None,
    cancelled: Callable[[], bool] | None,
) -> _Streamed:
    """Write the stream's rows to the generation batch by batch, up to the row and byte caps."""
    max_rows, max_bytes = settings.INFORMER_DATASET_MAX_ROWS, settings.INFORMER_DATASET_MAX_BYTES
    done = _Streamed()
    for fetched in stream.batches(BATCH_ROWS):
        if not fetched:
            continue
        batch = fetched
        room = max_rows - done.records
        if room <= 0 or done.size >= max_bytes:
            done.truncated = True  # a row beyond the caps exists: what was stored is not all there is
            break
        if len(batch) > room:
            batch, done.truncated = batch[:room], True
        cells = rows_json(batch)
        # One encode per batch: the byte size of the rows' JSON without a bytes object per row.
        size = len("\n".join(cells).encode()) - (len(cells) - 1)
        if done.size + size > max_bytes:
            keep, size = _fit(cells, max_bytes - done.size)
            batch, cells, done.truncated = batch[:keep], cells[:keep], True
        inference.observe(batch)
        storage.rows_write(generation_id=generation_id, first_position=done.records, cells=cells)
        done.records += len(cells)
        done.size += size
        claim.renew()
        if progress is not None:
            progress(done.records)
        if done.truncated:
            break
        if cancelled is not None and cancelled():
            raise RefreshCancelled()
    return done


def _fit(cells: list[str], room: int) -> tuple[int, int]:
    """How many of ``cells`` fit in ``room`` bytes, and their size."""
    used = 0
    for count, text in enumerate(cells):
        length = len(text.encode())
        if used + length > room:
            return count, used
        used += length
    return len(cells), used


def _discard(generation_id: int) -> None:
    """Delete a failed refresh's rows and generation; if the database is unreachable, collection does it later."""
    try:
        storage.generation_delete(generation_id)
    except DatabaseError:
        logger.exception("Could not delete the rows of failed generation %s", generation_id)


def _field_changes(previous: list[dict[str, Any]], fields: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    before = {item["name"]: item.get("dataType") for item in previous}
    added = [item["name"] for item in fields if item["name"] not in before]
    updated = [item["name"] for item in fields if item["name"] in before and before[item["name"]] != item["dataType"]]
    return added, updated


def dataset_refresh(
    *,
    dataset: Dataset,
    params: dict[str, Any] | None = None,
    progress: Callable[[int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> RefreshResult:
    """Run the dataset's query, store its rows as a new generation and make it current; the §8 answer."""
    started = time.monotonic()
    with refresh_claim(dataset.pk) as claim:
        dataset.refresh_from_db(fields=["records", "fields", "current_generation", "size", "truncated"])
        previous_records, previous_fields = dataset.records, list(dataset.fields or [])
        bound = bind_params(dataset.params or [], params)
        connector = connector_for(dataset_config(dataset.datasource))
        generation = Generation.objects.create(
            dataset=dataset, status=GenerationStatus.BUILDING, params=_json_params(bound)
        )
        try:
            with connector.open(dataset.query, bound, timeout=settings.INFORMER_QUERY_TIMEOUT) as stream:
                inference = FieldInference(stream.columns)
                streamed = _stream_into(
                    generation.pk, stream, inference, claim=claim, progress=progress, cancelled=cancelled
                )
            fields = inference.fields()
            now = timezone.now()
            duration = _millis(started)
            with transaction.atomic():
                ready = Generation.objects.filter(pk=generation.pk, status=GenerationStatus.BUILDING).update(
                    status=GenerationStatus.READY,
                    fields=fields,
                    records=streamed.records,
                    size=streamed.size,
                    truncated=streamed.truncated,
                    completed_at=now,
                )
                # The swap: readers see the old generation until this commits, the new one after.
                swapped = Dataset.objects.filter(pk=dataset.pk, refresh_started_at=claim.token).update(
                    current_generation=generation.pk,
                    records=streamed.records,
                    size=streamed.size,
                    fields=fields,
                    truncated=streamed.truncated,
                    data_updated_at=now,
                    last_duration_millis=duration,
                    refresh_started_at=None,
                )
                if not (ready and swapped):
                    raise RefreshInProgress(
                        "Another refresh took this dataset over (this one had stalled); it stopped."
                    )
        except BaseException:
            # Any failure, a cancel or the worker stopping: the rows written so far go, the dataset stays.
            _discard(generation.pk)
            raise
    dataset.current_generation_id = generation.pk
    dataset.records, dataset.size, dataset.fields = streamed.records, streamed.size, fields
    dataset.truncated, dataset.data_updated_at, dataset.last_duration_millis = streamed.truncated, now, duration
    dataset.refresh_started_at = None
    _collect(dataset.pk)
    added, updated = _field_changes(previous_fields, fields)
    return RefreshResult(
        id=dataset.pk,
        records=streamed.records,
        previous_record_count=previous_records,
        duration=duration,
        fields_added=added,
        fields_updated=updated,
        data_updated_at=now,
        truncated=streamed.truncated,
        success=True,
        generation_id=generation.pk,
        size=streamed.size,
    )


def _collect(dataset_id: uuid.UUID) -> None:
    # The new rows are in place; failing to delete the old ones now only postpones it to the next collection.
    try:
        storage.generations_collect(dataset_id=dataset_id)
    except DatabaseError:
        logger.exception("Could not collect the old generations of dataset %s", dataset_id)


def dataset_run(*, dataset: Dataset, params: dict[str, Any] | None = None, limit: int = 100) -> dict[str, Any]:
    """Run the dataset's query without storing anything: ``{records, duration, success, params, fields, rows}``."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= RUN_LIMIT_MAX:
        raise DomainError(f"limit: must be an integer from 1 to {RUN_LIMIT_MAX}.", field="limit")
    started = time.monotonic()
    bound = bind_params(dataset.params or [], params)
    connector = connector_for(dataset_config(dataset.datasource))
    rows: list[tuple[Any, ...]] = []
    with connector.open(dataset.query, bound, timeout=settings.INFORMER_QUERY_TIMEOUT) as stream:
        inference = FieldInference(stream.columns)
        for batch in stream.batches(limit):
            rows.extend(batch[: limit - len(rows)])
            if len(rows) >= limit:
                break
    inference.observe(rows)
    fields = inference.fields()
    names = [item["name"] for item in fields]
    return {
        "records": len(rows),
        "duration": _millis(started),
        "success": True,
        "params": _json_params(bound),
        "fields": fields,
        "rows": [dict(zip(names, (to_cell(value) for value in row), strict=False)) for row in rows],
    }


def dataset_clear(*, dataset: Dataset) -> None:
    """Empty the dataset: a new, empty generation becomes current (its fields kept); the old one is collected."""
    with refresh_claim(dataset.pk) as claim:
        dataset.refresh_from_db(fields=["fields"])
        now = timezone.now()
        with transaction.atomic():
            generation = Generation.objects.create(
                dataset=dataset, status=GenerationStatus.READY, fields=dataset.fields, completed_at=now
            )
            Dataset.objects.filter(pk=dataset.pk, refresh_started_at=claim.token).update(
                current_generation=generation.pk, records=0, size=0, truncated=False, data_updated_at=now
            )
    dataset.current_generation_id = generation.pk
    dataset.records, dataset.size, dataset.truncated, dataset.data_updated_at = 0, 0, False, now
    dataset.refresh_started_at = None
    _collect(dataset.pk)
