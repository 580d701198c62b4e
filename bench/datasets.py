"""Benchmark: datasets at 10k, 100k and 1M rows — refresh, snapshot, /data pages and exports (#13).

For each size and source (PostgreSQL, MariaDB, SQLite; ``bench/_sources.py`` fills them, 8 columns):

* refresh: ``dataset_refresh`` of a new dataset, against a baseline in the same run — the bare driver's
  server-side cursor (psycopg named cursor, PyMySQL ``SSCursor``) fetching the same query, ``json.dumps``
  of each row and a ``COPY`` (SQLite: ``executemany``) into a scratch table of the rows' shape. Time, the
  ratio, this process's CPU time (steadier than wall time on a shared machine) and its peak RSS growth
  (VmHWM reset through ``/proc/self/clear_refs``); ``--profile`` adds a cProfile of a 100k refresh;
* snapshot: ``snapshot_create`` of the refreshed dataset (median of 5);
* ``/data``: ``GET /api/datasets/{id}/data?start=N-10000&limit=100`` through Django's test client (a
  signed-in owner, the real view), a page sorted by the numeric field (``sort=amount``) and the same
  sort at ``start=N-10000``; the first request apart (a sorted one builds the sort index), then medians;
* export: csv and xlsx through ``datasets.exports`` (every chunk consumed): rows/s and peak RSS growth
  (``--xlsx-max`` leaves out the larger xlsx exports, openpyxl's being minutes at 1M rows).

The service's database is a benchmark one: ``informer_bench_datasets`` on the local PostgreSQL
(``--service postgresql``, created if missing) or ``var/bench-datasets.sqlite3`` (``--service sqlite``);
a ``DATABASE_URL`` of your own must name a database whose name contains ``bench``. It and the source
databases are dropped at the end unless ``--keep``.

    .venv/bin/python bench/datasets.py --sizes 10000,100000,1000000 --sources postgresql,mysql
    .venv/bin/python bench/datasets.py --service sqlite --sizes 100000,1000000 --sources postgresql,sqlite
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import os
import pstats
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django
import _sources

ROOT = Path(__file__).resolve().parent.parent
SERVICE_PG = "postgres://postgres@127.0.0.1:5432/informer_bench_datasets"
TARGETS = {
    "ratio": 1.3,
    "refresh_rss": 150.0,
    "snapshot_ms": 50.0,
    "data_ms": 100.0,
    "sort_ms": 2000.0,
    "export_rss": 100.0,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="row counts, comma-separated")
    parser.add_argument("--sources", default="postgresql,mysql", help="of postgresql, mysql, sqlite; the first is read")
    parser.add_argument("--service", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--phases", default="refresh,snapshot,data,export", help="which measurements after refresh")
    parser.add_argument("--repeat", type=int, default=20, help="requests per /data figure (sorted: a fifth)")
    parser.add_argument("--xlsx-max", type=int, default=None, help="export xlsx only up to this many rows")
    parser.add_argument("--profile", action="store_true", help="also cProfile a refresh of 100k rows per source")
    parser.add_argument("--keep", action="store_true", help="keep the source and service databases")
    return parser.parse_args()


def service_setup(kind: str) -> None:
    """Point DATABASE_URL at a benchmark database (created if missing) before Django starts."""
    _django.bench_database(kind, SERVICE_PG)
    os.environ.setdefault("INFORMER_DATASOURCE_ALLOW", "127.0.0.1,localhost")
    os.environ.setdefault("INFORMER_DATASOURCE_ROOT", str(ROOT / "var" / "bench-datasources"))


ARGS = parse_args()
service_setup(ARGS.service)
from _report import CPU, closing, load, measured, opening  # noqa: E402

_django.setup("datasets")

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402

from datasets import exports, storage  # noqa: E402
from datasets.models import Dataset, Datasource  # noqa: E402
from datasets.services.datasets import dataset_create  # noqa: E402
from datasets.services.datasources import datasource_create  # noqa: E402
from datasets.services.refresh import dataset_refresh  # noqa: E402
from datasets.services.snapshots import snapshot_create, snapshot_delete  # noqa: E402
from informer.models import Tenant, User  # noqa: E402


@dataclass
class Row:
    what: str
    source: str
    rows: int
    ms: float
    rss_mb: float | None = None
    cpu_ms: float | None = None
    note: str = ""


def service() -> dict[str, Any]:
    """How the baseline reaches the service's database."""
    db = settings.DATABASES["default"]
    if connection.vendor == "postgresql":
        dsn = f"host={db['HOST']} port={db['PORT'] or 5432} dbname={db['NAME']} user={db['USER']}"
        return {"vendor": "postgresql", "dsn": dsn + (f" password={db['PASSWORD']}" if db.get("PASSWORD") else "")}
    return {"vendor": "sqlite", "path": str(db["NAME"])}


