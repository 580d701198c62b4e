"""The few statements every run executes, built once instead of once per run.

A no-op run costs a read, a claim and an end (three round trips on PostgreSQL). Building each
through the ORM takes about ten times longer than the database takes to run it (a third of a
millisecond of query compilation against a few hundredths on SQLite), and on a busy cluster that
compilation was most of what a run cost. So these statements are written here as SQL, once per
database: table and column names come from the models' metadata and every value is converted by the
model field it is stored in (``get_db_prep_save``), exactly as the ORM would convert it. Values are
always parameters.

Everything that is not on every run's path (waits, cancellation, the reaper, the API) uses the ORM.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model

from informer.models import Tenant
from jobs.models import Job, JobAction, JobAttachment
from runs.models import Run, RunStatus


def _field(model: type[Model], name: str) -> Any:
    return model._meta.get_field(name)


def _column(model: type[Model], name: str) -> str:
    return connection.ops.quote_name(_field(model, name).column)


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@lru_cache(maxsize=64)
def _update_sql(model: type[Model], vendor: str, assign: tuple[str, ...], match: tuple[str, ...]) -> str:
    """``UPDATE table SET a = %s, ... WHERE x = %s AND ...`` for the named fields."""
    sets = ", ".join(f"{_column(model, name)} = %s" for name in assign)
    where = " AND ".join(f"{_column(model, name)} = %s" for name in match)
    return f"UPDATE {_table(model)} SET {sets} WHERE {where}"  # noqa: S608 - names from _meta, values bound


def _update_params(model: type[Model], where: dict[str, Any], values: dict[str, Any]) -> list[Any]:
    """The parameters of ``_update_sql``: the values as their fields store them, then the match."""
    params = [_field(model, name).get_db_prep_save(value, connection) for name, value in values.items()]
    return params + [_field(model, name).get_db_prep_value(value, connection) for name, value in where.items()]


def update(model: type[Model], where: dict[str, Any], values: dict[str, Any]) -> int:
    """``Model.objects.filter(**where).update(**values)`` for plain equality; returns the row count."""
    sql = _update_sql(model, connection.vendor, tuple(values), tuple(where))
    params = _update_params(model, where, values)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


class _Rows:
    """How to turn a row of ``SELECT <every column of model A>, <every column of model B>, ...`` into instances.

    Each value goes through the converters the ORM would apply to that column (the backend's, then the
    field's own ``from_db_value``), and each instance is built with ``Model.from_db``, as a queryset builds it.
    """

    def __init__(self, models: tuple[type[Model], ...], aliases: tuple[str, ...]):
        self.parts = []
        columns = []
        for model, alias in zip(models, aliases, strict=True):
            fields = list(model._meta.concrete_fields)
            converters = []
            for position, field in enumerate(fields):
                col = field.get_col(alias)
                functions = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
                if functions:
                    converters.append((position, col, functions))
                assert field.column is not None  # concrete fields have a column
                columns.append(f"{alias}.{connection.ops.quote_name(field.column)}")
            pk_position = fields.index(model._meta.pk)
            self.parts.append((model, [field.attname for field in fields], converters, pk_position))
        self.columns = ", ".join(columns)

    def build(self, row: tuple[Any, ...], first: int = 0, last: int | None = None) -> list[Any]:
        """Instances of the models ``first`` to ``last`` (all by default) from one row; None for an
        outer join's missing side (a null primary key)."""
        instances: list[Any] = []
        db = connections[DEFAULT_DB_ALIAS]
        offset = sum(len(names) for _, names, _, _ in self.parts[:first])
        for model, names, converters, pk_position in self.parts[first:last]:
            values = list(row[offset : offset + len(names)])
            offset += len(names)
            if values[pk_position] is None:
                instances.append(None)
                continue
            for position, col, functions in converters:
                value = values[position]
                for function in functions:
                    value = function(value, col, db)
                values[position] = value
            instances.append(model.from_db(DEFAULT_DB_ALIAS, names, values))
        return instances


@lru_cache(maxsize=4)
def _claim_read(vendor: str) -> tuple[str, _Rows]:
    """The read as one statement: the run joined to its job, tenant and actions (a row per action)."""
    rows = _Rows((Run, Job, Tenant, JobAction), ("r", "j", "t", "a"))
    sql = (
        f"SELECT {rows.columns} FROM {_table(Run)} r"  # noqa: S608
        f" INNER JOIN {_table(Job)} j ON j.{_column(Job, 'id')} = r.{_column(Run, 'job')}"
        f" INNER JOIN {_table(Tenant)} t ON t.{_column(Tenant, 'id')} = j.{_column(Job, 'tenant')}"
        f" LEFT OUTER JOIN {_table(JobAction)} a ON a.{_column(JobAction, 'job')} = j.{_column(Job, 'id')}"
        f" WHERE r.{_column(Run, 'id')} = %s"
    )
    return sql, rows


@lru_cache(maxsize=4)
def _claim_read_by_table(vendor: str) -> tuple[str, tuple[_Rows, ...]]:
    """The read as one message: a statement per table, each found by primary key or index, under one snapshot.

    On a fresh PostgreSQL connection (a worker has one per run) the four-table join costs about 40% more
    than four single-table lookups (2.2 against 1.6 ms), most of it in loading the catalog entries the
    planner needs to weigh the join orders and every index of every table. ``SET TRANSACTION`` makes the
    message's implicit transaction repeatable read, so its statements see one snapshot, as the join's
    single statement does. Each statement takes the run's id as its one parameter.
    """
    parts = (_Rows((Run,), ("r",)), _Rows((Job,), ("j",)), _Rows((Tenant,), ("t",)), _Rows((JobAction,), ("a",)))
    run, run_id = _table(Run), _column(Run, "id")
    of_run = {  # a column of the run, in a subquery
        name: f"(SELECT {_column(Run, name)} FROM {run} WHERE {run_id} = %s)"  # noqa: S608
        for name in ("job", "tenant")
    }
    sql = "; ".join(
        (
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY",
            f"SELECT {parts[0].columns} FROM {run} r WHERE r.{run_id} = %s",  # noqa: S608
            f"SELECT {parts[1].columns} FROM {_table(Job)} j WHERE j.{_column(Job, 'id')} = {of_run['job']}",  # noqa: S608
            f"SELECT {parts[2].columns} FROM {_table(Tenant)} t"  # noqa: S608
            f" WHERE t.{_column(Tenant, 'id')} = {of_run['tenant']}",
            f"SELECT {parts[3].columns} FROM {_table(JobAction)} a"  # noqa: S608
            f" WHERE a.{_column(JobAction, 'job')} = {of_run['job']}",
        )
    )
    return sql, parts


Actions = list[tuple[JobAction, list[JobAttachment]]]


def run_for_claim(run_id: Any) -> tuple[Run, Actions] | None:
    """A run with its job and tenant, and the job's actions (in run order) with their attachments.

    The run is what ``Run.objects.select_related("job", "job__tenant")`` reads. Where several
    statements can go in one message (``one_message``), they are read a table at a time in
    one round trip (``_claim_read_by_table``); otherwise in one statement with a row per action (one
    row for a job without actions). The attachments take a second round trip, only when there are actions.
    """
    pk = _field(Run, "id").get_db_prep_value(run_id, connection)
    read = _read_by_table(pk) if one_message() else _read_joined(pk)
    if read is None:
        return None
    run, actions = read
    # Put in run order here rather than by the database: a sort on the three columns would cost the
    # database more (on a fresh connection) than sorting a job's few actions costs Python.
    actions.sort(key=lambda pair: (pair[0].index, pair[0].created_at, pair[0].id))
    if actions:
        attachments = {action.pk: items for action, items in actions}
        for attachment in JobAttachment.objects.filter(action_id__in=list(attachments)).order_by("created_at"):
            attachments[attachment.action_id].append(attachment)
    return run, actions


def _read_joined(pk: Any) -> tuple[Run, Actions] | None:
    sql, rows = _claim_read(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        fetched = cursor.fetchall()
    if not fetched:
        return None
    run, job, tenant = rows.build(fetched[0], 0, 3)
    job.tenant = tenant
    run.job = job
    actions: Actions = [(action, []) for (action,) in (rows.build(row, 3) for row in fetched) if action is not None]
    return run, actions


def _read_by_table(pk: Any) -> tuple[Run, Actions] | None:
    sql, parts = _claim_read_by_table(connection.vendor)
    results = []
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk] * len(parts))
        while cursor.nextset():  # the first result is SET TRANSACTION's, which has no rows
            results.append(cursor.fetchall())
    found_run, found_job, found_tenant, found_actions = results
    if not found_run:
        return None
    (run,), (job,), (tenant,) = (
        rows.build(found[0]) for rows, found in zip(parts[:3], (found_run, found_job, found_tenant), strict=True)
    )
    job.tenant = tenant
    run.job = job
    return run, [(action, []) for (action,) in (parts[3].build(row) for row in found_actions)]


