"""Benchmark: library sync — unchanged files (local, WebDAV) and first downloads (WebDAV, S3) (#14).

* unchanged: a library of N small files (100 per folder) synced once, then the measured second sync,
  which finds every file unchanged and downloads nothing: its time, its queries
  (``CaptureQueriesContext``) and its peak RSS growth. Local folder and WebDAV (the same files served by
  wsgidav + cheroot on a loopback port in a thread of this process);
* first download: a new library of N files of 100 KB (random bytes) synced from WebDAV and from S3
  (moto's ``ThreadedMotoServer`` on loopback, boto3 over HTTP), against a baseline in the same run: the
  bare client fetching the same files, streamed to a temporary file (WebDAV: a ``requests.Session`` GET;
  S3: boto3 ``get_object``). MB/s, the ratio to the baseline's MB/s and the peak RSS growth (VmHWM reset
  through ``/proc/self/clear_refs``). Both servers run in this process's threads, so they share its GIL
  and CPU with the client, in the baseline as in the sync.

``--profile`` adds a cProfile (by own and by cumulative time) of a second sync of the largest local library
and of a first sync of the largest download size from WebDAV and from S3 (into a new library).

The service's database is ``var/bench-library.sqlite3`` (``--service sqlite``) or ``informer_bench_library``
on the local PostgreSQL (``--service postgresql``, created if missing); a ``DATABASE_URL`` of your own must
name a database whose name contains ``bench``. The library root, the stored contents and the servers'
folders live in a temporary folder; it and the database are removed at the end unless ``--keep``.

    .venv/bin/python bench/library.py --unchanged 1000,10000 --downloads 100,1000
    .venv/bin/python bench/library.py --service postgresql --unchanged 1000 --downloads 1000 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import logging
import os
import pstats
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _django

ROOT = Path(__file__).resolve().parent.parent
SERVICE_PG = "postgres://postgres@127.0.0.1:5432/informer_bench_library"
PER_FOLDER = 100
DAV_USER, DAV_PASSWORD = "bench", "bench-pass"
S3_KEYS = ("bench-key", "bench-secret")
TARGETS = {"unchanged_local_10k_s": 5.0, "ratio": 0.7, "rss_mb": 100.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unchanged", default="1000,10000", help="file counts for the unchanged syncs")
    parser.add_argument("--downloads", default="1000", help="file counts for the first downloads")
    parser.add_argument("--file-kb", type=int, default=100, help="size of each downloaded file in KB")
    parser.add_argument("--service", choices=("postgresql", "sqlite"), default="sqlite")
    parser.add_argument("--profile", action="store_true", help="also cProfile an unchanged sync and a download")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and the database")
    return parser.parse_args()


def service_setup(kind: str) -> Path:
    """Point DATABASE_URL at a benchmark database and the library settings at a temporary folder."""
    _django.bench_database(kind, SERVICE_PG)
    work = Path(tempfile.mkdtemp(prefix="bench-library-"))
    for folder in ("root", "media"):
        (work / folder).mkdir()
    os.environ["INFORMER_OUTBOUND_ALLOW"] = "127.0.0.1,localhost"
    os.environ["INFORMER_LIBRARY_ROOT"] = str(work / "root")
    os.environ["MEDIA_ROOT"] = str(work / "media")  # the stored contents (default_storage)
    return work


ARGS = parse_args()
WORK = service_setup(ARGS.service)
import _report  # noqa: E402
from _report import closing, load, opening  # noqa: E402

_django.setup("library")

import boto3  # noqa: E402
import requests  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from informer import secrets  # noqa: E402
from informer.models import Tenant, User  # noqa: E402
from library.content import contents_collect  # noqa: E402
from library.models import Library  # noqa: E402
from library.services.sync import SyncResult, library_sync  # noqa: E402


@dataclass
class Row:
    what: str
    source: str
    files: int
    ms: float
    queries: int | None = None
    rss_mb: float | None = None
    note: str = ""


def measured(call: Callable[[], Any]) -> tuple[float, float, int, Any]:
    """Milliseconds, peak RSS growth in MB, queries made and the result of ``call()``."""
    with CaptureQueriesContext(connection) as queries:
        elapsed, rss, result = _report.measured(call)
    return elapsed, rss, len(queries.captured_queries), result


# The servers


@contextmanager
def webdav_server(folder: Path) -> Iterator[str]:
    """wsgidav on cheroot over ``folder``, on a free loopback port, with Basic auth; the share's URL."""
    from cheroot import wsgi
    from wsgidav.fs_dav_provider import FilesystemProvider
    from wsgidav.wsgidav_app import WsgiDAVApp

    config = {
        "host": "127.0.0.1",
        "port": 0,
        "provider_mapping": {"/dav": FilesystemProvider(str(folder))},
        "http_authenticator": {"accept_basic": True, "accept_digest": False, "default_to_digest": False},
        "simple_dc": {"user_mapping": {"*": {DAV_USER: {"password": DAV_PASSWORD}}}},
        "verbose": 0,
        "logging": {"enable": False},
        "dir_browser": {"enable": False},
        "lock_storage": True,
        "property_manager": True,
    }
    server = wsgi.Server(("127.0.0.1", 0), WsgiDAVApp(config), numthreads=4)
    server.expiration_interval = 0.02
    server.shutdown_timeout = 1
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.bind_addr[1]}/dav/"
    finally:
        server.stop()
        thread.join(timeout=5)


@contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server on a free loopback port in a thread; its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a log line per request would be timed too
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS[0],
        aws_secret_access_key=S3_KEYS[1],
    )


# The files and libraries


def paths(n: int) -> list[str]:
    """``n`` file paths, PER_FOLDER to a folder."""
    return [f"d{index // PER_FOLDER:04d}/f{index:06d}.bin" for index in range(n)]


def write_files(folder: Path, n: int, size: int) -> list[str]:
    """``n`` files of ``size`` bytes (distinct contents) under ``folder``; their paths."""
    made = paths(n)
    for path in made:
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(os.urandom(size))
    return made


def owner() -> User:
    """The benchmark's user, its earlier libraries removed."""
    tenant, _ = Tenant.objects.get_or_create(slug="bench-library", defaults={"name": "Bench library"})
    user, _ = User.objects.get_or_create(username="bench-library", defaults={"tenant": tenant})
    Library.objects.filter(tenant=tenant).delete()
    contents_collect()
    return user


def make_library(
    user: User, name: str, type_: str, lib_settings: dict[str, Any], lib_secrets: dict[str, Any]
) -> Library:
    library: Library = Library.objects.create(
        tenant=user.tenant,
        owner=user,
        name=name,
        slug=name,
        type=type_,
        settings=lib_settings,
        secrets_encrypted=secrets.seal_json(lib_secrets) if lib_secrets else "",
    )
    return library


def checked(result: SyncResult, *, unchanged: int = 0, added: int = 0) -> SyncResult:
    assert result.success and not result.errors, result.errors[:3]
    assert (result.unchanged, result.added) == (unchanged, added), result.as_json()
    return result


# The measurements


def unchanged(source: str, library: Library, n: int, out: list[Row]) -> None:
    """A first sync (timed, as a note), then the measured second one that finds every file unchanged."""
    first_ms, _, first_queries, _ = measured(lambda: checked(library_sync(library=library), added=n))
    ms, rss, queries, _ = measured(lambda: checked(library_sync(library=library), unchanged=n))
    note = f"{n / ms * 1000:,.0f} files/s; first sync {first_ms / 1000:,.1f} s, {first_queries:,} queries"
    out.append(Row("second sync, all unchanged", source, n, ms, queries, rss, note))
    print(f"  unchanged {source} {n}: {ms:,.0f} ms, {queries} queries | {load()}", file=sys.stderr)


def dav_baseline(url: str, files: list[str]) -> int:
    """The bare client: a requests.Session GET of each file, streamed to a temporary file; bytes read."""
    total = 0
    with requests.Session() as session:
        session.auth = (DAV_USER, DAV_PASSWORD)
        for path in files:
            with session.get(url + path, stream=True, timeout=60) as response, tempfile.TemporaryFile() as handle:
                response.raise_for_status()
                for chunk in response.iter_content(65536):
                    handle.write(chunk)
                    total += len(chunk)
    return total


def s3_baseline(endpoint: str, bucket: str, files: list[str]) -> int:
    """The bare client: boto3 get_object of each file, streamed to a temporary file; bytes read."""
    client, total = s3_client(endpoint), 0
    for path in files:
        body = client.get_object(Bucket=bucket, Key=path)["Body"]
        with tempfile.TemporaryFile() as handle:
            for chunk in body.iter_chunks(65536):
                handle.write(chunk)
                total += len(chunk)
        body.close()
    return total


def download(source: str, library: Library, baseline: Callable[[], int], n: int, size: int, out: list[Row]) -> None:
    """The bare client's loop, then the first sync of the same files."""
    base_ms, base_rss, _, read = measured(baseline)
    assert read == n * size, (read, n * size)
    base_rate = read / 2**20 / (base_ms / 1000)
    out.append(Row("bare client download loop", source, n, base_ms, None, base_rss, f"{base_rate:,.1f} MB/s"))
    ms, rss, queries, result = measured(lambda: checked(library_sync(library=library), added=n))
    assert result.bytes == n * size, result.as_json()
    rate = n * size / 2**20 / (ms / 1000)
    note = f"{rate:,.1f} MB/s, ratio {rate / base_rate:.2f}"
    out.append(Row("first sync (download all)", source, n, ms, queries, rss, note))
    print(f"  download {source} {n}: baseline {base_ms:,.0f} ms, sync {ms:,.0f} ms | {load()}", file=sys.stderr)


def profiled(title: str, call: Callable[[], Any]) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(call)
    print(f"\ncProfile of {title} ({connection.vendor} service), by own time:")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("tottime").print_stats(12)
    print("  ... and by cumulative time, the library's own functions and the clients':")
    stats.sort_stats("cumulative").print_stats(
        r"library/|requests/sessions|urllib3/connectionpool|botocore/endpoint", 22
    )


