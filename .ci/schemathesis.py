#!/usr/bin/env python3
"""Fuzz the live API against its own OpenAPI schema with schemathesis.

A fresh SQLite database in a temporary directory is migrated and seeded (a tenant, two users, API
tokens, a job with an action, a file attachment, a dataset association and one run; a SQLite
datasource on a small generated file under a private INFORMER_DATASOURCE_ROOT, a dataset on it
refreshed once, a snapshot, and a share of each; a local library of a few generated documents under a
private INFORMER_LIBRARY_ROOT, synced, indexed for search and shared, with a second one to edit and a
third to delete), the service is started on a free loopback port, and ``st run`` exercises every
operation of ``/api/schema``. The run fails on any server error, on
a response that does not match its documented schema, content type or status code.

The fixed ids of the seeded objects reach schemathesis through environment variables that
``.ci/schemathesis.toml`` reads, so that id-taking routes answer with real objects and not only 404s.

The library is indexed by ``manage.py index_library`` after its sync: the API's sync only enqueues the
indexing on django-q2, and no cluster runs here, so without it every search would answer nothing. A
fuzzed PUT or PATCH may point a library at another folder or type (and a later ``_sync`` with
``allowMassDelete`` would then empty it), so those go to a library of their own and the searched one
keeps its files and index for the whole run.

Usage: ``.venv/bin/python .ci/schemathesis.py [--max-examples N] [-- <extra st run options>]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".ci" / "schemathesis.toml"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
TENANT = "fuzz"
SOURCE_FILE = "orders.sqlite3"
LIBRARY_FOLDER = "documents"
# The seeded file the file routes address, and the one DELETE …/files/{id} removes (each of its own).
LIBRARY_FILE = "notes.txt"
DOOMED_LIBRARY_FILE = "doomed.txt"
OWNER = "fuzz-owner"
COLLEAGUE = "fuzz-colleague"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=15, help="Test cases per operation and phase.")
    # One worker: with several, Python 3.11 before 3.11.8 can fail inside the generator itself (a race in
    # ast.parse, CPython gh-106905), which would fail the run for no fault of the service.
    parser.add_argument("--workers", default="1", help="Concurrent schemathesis workers.")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed, to replay a run.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory (database, server log).")
    parser.add_argument("st_args", nargs="*", help="Extra options for 'st run' (after --).")
    args = parser.parse_args()

    python = Path(sys.executable)
    st = python.parent / "st"
    if not st.exists():
        print(f"schemathesis is not installed next to {python} (pip install -e '.[dev]').", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="informer-schemathesis-"))
    env = service_env(workdir)
    server: subprocess.Popen[bytes] | None = None
    log_path = workdir / "server.log"
    try:
        manage(python, env, "migrate", "--no-input", "-v", "0")
        seeded = seed(python, env)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            server = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
                [str(python), "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(f"{base}/api/schema", server)
        seeded.update(seed_over_http(base, seeded))
        seeded.update(seed_libraries(base, seeded, index=lambda key: manage(python, env, "index_library", key)))
        st_env = {**env, **{f"INFORMER_ST_{key.upper()}": str(value) for key, value in seeded.items()}}
        command = [
            str(st),
            "--config-file",
            str(CONFIG),
            "run",
            f"{base}/api/schema",
            "--checks",
            CHECKS,
            "--max-examples",
            str(args.max_examples),
            "--workers",
            args.workers,
            "--no-color",
            *(["--seed", str(args.seed)] if args.seed is not None else []),
            *args.st_args,
        ]
        print("+", " ".join(command), flush=True)
        status = subprocess.run(command, cwd=workdir, env=st_env, check=False).returncode  # noqa: S603
        if status != 0:
            report_server_errors(log_path)
        return status
    finally:
        if server is not None:
            stop(server)
        if args.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def service_env(workdir: Path) -> dict[str, str]:
    """The service's environment: a private database, media and var directory; no Redis, no debug pages."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "INFORMER_PRODUCTION", "MEDIA_ROOT", "STATIC_ROOT"}
    }
    env.update(
        INFORMER_VAR_DIR=str(workdir / "var"),
        DATABASE_URL=f"sqlite:///{workdir / 'informer.sqlite3'}",
        MEDIA_ROOT=str(workdir / "media"),
        INFORMER_DATASOURCE_ROOT=str(workdir / "datasources"),
        INFORMER_LIBRARY_ROOT=str(workdir / "libraries"),
        DJANGO_SETTINGS_MODULE="informer.settings",
        PYTHONUNBUFFERED="1",
    )
    return env


