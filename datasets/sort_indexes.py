"""Per-generation sort indexes: a partial expression index on a field's typed sort key, built on the first sort.

A sorted ``/data`` page orders by a cell of the JSON array, typed by the field (``data.Cell``), then by
position. Without an index of its own the database reads every row of the generation for it (2-3 s at
1M rows, ``docs/benchmarks.md``). Generations are immutable once READY, so the first sorted page of one
by a field builds ``CREATE INDEX dsrow_g<generation>_f<position>_<kind> ON datasets_datasetrow (<key>,
position) WHERE generation_id = <generation>`` on exactly the key ``data_page`` orders by; from then on
the first ``start + limit`` rows are read off the index. One btree serves both directions: forward for
ascending (NULLs last, then position), backward for descending with the ties re-sorted by position.

Only integers of our own reach the SQL: the generation id, the field's position from the stored fields,
and a kind from a fixed set. The index goes with its generation (``drop_all`` from ``storage``), and
``drop_orphans`` sweeps any whose generation is gone (a drop that timed out, a race with a delete).

Every partial index on the table costs each insert a predicate check and each query's planning a proof,
so indexes are kept to generations worth it (``MIN_ROWS``) and to ``MAX_PER_GENERATION`` fields each.
Not indexed: dates and datetimes on PostgreSQL, whose cast from text to ``timestamptz`` is STABLE (it
reads the session's time zone), which PostgreSQL refuses in an index.
"""

from __future__ import annotations

import logging
import re

from django.db import DatabaseError, connection, transaction
from django.db.models import Expression
from django.db.models.sql import Query

from datasets.models import DatasetRow, Generation, GenerationStatus

logger = logging.getLogger(__name__)

# Smaller generations sort in tens of milliseconds by a scan; an index would only cost the others.
MIN_ROWS = 10_000
MAX_PER_GENERATION = 8
KINDS = ("number", "text", "time", "boolean")
# The lock a DROP INDEX needs on the shared table queues every reader behind it: wait at most this long.
DROP_LOCK_TIMEOUT = "2s"

_TABLE = DatasetRow._meta.db_table
_NAME = re.compile(r"^dsrow_g(\d+)_f(\d+)_([a-z]+)$")


def index_name(generation_id: int, position: int, kind: str) -> str:
    """The deterministic name of a generation's sort index on the field at ``position``."""
    return f"dsrow_g{int(generation_id)}_f{int(position)}_{kind}"


def indexable(kind: str) -> bool:
    """Whether this engine can index a sort key of this kind."""
    if kind not in KINDS or connection.vendor not in ("postgresql", "sqlite"):
        return False
    return not (connection.vendor == "postgresql" and kind == "time")


def generation_indexes(generation_id: int | None = None) -> list[str]:
    """The sort indexes in the catalog, of one generation or of all."""
    # "_" is a LIKE wildcard: escaped, so that g5_ never matches g50_.
    prefix = "dsrow\\_g" if generation_id is None else f"dsrow\\_g{int(generation_id)}\\_"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = %s"
                " AND indexname LIKE %s",
                [_TABLE, f"{prefix}%"],
            )
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s AND name LIKE %s ESCAPE '\\'",
                [_TABLE, f"{prefix}%"],
            )
        else:
            return []
        names = [row[0] for row in cursor.fetchall()]
    wanted = None if generation_id is None else int(generation_id)
    return sorted(name for name in names if (found := _generation_of(name)) is not None and wanted in (None, found))


def _generation_of(name: str) -> int | None:
    found = _NAME.match(name)
    return int(found.group(1)) if found else None


def _key_sql(key: Expression) -> str | None:
    """The key as the index's SQL, columns unqualified; None if it needs parameters (it cannot be indexed)."""
    query = Query(DatasetRow, alias_cols=False)
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.compile(key.resolve_expression(query, allow_joins=False))
    return None if params else sql


def ensure(*, generation_id: int, position: int, kind: str, key: Expression) -> bool:
    """Build the sort index of a READY generation on ``key`` (the field at ``position``) if due; whether one exists."""
    if not indexable(kind):
        return False
    name = index_name(generation_id, position, kind)
    existing = generation_indexes(generation_id)
    if name in existing:
        return True
    if len(existing) >= MAX_PER_GENERATION:
        return False
    generation = Generation.objects.filter(pk=generation_id).order_by().values_list("status", "records").first()
    if generation is None or generation[0] != GenerationStatus.READY or (generation[1] or 0) < MIN_ROWS:
        return False
    sql = _key_sql(key)
    if sql is None:
        return False
    quote = connection.ops.quote_name
    ddl = (
        f"CREATE INDEX IF NOT EXISTS {quote(name)} ON {quote(_TABLE)} ({sql}, {quote('position')})"
        f" WHERE {quote('generation_id')} = {int(generation_id)}"
    )
    try:
        # A transaction of its own (a savepoint inside the caller's): on PostgreSQL the build holds a SHARE
        # lock on the table, which writers wait for, so it is released as soon as the index is there.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(ddl)
    except DatabaseError as exc:
        # Two first sorts at once: the second's CREATE meets the first's index in the catalog. Any other
        # failure leaves the page to the scan it would have been anyway.
        if name in generation_indexes(generation_id):
            return True
        logger.warning("Sort index %s was not built: %s", name, exc)
        return False
    logger.info("Built sort index %s", name)
    return True


def _drop(names: list[str]) -> int:
    quote = connection.ops.quote_name
    dropped = 0
    for name in names:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    # For this drop only: a caller's transaction goes on with the timeout it had.
                    cursor.execute("SELECT current_setting('lock_timeout'), set_config('lock_timeout', %s, true)",
                                   [DROP_LOCK_TIMEOUT])  # fmt: skip
                    previous = cursor.fetchone()[0]
                    cursor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
                    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
                else:
                    cursor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
        except DatabaseError as exc:
            # A long read held the table: the index stays until drop_orphans next sweeps it.
            logger.warning("Sort index %s was not dropped: %s", name, exc)
            continue
        dropped += 1
    return dropped


def drop_all(generation_id: int) -> int:
    """Drop a generation's sort indexes (before its rows are deleted); how many went."""
    return _drop(generation_indexes(generation_id))


def drop_orphans() -> int:
    """Drop the sort indexes of generations that are gone or no longer READY; how many went."""
    names = generation_indexes()
    if not names:
        return 0
    ids = {found for name in names if (found := _generation_of(name)) is not None}
    ready = set(Generation.objects.filter(pk__in=ids, status=GenerationStatus.READY).values_list("pk", flat=True))
    return _drop([name for name in names if _generation_of(name) not in ready])
