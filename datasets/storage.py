"""A generation's stored rows: written in batches, deleted in batches, collected when nothing points at them.

Rows are keyed (generation, position) and a ``DatasetRow`` has no foreign-key constraint on its generation
(``DO_NOTHING``): a million rows are never cascaded by the ORM. Rows therefore always go through this
module — ``generation_delete`` for one generation, ``generations_collect`` for the unreferenced ones and
``dataset_rows_delete_all`` before a dataset is deleted.

Each batch is its own short transaction (when the caller holds none): a refresh of a million rows never
holds SQLite's write lock or a PostgreSQL transaction for its whole length, and its BUILDING generation is
invisible anyway, as no dataset points at it until the refresh completes.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, ProtectedError, Q
from django.utils import timezone

from datasets import sort_indexes
from datasets.models import Dataset, DatasetRow, Generation, GenerationStatus, Snapshot

logger = logging.getLogger(__name__)

# Rows per INSERT batch on engines without COPY, and per DELETE.
WRITE_BATCH = 5000
DELETE_BATCH = 20_000

_TABLE = DatasetRow._meta.db_table
_COPY_SQL = f"COPY {_TABLE} (generation_id, position, cells) FROM STDIN"


def claim_stale_before(now: dt.datetime | None = None) -> dt.datetime:
    """Claims older than this are abandoned: their refresh died without releasing them."""
    # A live refresh renews its claim between batches; one untouched for longer than a statement may run
    # (plus a margin) belongs to a process that is gone.
    return (now or timezone.now()) - dt.timedelta(seconds=settings.INFORMER_QUERY_TIMEOUT + 60)


def rows_write(*, generation_id: int, first_position: int, cells: Sequence[str]) -> None:
    """Store one batch of rows (their cells as JSON text) at ``first_position`` onwards, committed at once."""
    if not cells:
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A building generation's rows are worthless after a crash (the refresh starts again), so a
            # batch need not wait for its WAL to reach the disk; the swap that makes them current commits
            # normally, and makes every batch before it durable with it.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
            _copy(generation_id, first_position, cells)
        else:
            _insert(generation_id, first_position, cells)


def _copy(generation_id: int, first_position: int, cells: Sequence[str]) -> None:
    # COPY through the psycopg cursor under Django's own, in COPY's text format written as one block (a
    # third of write_row's cost per row): the JSON holds no raw tab, newline or carriage return (the
    # encoder escapes every control character), so only its backslashes need doubling.
    data = "".join(
        [
            f"{generation_id}\t{position}\t{text.replace(chr(92), chr(92) * 2)}\n"
            for position, text in enumerate(cells, start=first_position)
        ]
    )
    with connection.cursor() as cursor, cursor.cursor.copy(_COPY_SQL) as copy:
        copy.write(data)


def _insert(generation_id: int, first_position: int, cells: Sequence[str]) -> None:
    table = connection.ops.quote_name(_TABLE)
    sql = f"INSERT INTO {table} (generation_id, position, cells) VALUES (%s, %s, %s)"  # noqa: S608 - name from _meta
    with connection.cursor() as cursor:
        for start in range(0, len(cells), WRITE_BATCH):
            chunk = cells[start : start + WRITE_BATCH]
            cursor.executemany(
                sql, [(generation_id, first_position + start + offset, text) for offset, text in enumerate(chunk)]
            )


def generation_rows_delete(generation_id: int) -> int:
    """Delete a generation's rows, a range of positions per transaction; the number deleted."""
    # Its sort indexes first: the deletes then have no index of its own to maintain.
    sort_indexes.drop_all(generation_id)
    table = connection.ops.quote_name(_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN(position), MAX(position) FROM {table} WHERE generation_id = %s",  # noqa: S608 - name from _meta
            [generation_id],
        )
        low, high = cursor.fetchone() or (None, None)
    if low is None or high is None:
        return 0
    deleted = 0
    for start in range(low, high + 1, DELETE_BATCH):
        with transaction.atomic(), connection.cursor() as cursor:
            # A position range is an index range on the key: each batch reads only the rows it deletes.
            cursor.execute(
                f"DELETE FROM {table} WHERE generation_id = %s AND position >= %s AND position < %s",  # noqa: S608
                [generation_id, start, start + DELETE_BATCH],
            )
            deleted += max(cursor.rowcount, 0)
    return deleted


def generation_delete(generation_id: int) -> int:
    """Mark a generation FAILED, delete its rows, then the generation itself; the rows deleted."""
    Generation.objects.filter(pk=generation_id).update(status=GenerationStatus.FAILED)
    deleted = generation_rows_delete(generation_id)
    Generation.objects.filter(pk=generation_id).delete()
    return deleted


def _collectable(dataset_id: uuid.UUID | None, now: dt.datetime) -> Q:
    """Generations nothing needs: not current, not pinned, and not being built by a live refresh."""
    unused = ~Exists(Dataset.objects.filter(current_generation=OuterRef("pk"))) & ~Exists(
        Snapshot.objects.filter(generation=OuterRef("pk"))
    )
    no_live_refresh = Q(dataset__refresh_started_at__isnull=True) | Q(
        dataset__refresh_started_at__lt=claim_stale_before(now)
    )
    condition = unused & (~Q(status=GenerationStatus.BUILDING) | no_live_refresh)
    if dataset_id is not None:
        condition &= Q(dataset_id=dataset_id)
    return condition


def generations_collect(dataset_id: uuid.UUID | None = None) -> int:
    """Delete every generation (of one dataset, or all) nothing points at, rows first; how many went.

    Kept: a dataset's current generation, those a snapshot pins, and those a live refresh is building.
    An abandoned BUILDING generation (its refresh died) and FAILED ones are collected.
    """
    now = timezone.now()
    condition = _collectable(dataset_id, now)
    collected = 0
    for generation_id in list(Generation.objects.filter(condition).values_list("pk", flat=True)):
        # The conditional UPDATE claims it: a snapshot or restore that pinned it meanwhile keeps it.
        if not Generation.objects.filter(condition, pk=generation_id).update(status=GenerationStatus.FAILED):
            continue
        generation_rows_delete(generation_id)
        try:
            Generation.objects.filter(pk=generation_id).delete()
        except ProtectedError:  # a snapshot pinned it in the instant between the claim and the delete
            logger.error("Generation %s was pinned while it was being collected; its rows are gone", generation_id)
            continue
        collected += 1
    sort_indexes.drop_orphans()  # any a timed-out drop or a race with a first sort left behind
    return collected


def dataset_rows_delete_all(dataset_id: uuid.UUID) -> int:
    """Delete a dataset's snapshots, every generation's rows and the generations (before deleting it); rows deleted.

    Rows have no foreign-key constraint, so the dataset's CASCADE would leave them behind, and a snapshot
    PROTECTs its generation, so the dataset could not be deleted while one exists. Call it once the delete
    is known to be allowed (no job uses the dataset), in the same transaction as ``dataset.delete()``.
    """
    Dataset.objects.filter(pk=dataset_id).update(current_generation=None)
    Snapshot.objects.filter(dataset_id=dataset_id).delete()
    deleted = 0
    for generation_id in list(Generation.objects.filter(dataset_id=dataset_id).values_list("pk", flat=True)):
        deleted += generation_delete(generation_id)
    return deleted