def manage(python: Path, env: dict[str, str], *arguments: str) -> str:
    """Run a management command and return its standard output; a failure stops the run with its error output.

    Only the standard error is shown: the standard output of some commands is a secret (an API token).
    """
    done = subprocess.run(  # noqa: S603
        [str(python), "manage.py", *arguments], cwd=ROOT, env=env, check=False, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(
            f"Seeding failed: manage.py {arguments[0]} exited with {done.returncode}:\n{done.stderr[-2000:]}"
        )
    return done.stdout.strip()


def seed(python: Path, env: dict[str, str]) -> dict[str, Any]:
    """A tenant, the owner (staff, so the workers routes answer), a colleague to share with, and tokens."""
    manage(python, env, "create_tenant", TENANT)
    manage(python, env, "create_user", OWNER, "--tenant", TENANT, "--staff", "--email", "owner@example.com")
    manage(python, env, "create_user", COLLEAGUE, "--tenant", TENANT)
    # Creating a datasource or a library is a capability of its own (SPEC §8, §9), given to the tenant's staff.
    manage(
        python,
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import Permission; from informer.models import User; "
        f"User.objects.get(username={OWNER!r}).user_permissions.add("
        "Permission.objects.get(content_type__app_label='datasets', codename='add_datasource'), "
        "Permission.objects.get(content_type__app_label='library', codename='add_library'))",
    )
    make_source(Path(env["INFORMER_DATASOURCE_ROOT"]) / SOURCE_FILE)
    make_documents(Path(env["INFORMER_LIBRARY_ROOT"]) / LIBRARY_FOLDER)
    token = manage(python, env, "create_api_token", OWNER, "--name", "schemathesis")
    # DELETE /api/tokens/{id} is pointed at this one, so the run never revokes the token it uses.
    spare = manage(python, env, "create_api_token", OWNER, "--name", "spare")
    return {"token": token, "spare_secret": spare}


def seed_over_http(base: str, seeded: dict[str, Any]) -> dict[str, Any]:
    """The objects that id-taking routes need, created through the API itself."""
    token = seeded["token"]
    tokens = call(base, token, "GET", "/api/tokens?sort=name")["_embedded"]["inf:token"]
    spare_id = next(item["id"] for item in tokens if item["name"] == "spare")
    colleague = next(
        item["id"]
        for item in call(base, token, "GET", f"/api/principals?q={COLLEAGUE}")["_embedded"]["inf:principal"]
        if item["type"] == "user"
    )
    job = call(base, token, "POST", "/api/jobs", {"type": "email", "name": "Fuzzed", "interval": "0 8 * * *"})
    # Every DELETE of one object gets an object of its own (see schemathesis.toml): the others stay.
    doomed_job = call(base, token, "POST", "/api/jobs", {"type": "email", "name": "Doomed", "interval": "0 9 * * *"})
    email = {"to": "someone@example.com", "subject": "Hello", "body": "Hi"}
    actions = f"/api/jobs/{job['id']}/actions"
    action = call(base, token, "POST", actions, {"type": "email", "name": "Mail", "data": email})
    doomed_action = call(base, token, "POST", actions, {"type": "email", "name": "Doomed", "data": email})
    attachments = f"{actions}/{action['id']}/attachments"
    attachment = call(base, token, "POST", attachments, {"type": "file", "name": "notes.txt"})
    doomed_attachment = call(base, token, "POST", attachments, {"type": "file", "name": "doomed.txt"})
    call(
        base,
        token,
        "PUT",
        f"{attachments}/{attachment['id']}/action-attachment-file-contents",
        b"some notes\n",
        content_type="text/plain",
    )
    datasets = seed_datasets(base, token, colleague)
    association = call(
        base,
        token,
        "POST",
        f"/api/jobs/{job['id']}/datasets",
        {"alias": "orders", "datasetId": datasets["dataset_id"], "snapshots": {"when": "after"}},
    )
    doomed_association = call(
        base, token, "POST", f"/api/jobs/{job['id']}/datasets", {"alias": "doomed", "datasetId": datasets["dataset_id"]}
    )
    run = call(base, token, "POST", f"/api/jobs/{job['id']}", {})
    doomed_run = call(base, token, "POST", f"/api/jobs/{job['id']}", {})
    return {
        "spare_token_id": spare_id,
        "job_id": job["id"],
        "doomed_job_id": doomed_job["id"],
        "action_id": action["id"],
        "doomed_action_id": doomed_action["id"],
        "attachment_id": attachment["id"],
        "doomed_attachment_id": doomed_attachment["id"],
        "run_id": run["id"],
        "doomed_run_id": doomed_run["id"],
        "principal_id": colleague,
        "alias": association["alias"],
        "doomed_alias": doomed_association["alias"],
        **datasets,
    }


def make_source(path: Path) -> None:
    """A small SQLite database of orders (text, integers, reals, dates, booleans, nulls) to read from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE orders (id INTEGER PRIMARY KEY, region TEXT, amount REAL, quantity INTEGER,"
            " ordered_on DATE, paid BOOLEAN, note TEXT)"
        )
        db.executemany(
            "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (n, ("West", "East", "North")[n % 3], n * 12.5, n % 7, f"2024-01-{n % 28 + 1:02d}", n % 2, None)
                for n in range(1, 51)
            ],
        )
    db.close()


def seed_datasets(base: str, token: str, colleague: str) -> dict[str, Any]:
    """A datasource, a dataset refreshed once (rows, fields, a generation) and a snapshot, each shared."""
    source = {"type": "sqlite", "database": SOURCE_FILE}
    datasource = call(base, token, "POST", "/api/datasources", {"name": "Orders source", **source})
    doomed_datasource = call(base, token, "POST", "/api/datasources", {"name": "Doomed source", **source})
    definition = {
        "datasourceId": datasource["id"],
        "query": "SELECT * FROM orders WHERE amount >= :minimum ORDER BY id",
        "params": [{"name": "minimum", "type": "number", "default": 0}],
    }
    dataset = call(base, token, "POST", "/api/datasets", {"name": "Orders", **definition})
    doomed_dataset = call(base, token, "POST", "/api/datasets", {"name": "Doomed", **definition})
    call(base, token, "POST", f"/api/datasets/{dataset['id']}/_refresh", {})
    snapshots = f"/api/datasets/{dataset['id']}/snapshots"
    snapshot = call(base, token, "POST", snapshots, {"name": "Seeded", "note": "the first refresh"})
    doomed_snapshot = call(base, token, "POST", snapshots, {"name": "Doomed"})
    call(base, token, "PUT", f"/api/datasources/{datasource['id']}/shares/{colleague}", {"accessLevel": 1})
    call(base, token, "PUT", f"/api/datasets/{dataset['id']}/shares/{colleague}", {"accessLevel": 2})
    return {
        "datasource_id": datasource["id"],
        "doomed_datasource_id": doomed_datasource["id"],
        "dataset_id": dataset["id"],
        "doomed_dataset_id": doomed_dataset["id"],
        "snapshot_id": snapshot["id"],
        "doomed_snapshot_id": doomed_snapshot["id"],
    }


def make_documents(folder: Path) -> None:
    """A few small documents of the formats a library indexes (text, Markdown, CSV, HTML), one in a subfolder."""
    documents = {
        LIBRARY_FILE: "Orders placed before two in the afternoon leave the warehouse the same day.\n"
        "Standard delivery takes two to four working days.\n",
        DOOMED_LIBRARY_FILE: "This file is deleted during the run.\n",
        "returns.md": "# Returns\n\nAny product may be returned within **30 days** of delivery.\n\n"
        "- Unused products: a full refund.\n- Opened machines: a restocking fee of 10%.\n",
        "prices.csv": "code,product,price\nEM-200,Espresso machine,249.00\nGR-50,Grinder,129.50\n",
        "guides/grinder.html": "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Grinder care</title></head>"
        "<body><h1>Grinder care</h1><p>Brush the burrs every week; replace them after 500 kg of beans.</p>"
        "</body></html>\n",
    }
    for name, text in documents.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def seed_libraries(base: str, seeded: dict[str, Any], *, index: Callable[[str], object]) -> dict[str, Any]:
    """A local library on the documents, embedded, synced, indexed and shared; one to edit, one to delete.

    All three mirror the same folder (the remote is only read, and deleting a library leaves it as it is),
    so the deleted library's stored contents are the others' too: what its deletion collects must not be.
    """
    token = seeded["token"]
    local = {"type": "local", "settings": {"path": LIBRARY_FOLDER}}
    library = call(base, token, "POST", "/api/libraries", {"name": "Documents", "embedded": True, **local})
    edited = call(base, token, "POST", "/api/libraries", {"name": "Edited", "embedded": True, **local})
    doomed = call(base, token, "POST", "/api/libraries", {"name": "Doomed library", **local})
    for each in (library, edited, doomed):
        result = call(base, token, "POST", f"/api/libraries/{each['id']}/_sync", {})
        if not result["success"] or result["added"] == 0:
            raise SystemExit(f"Seeding failed: the sync of library {each['name']!r} answered {result}")
    index(library["id"])
    files = call(base, token, "GET", f"/api/libraries/{library['id']}/files?limit=100")["_embedded"]["inf:library-file"]
    by_path = {item["path"]: item for item in files}
    if any(item["indexStatus"] != "indexed" for item in files if not item["directory"]):
        raise SystemExit(f"Seeding failed: not every file of the library was indexed: {files}")
    principal = seeded["principal_id"]
    call(base, token, "PUT", f"/api/libraries/{library['id']}/shares/{principal}", {"accessLevel": 1})
    return {
        "library_id": library["id"],
        "edited_library_id": edited["id"],
        "doomed_library_id": doomed["id"],
        "library_file_id": by_path[LIBRARY_FILE]["id"],
        "doomed_library_file_id": by_path[DOOMED_LIBRARY_FILE]["id"],
    }


def call(
    base: str, token: str, method: str, path: str, body: Any = None, *, content_type: str = "application/json"
) -> Any:
    """One API request; anything but a 2xx stops the run with the answer."""
    data = body if isinstance(body, bytes) else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method)  # noqa: S310 - loopback only
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            raw = response.read()
    except urllib.error.HTTPError as error:
        raise SystemExit(f"Seeding failed: {method} {path} answered {error.code}: {error.read()[:500]!r}") from None
    return json.loads(raw) if raw else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, server: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"The server exited with {server.returncode} before answering.")
        try:
            with urllib.request.urlopen(url, timeout=5):  # noqa: S310
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.3)
    raise SystemExit(f"The server did not answer {url} within {timeout:.0f} s.")


def stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group (runserver may have children), gently first."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def report_server_errors(log_path: Path, limit: int = 200) -> None:
    """The tracebacks the server logged, to go with schemathesis' report of the 500s."""
    lines = log_path.read_text(errors="replace").splitlines()
    errors = [index for index, line in enumerate(lines) if " ERROR " in line]
    if not errors:
        return
    print(f"\n--- server log: {len(errors)} logged error(s); the first ones follow ---")
    shown = 0
    for index in errors:
        block = [lines[index]]
        for line in lines[index + 1 :]:
            if line.startswith(("[", "20")) and " ERROR " not in line:
                break
            block.append(line)
        print("\n".join(block))
        shown += len(block)
        if shown > limit:
            break


if __name__ == "__main__":
    sys.exit(main())