def owner() -> User:
    """The benchmark's user (may create datasources), its earlier datasets and datasources removed."""
    tenant, _ = Tenant.objects.get_or_create(slug="bench-datasets", defaults={"name": "Bench datasets"})
    user, _ = User.objects.get_or_create(username="bench-datasets", defaults={"tenant": tenant})
    user.user_permissions.add(Permission.objects.get(content_type__app_label="datasets", codename="add_datasource"))
    for dataset in Dataset.objects.filter(tenant=tenant):
        with transaction.atomic():
            storage.dataset_rows_delete_all(dataset.pk)
            dataset.delete()
    Datasource.objects.filter(tenant=tenant).delete()
    return User.objects.get(pk=user.pk)  # without a cached permission set


def refresh(engine: str, n: int, user: User, datasource: Datasource, out: list[Row]) -> Dataset:
    """The baseline, then a refresh of a new dataset of ``n`` rows from ``engine``."""
    sql = _sources.query(n)
    ms, rss, count = measured(
        lambda: _sources.baseline(engine, sql, Path(settings.INFORMER_DATASOURCE_ROOT), service())
    )
    assert count == n, (count, n)
    base_cpu = CPU["ms"]
    out.append(Row("refresh baseline", engine, n, ms, rss, base_cpu, f"{n / ms * 1000:,.0f} rows/s"))
    dataset = dataset_create(
        user=user, data={"name": f"{engine} {n}", "query": sql, "datasource_id": str(datasource.pk)}
    )
    ours_ms, ours_rss, result = measured(lambda: dataset_refresh(dataset=dataset))
    assert result.records == n, (result.records, n)
    note = (
        f"{n / ours_ms * 1000:,.0f} rows/s, ratio {ours_ms / ms:.2f} (CPU of this process {CPU['ms'] / base_cpu:.2f})"
    )
    out.append(Row("refresh dataset_refresh", engine, n, ours_ms, ours_rss, CPU["ms"], note))
    print(
        f"  {engine} {n}: baseline {ms:,.0f} ms, ours {ours_ms:,.0f} ms ({ours_ms / ms:.2f}x) | {load()}",
        file=sys.stderr,
    )
    return dataset


def snapshots(dataset: Dataset, engine: str, n: int, out: list[Row]) -> None:
    timings, taken = [], []
    for index in range(5):
        ms, _, snapshot = measured(functools.partial(snapshot_create, dataset=dataset, name=f"bench {index}"))
        timings.append(ms)
        taken.append(snapshot)
    for snapshot in taken:
        snapshot_delete(snapshot=snapshot)
    out.append(
        Row(
            "snapshot_create (median of 5)",
            engine,
            n,
            statistics.median(timings),
            None,
            note=f"max {max(timings):.1f} ms",
        )
    )