CLAIMS_LOCK = 0x1F0B5  # the PostgreSQL advisory lock key that serialises claims
_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s)"


def lock_claims() -> None:
    """Serialise claims, in the caller's transaction, so two workers cannot both take the last slot.

    SQLite already serialises writers (transactions begin IMMEDIATE); PostgreSQL takes a
    transaction-scoped advisory lock.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_SQL, [CLAIMS_LOCK])


@lru_cache(maxsize=8)
def _claim_sql(vendor: str, assign: tuple[str, ...], exclusive: bool) -> str:
    """The claim: its ``UPDATE`` only where the limits allow, counted in one pass over the running runs.

    One subquery with filtered counts rather than a subquery per limit: on a fresh PostgreSQL
    connection each subquery is planned from cold catalog caches, and three cost about 0.6 ms more
    than one.
    """
    tenant, job = _column(Run, "tenant"), _column(Run, "job")
    checks = f"COUNT(*) < %s AND COUNT(*) FILTER (WHERE {tenant} = %s) < %s"
    if exclusive:
        checks += f" AND COUNT(*) FILTER (WHERE {job} = %s) = 0"
    running = f"SELECT {checks} FROM {_table(Run)} WHERE {_column(Run, 'status')} = %s"  # noqa: S608
    return f"{_update_sql(Run, vendor, assign, ('id', 'status'))} AND ({running})"


def run_claim(
    run: Run,
    values: dict[str, Any],
    *,
    cluster_limit: int,
    tenant_limit: int,
    exclusive: bool,
    take_lock: bool = False,
) -> bool:
    """Start a queued run if it is still queued and no concurrency limit holds it back, in one statement.

    Under the limits when fewer than ``cluster_limit`` runs go in the cluster and fewer than
    ``tenant_limit`` in the run's tenant, and (``exclusive``) none of its job. Claims must be
    serialised so the counts cannot change before the claim commits: either the caller holds the
    claims lock in its transaction (``lock_claims``), or ``take_lock`` makes the claim take it itself,
    in the same message (only where ``one_message``).
    """
    params = _update_params(Run, {"id": run.pk, "status": RunStatus.QUEUED}, values)
    params += [cluster_limit, _field(Run, "tenant").get_db_prep_value(run.tenant_id, connection), tenant_limit]
    if exclusive:
        params.append(_field(Run, "job").get_db_prep_value(run.job_id, connection))
    params.append(RunStatus.RUNNING)
    sql = _claim_sql(connection.vendor, tuple(values), exclusive)
    with connection.cursor() as cursor:
        if not take_lock:
            cursor.execute(sql, params)
            return cursor.rowcount == 1
        # PostgreSQL runs the statements of one simple-protocol message as one implicit transaction,
        # and gives each statement of it a fresh snapshot: the UPDATE counts what every claim that
        # held the lock before it committed, and the lock is released when the message commits.
        cursor.execute(f"{_LOCK_SQL}; {sql}", [CLAIMS_LOCK, *params])
        cursor.nextset()
        return cursor.rowcount == 1


def one_message() -> bool:
    """Whether several statements can go now as one message, which PostgreSQL runs as its own implicit
    transaction (one round trip, no BEGIN/COMMIT).

    PostgreSQL through psycopg 3 with client-side binding (Django's default), which sends a query with
    several statements as one simple-protocol message, and no transaction open (inside one the
    statements would join it instead).
    """
    if connection.in_atomic_block or connection.vendor != "postgresql":
        return False
    if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


def _fence(run_id: Any, token: Any) -> dict[str, Any]:
    """The match of every write of a worker to its run: still running, and its lease still held."""
    return dict(zip(_FENCE, (run_id, token, RunStatus.RUNNING), strict=True))


def run_update_fenced(run_id: Any, token: Any, values: dict[str, Any]) -> int:
    """Update a running run only while ``token`` still holds its lease."""
    return update(Run, _fence(run_id, token), values)


@lru_cache(maxsize=4)
def _job_last_run_sql(vendor: str) -> str:
    last_run_at = _column(Job, "last_run_at")
    return (
        f"UPDATE {_table(Job)} SET {last_run_at} = %s, {_column(Job, 'last_success')} = %s"  # noqa: S608
        f" WHERE {_column(Job, 'id')} = %s AND ({last_run_at} IS NULL OR {last_run_at} <= %s)"
    )


def job_last_run(job_id: Any, *, last_run_at: Any, last_success: bool) -> int:
    """Set a job's last-run fields, unless it already shows a run that started later."""
    at = _field(Job, "last_run_at").get_db_prep_save(last_run_at, connection)
    params = [at, last_success, _field(Job, "id").get_db_prep_value(job_id, connection), at]
    with connection.cursor() as cursor:
        cursor.execute(_job_last_run_sql(connection.vendor), params)
        return cursor.rowcount


@lru_cache(maxsize=4)
def _waiting_sql(vendor: str) -> str:
    run = _table(Run)
    return (
        f"SELECT 1 FROM {run} WHERE {_column(Run, 'status')} = %s"  # noqa: S608
        f" AND {_column(Run, 'not_before')} <= %s AND {_column(Run, 'enqueued_at')} IS NULL LIMIT 1"
    )


_FENCE = ("id", "lease_token", "status")


@lru_cache(maxsize=8)
def _end_sql(vendor: str, assign: tuple[str, ...]) -> str:
    run = _table(Run)
    waiting = _waiting_sql(vendor).replace(f"FROM {run} WHERE", f"FROM {run} w WHERE", 1)
    return f"{_update_sql(Run, vendor, assign, _FENCE)} RETURNING ({waiting})"


def _returning() -> bool:
    """Whether the database has ``UPDATE ... RETURNING`` (PostgreSQL; SQLite from 3.35)."""
    return bool(connection.features.can_return_columns_from_insert)


def run_end(run_id: Any, token: Any, values: dict[str, Any], now: Any) -> bool | None:
    """Write a running run's end while ``token`` holds its lease, and tell whether runs wait for a slot.

    None when the lease was lost (nothing written); otherwise whether a queued run is due and waits to
    be enqueued, asked in the same statement (``RETURNING``) where the database can.
    """
    if not _returning():
        if not run_update_fenced(run_id, token, values):
            return None
        return runs_waiting(now)
    params = _update_params(Run, _fence(run_id, token), values)
    params += [RunStatus.QUEUED, _field(Run, "not_before").get_db_prep_value(now, connection)]
    with connection.cursor() as cursor:
        cursor.execute(_end_sql(connection.vendor, tuple(values)), params)
        row = cursor.fetchone()
    return None if row is None else row[0] is not None


def runs_waiting(now: Any) -> bool:
    """Whether a queued run is due and waits to be enqueued (held back by a limit, or a retry)."""
    params = [RunStatus.QUEUED, _field(Run, "not_before").get_db_prep_value(now, connection)]
    with connection.cursor() as cursor:
        cursor.execute(_waiting_sql(connection.vendor), params)
        return cursor.fetchone() is not None