def summary(out: list[Row]) -> list[str]:
    """Each target, met or missed."""
    lines, base = [], {}
    for row in out:
        if row.what.startswith("bare"):
            base[(row.source, row.files)] = row.ms
        elif row.what.startswith("second") and row.source == "local" and row.files >= 10_000:
            verdict = "met" if row.ms / 1000 < TARGETS["unchanged_local_10k_s"] else "missed"
            lines.append(f"unchanged local {row.files:,}: {row.ms / 1000:.2f} s (< 5 s: {verdict})")
        elif row.what.startswith("first"):
            ratio = base[(row.source, row.files)] / row.ms
            rss = row.rss_mb or 0.0
            lines.append(
                f"download {row.source} {row.files:,}: ratio {ratio:.2f} (≥ 0.7: "
                f"{'met' if ratio >= TARGETS['ratio'] else 'missed'}), RSS +{rss:.0f} MB "
                f"(< 100: {'met' if rss < TARGETS['rss_mb'] else 'missed'})"
            )
    return lines


def cleanup() -> None:
    """The temporary folder and the benchmark database."""
    shutil.rmtree(WORK, ignore_errors=True)
    _django.drop_database()


def table_line(row: Row) -> str:
    rss = f"{row.rss_mb:12.1f}" if row.rss_mb is not None else f"{'':12}"
    queries = f"{row.queries:8,}" if row.queries is not None else f"{'':8}"
    return f"{row.what:30} {row.source:7} {row.files:>7,} {row.ms:>10,.1f} {queries} {rss}  {row.note}"


def main() -> None:
    unchanged_sizes = [int(size) for size in ARGS.unchanged.split(",") if size]
    download_sizes = [int(size) for size in ARGS.downloads.split(",") if size]
    size = ARGS.file_kb * 1000
    root = WORK / "root"
    started = time.monotonic()
    opening("bench/library.py", f"unchanged {ARGS.unchanged} | downloads {ARGS.downloads} x {ARGS.file_kb} KB")
    call_command("migrate", verbosity=0)
    user = owner()
    out: list[Row] = []
    try:
        with webdav_server(root) as dav_url, s3_server() as endpoint:
            for n in unchanged_sizes:
                write_files(root / f"small-{n}", n, 200)
                local = make_library(user, f"local-{n}", "local", {"path": f"small-{n}"}, {})
                unchanged("local", local, n, out)
                dav_settings = {"url": dav_url, "username": DAV_USER, "root": f"small-{n}"}
                dav = make_library(user, f"dav-{n}", "webdav", dav_settings, {"password": DAV_PASSWORD})
                unchanged("webdav", dav, n, out)
            client = s3_client(endpoint)
            for n in download_sizes:
                files = write_files(root / f"big-{n}", n, size)
                dav_settings = {"url": dav_url, "username": DAV_USER, "root": f"big-{n}"}
                dav = make_library(user, f"dav-big-{n}", "webdav", dav_settings, {"password": DAV_PASSWORD})
                download("webdav", dav, functools.partial(dav_baseline, f"{dav_url}big-{n}/", files), n, size, out)
                bucket = f"bench-{n}"
                client.create_bucket(Bucket=bucket)
                for path in files:  # other bytes than WebDAV's, so none is already stored
                    client.put_object(Bucket=bucket, Key=path, Body=os.urandom(size))
                s3_settings = {"bucket": bucket, "prefix": "", "region": "us-east-1", "endpointUrl": endpoint,
                               "accessKeyId": S3_KEYS[0]}  # fmt: skip
                s3 = make_library(user, f"s3-{n}", "s3", s3_settings, {"secretAccessKey": S3_KEYS[1]})
                download("s3", s3, functools.partial(s3_baseline, endpoint, bucket, files), n, size, out)
            if ARGS.profile:
                if unchanged_sizes:
                    n = max(unchanged_sizes)
                    local = Library.objects.get(tenant=user.tenant, slug=f"local-{n}")
                    profiled(f"an unchanged sync of {n:,} local files", functools.partial(library_sync, library=local))
                for slug in [f"dav-big-{max(download_sizes)}", f"s3-{max(download_sizes)}"] if download_sizes else []:
                    # The same files again into a new library, the first one's rows and contents gone.
                    first = Library.objects.get(tenant=user.tenant, slug=slug)
                    again = make_library(user, f"{slug}-profile", first.type, first.settings,
                                         secrets.unseal_json(first.secrets_encrypted))  # fmt: skip
                    first.delete()
                    contents_collect()
                    title = f"a first {first.type} sync of {max(download_sizes):,} files"
                    profiled(title, functools.partial(library_sync, library=again))
    finally:
        head = f"{'measurement':30} {'source':7} {'files':>7} {'ms':>10} {'queries':>8} {'peak RSS +MB':>12}  note"
        closing(head, map(table_line, out), summary(out), started)
        if not ARGS.keep:
            cleanup()


if __name__ == "__main__":
    main()