def pages(dataset: Dataset, engine: str, n: int, user: User, repeat: int, out: list[Row]) -> None:
    client = Client()
    client.force_login(user)
    start = max(n - 10_000, 0)
    for label, query, times in (
        (f"/data start={start} limit=100", f"start={start}&limit=100", repeat),
        ("/data sort=amount limit=100", "sort=amount&limit=100", max(repeat // 5, 3)),
        (f"/data sort=-amount start={start}", f"sort=-amount&start={start}&limit=100", max(repeat // 5, 3)),
    ):
        url = f"/api/datasets/{dataset.pk}/data?{query}"
        # The first request timed apart: it warms the caches, and a sorted one builds the sort index.
        started = time.perf_counter()
        response = client.get(url)
        first = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, response.content[:300]
        body = response.json()
        assert body["count"] == 100 and body["total"] == n, (body["count"], body["total"])
        timings = []
        for _ in range(times):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        out.append(Row(f"{label} (median of {times})", engine, n, statistics.median(timings), None,
                       note=f"first {first:.1f}; then min {min(timings):.1f}, max {max(timings):.1f} ms"))  # fmt: skip


def _consume(made: exports.Export) -> int:
    """Every chunk of an export read, as a response would send it; the bytes."""
    return sum(len(chunk) for chunk in made.chunks())


def exported(dataset: Dataset, engine: str, n: int, out: list[Row]) -> None:
    dataset.refresh_from_db()
    for file_format in ("csv", "xlsx"):
        if file_format == "xlsx" and ARGS.xlsx_max is not None and n > ARGS.xlsx_max:
            continue
        made = exports.export(
            generation_id=dataset.current_generation_id, fields=dataset.fields, format=file_format, filename_stem="b"
        )
        ms, rss, size = measured(functools.partial(_consume, made))
        out.append(
            Row(
                f"export {file_format}",
                engine,
                n,
                ms,
                rss,
                CPU["ms"],
                f"{n / ms * 1000:,.0f} rows/s, {size / 2**20:,.1f} MiB",
            )
        )
        print(f"  export {file_format} {n}: {ms:,.0f} ms | {load()}", file=sys.stderr)


def profile(engine: str, user: User, datasource: Datasource) -> None:
    """cProfile of one refresh of 100k rows: where its time goes."""
    n = 100_000
    dataset = dataset_create(user=user, data={"name": f"profile {engine}", "query": _sources.query(n),
                                              "datasource_id": str(datasource.pk)})  # fmt: skip
    profiler = cProfile.Profile()
    profiler.runcall(dataset_refresh, dataset=dataset)
    print(f"\ncProfile of dataset_refresh, {n:,} rows from {engine} ({connection.vendor} service), by own time:")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(18)


def _verdict(value: float, target: float, *, at_most: bool = False) -> str:
    return "met" if (value <= target if at_most else value < target) else "missed"


def summary(out: list[Row]) -> list[str]:
    """Each target, met or missed."""
    lines = []
    by = {(row.what.split(" (")[0], row.source, row.rows): row for row in out}
    vendor = connection.vendor
    for row in out:
        key, rss = row.what.split(" (")[0], row.rss_mb or 0.0
        if key == "refresh dataset_refresh":
            ratio = row.ms / by[("refresh baseline", row.source, row.rows)].ms
            lines.append(
                f"refresh {row.source}->{vendor} {row.rows:>9,}: ratio {ratio:.2f} "
                f"(≤ 1.3: {_verdict(ratio, TARGETS['ratio'], at_most=True)}), "
                f"RSS +{rss:.0f} MB (< 150: {_verdict(rss, TARGETS['refresh_rss'])})"
            )
        elif key.startswith("snapshot"):
            lines.append(f"snapshot {row.rows:>9,}: {row.ms:.1f} ms (< 50: {_verdict(row.ms, TARGETS['snapshot_ms'])})")
        elif key.startswith("/data start"):
            lines.append(
                f"/data deep page {row.rows:>9,}: {row.ms:.1f} ms (< 100: {_verdict(row.ms, TARGETS['data_ms'])})"
            )
        elif key == "/data sort=amount limit=100":
            lines.append(
                f"/data sorted {row.rows:>9,}: {row.ms:.0f} ms (< 2000: {_verdict(row.ms, TARGETS['sort_ms'])})"
            )
        elif key.startswith("export"):
            lines.append(f"{key} {row.rows:>9,}: RSS +{rss:.0f} MB (< 100: {_verdict(rss, TARGETS['export_rss'])})")
    return lines


def cleanup(engines: list[str], root: Path) -> None:
    """Drop the source databases and the service's benchmark database."""
    for engine in engines:
        _sources.drop(engine, root)
    if root == ROOT / "var" / "bench-datasources" and root.is_dir() and not any(root.iterdir()):
        root.rmdir()
    _django.drop_database()


def table_line(row: Row) -> str:
    rss = f"{row.rss_mb:12.1f}" if row.rss_mb is not None else f"{'':12}"
    cpu = f"{row.cpu_ms:10,.0f}" if row.cpu_ms is not None else f"{'':10}"
    return f"{row.what:44} {row.source:10} {row.rows:>9,} {row.ms:>10,.1f} {cpu} {rss}  {row.note}"


def main() -> None:
    sizes = [int(size) for size in ARGS.sizes.split(",")]
    engines = [engine.strip() for engine in ARGS.sources.split(",")]
    phases = set(ARGS.phases.split(","))
    root = Path(settings.INFORMER_DATASOURCE_ROOT)
    started = time.monotonic()
    opening("bench/datasets.py", f"sources {', '.join(engines)} | sizes {', '.join(f'{n:,}' for n in sizes)}")
    print(f"  creating sources ({load()})", file=sys.stderr)
    for engine in engines:
        _sources.create(engine, sizes + ([100_000] if ARGS.profile and 100_000 not in sizes else []), root)
    call_command("migrate", verbosity=0)
    user = owner()
    datasources = {engine: datasource_create(user=user, data=_sources.datasource_data(engine)) for engine in engines}
    out: list[Row] = []
    try:
        for n in sizes:
            read = {engine: refresh(engine, n, user, datasources[engine], out) for engine in engines}
            dataset = read[engines[0]]
            if "snapshot" in phases:
                snapshots(dataset, engines[0], n, out)
            if "data" in phases:
                pages(dataset, engines[0], n, user, ARGS.repeat, out)
            if "export" in phases:
                exported(dataset, engines[0], n, out)
        if ARGS.profile:
            for engine in engines:
                profile(engine, user, datasources[engine])
    finally:
        head = f"{'measurement':44} {'source':10} {'rows':>9} {'ms':>10} {'CPU ms':>10} {'peak RSS +MB':>12}  note"
        closing(head, map(table_line, out), summary(out), started)
        if not ARGS.keep:
            cleanup(engines, root)


if __name__ == "__main__":
    main()
