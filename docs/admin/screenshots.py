"""Screenshots of the admin at 1440 px in headless Chromium, as a superuser and as the demo user.

    apt-get install chromium    # Debian's package
    .venv/bin/python docs/admin/screenshots.py [--out docs/admin] [--all] [--full] [--keep]

It makes a throwaway SQLite database, runs the migrations and ``seed_demo``, adds a webhook action and a few
runs (one succeeded, one failed with a long error, one running), starts ``manage.py runserver`` on a free
loopback port, logs each user in with a session made by Django's ``SessionStore`` and drives Chromium over
the DevTools protocol on a pipe (``--remote-debugging-pipe``: no extra package). It opens the job list, a
job's page, the run list, a run's page, the user list and the dataset, datasource and snapshot lists as
each user, prints the document's ``scrollWidth`` next to the viewport's width and any box inside that
scrolls sideways (the admin wraps its result table in one), and exits 1 if a page scrolls sideways
anywhere. The PNGs named in ``SAVED`` go to ``--out`` (the others too with ``--all``), the top 900 px of each
page (``--full``: the whole page).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1440, 900
# The shots kept in docs/admin/: each page once, and the demo user's job list.
SAVED = {
    "admin-job-list",
    "admin-job-change",
    "admin-run-list",
    "admin-run-change",
    "admin-user-list",
    "demo-job-list",
}

# Made in the throwaway database: runs for the screenshots, and a session per user (printed as JSON).
SETUP = r"""
import json
from datetime import timedelta
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone
from informer.models import User
from jobs.models import Job, JobAction
from runs import triggers
from runs.models import Run, RunStatus, Trigger

now = timezone.now().replace(microsecond=0)
demo = triggers.by_user(User.objects.get(username="demo"))
job = Job.objects.get(tenant__slug="default", slug="weekly-sales-report")
ping = Job.objects.get(tenant__slug="default", slug="health-check-ping")
began = now - timedelta(hours=2)
step = {"key": "type", "name": "Email", "status": "success", "message": "Sent to 3 recipients",
        "startedAt": began.isoformat(), "endedAt": (began + timedelta(seconds=4)).isoformat()}
runs = [
    Run(job=job, tenant_id=job.tenant_id, trigger=Trigger.SCHEDULE, triggered_by=triggers.SCHEDULE,
        status=RunStatus.SUCCEEDED, success=True,
        scheduled_for=now - timedelta(hours=2), created_at=now - timedelta(hours=2),
        started_at=now - timedelta(hours=2), ended_at=now - timedelta(hours=2) + timedelta(seconds=4), progress=[step]),
    Run(job=ping, tenant_id=ping.tenant_id, trigger=Trigger.MANUAL, triggered_by=demo,
        status=RunStatus.FAILED, success=False,
        created_at=now - timedelta(minutes=30), started_at=now - timedelta(minutes=30),
        ended_at=now - timedelta(minutes=29, seconds=48),
        error="api-call: GET https://status.example.com/ping answered 503 Service Unavailable after 3 attempts; "
              "the body was: {\"error\": \"upstream connect error or disconnect/reset before headers. reset reason: "
              "connection failure, transport failure reason: delayed connect error: 111\"}",
        params={"region": "eu-west-1", "verbose": True}),
    Run(job=job, tenant_id=job.tenant_id, trigger=Trigger.MANUAL, triggered_by=demo, status=RunStatus.RUNNING,
        created_at=now - timedelta(seconds=20), started_at=now - timedelta(seconds=19), heartbeat_at=now,
        progress=[{**step, "status": "running", "message": "Rendering", "endedAt": None}]),
]
for run in runs:
    run.save(force_insert=True)
JobAction.objects.create(
    job=job, index=0, type="webhook", name="Tell the sales channel",
    data={"url": "https://hooks.example.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX", "method": "POST",
          "headers": {"Content-Type": "application/json"},
          "body": "{\"text\": \"Sales report for {{ job.name }} is out\"}"},
)
sessions = {}
for username in ("admin", "demo"):
    user = User.objects.get(username=username)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    sessions[username] = session.session_key
print("SETUP" + json.dumps({"sessions": sessions, "job": str(job.pk), "run": str(runs[1].pk)}))
"""

# The page's widths, and every box inside it that scrolls sideways (the admin wraps its result table in
# one, so a table too wide scrolls there and never widens the page itself).
MEASURE = """JSON.stringify([
  document.documentElement.scrollWidth, document.documentElement.clientWidth,
  document.documentElement.scrollHeight, document.title,
  [...document.querySelectorAll("body *")].filter(element => {
    const overflow = getComputedStyle(element).overflowX;
    return (overflow === "auto" || overflow === "scroll") && element.scrollWidth > element.clientWidth + 1;
  }).map(element => `${element.tagName.toLowerCase()}${element.id ? "#" + element.id : ""}`
    + `${element.className ? "." + String(element.className).trim().split(/\\s+/).join(".") : ""}`
    + ` ${element.scrollWidth} > ${element.clientWidth}`),
  [...document.querySelectorAll("body *")].filter(element => element.getBoundingClientRect().right
    > document.documentElement.clientWidth + 1).slice(-3).map(element => `${element.tagName.toLowerCase()}`
    + `${element.className ? "." + String(element.className).trim().split(/\\s+/).join(".") : ""}`
    + ` ends at ${Math.round(element.getBoundingClientRect().right)}`)
])"""

PAGES = {
    "job-list": "/admin/jobs/job/",
    "job-change": "/admin/jobs/job/{job}/change/",
    "run-list": "/admin/runs/run/",
    "run-change": "/admin/runs/run/{run}/change/",
    "user-list": "/admin/informer/user/",
    # seed_demo's sales dataset and its datasource (empty lists until it makes them).
    "dataset-list": "/admin/datasets/dataset/",
    "datasource-list": "/admin/datasets/datasource/",
    "snapshot-list": "/admin/datasets/snapshot/",
}


class DevTools:
    """The DevTools protocol over Chromium's pipe: NUL-terminated JSON messages on fds 3 (in) and 4 (out)."""

    def __init__(self, chromium: str, profile: str) -> None:
        to_browser_read, self._write = os.pipe()
        self._read, from_browser_write = os.pipe()
        # Above 3 and 4 first, so that putting one in place cannot close the other.
        high_read, high_write = (fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser_read, from_browser_write))

        def wire() -> None:
            os.dup2(high_read, 3)
            os.dup2(high_write, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.process = subprocess.Popen(  # noqa: S603 - our own command line
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--window-size={WIDTH},{HEIGHT}",
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            preexec_fn=wire,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
        )
        for fd in (to_browser_read, from_browser_write, high_read, high_write):
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict[str, Any]] = []

    def _receive(self) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            chunk = os.read(self._read, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe.")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._receive()
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_for(self, event: str, session: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for index, message in enumerate(self._events):
                if message.get("method") == event and message.get("sessionId") == session:
                    del self._events[: index + 1]
                    return
            self._events.append(self._receive())
        raise TimeoutError(event)

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, OSError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode:
        raise SystemExit(f"manage.py {' '.join(args[:1])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"The server did not answer at {url}.")


def shoot(
    tools: DevTools, base: str, session_key: str, url: str, path: Path, max_height: int
) -> tuple[int, int, list[str]]:
    """Open ``url`` logged in, save a PNG of it; the page's scrollWidth, the viewport's, boxes that scroll."""
    target = tools.call("Target.createTarget", url="about:blank")["targetId"]
    session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    tools.call("Page.enable", session)
    tools.call("Network.enable", session)
    tools.call("Network.setCookie", session, name="sessionid", value=session_key, url=base, path="/")
    tools.call(
        "Emulation.setDeviceMetricsOverride", session, width=WIDTH, height=HEIGHT, deviceScaleFactor=1, mobile=False
    )
    tools.call("Page.navigate", session, url=base + url)
    tools.wait_for("Page.loadEventFired", session)
    measured = tools.call(
        "Runtime.evaluate",
        session,
        expression=MEASURE,
        returnByValue=True,
    )
    scroll_width, client_width, height, title, boxes, beyond = json.loads(measured["result"]["value"])
    shot = tools.call(
        "Page.captureScreenshot",
        session,
        format="png",
        captureBeyondViewport=True,
        clip={"x": 0, "y": 0, "width": max(scroll_width, WIDTH), "height": min(height, max_height), "scale": 1},
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    tools.call("Target.closeTarget", targetId=target)
    print(f"{path.name:26} scrollWidth {scroll_width:5} / {client_width:5}  {title}")
    for box in boxes:
        print(f"{'':26} scrolls inside: {box}")
    for element in beyond if scroll_width > client_width else []:
        print(f"{'':26} past the edge: {element}")
    return scroll_width, client_width, boxes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "admin"), help="Where the PNGs go.")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "chromium")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary database and profile.")
    parser.add_argument("--full", action="store_true", help="Shoot whole pages, however long.")
    parser.add_argument("--all", action="store_true", help="Save every shot, not only those in SAVED.")
    options = parser.parse_args()
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="admin-shots-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{work / 'db.sqlite3'}",
        "MEDIA_ROOT": str(work / "media"),
        "STATIC_ROOT": str(work / "static"),
        "DJANGO_SETTINGS_MODULE": "informer.settings",
    }
    env.pop("DEBUG", None)
    manage(env, "migrate", "--no-input")
    manage(env, "seed_demo", "--password", "informer-demo")
    setup = json.loads(manage(env, "shell", "-c", SETUP).split("SETUP", 1)[1])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    overflowing = []
    try:
        wait_until_up(base + "/admin/login/")
        tools = DevTools(options.chromium, str(work / "profile"))
        try:
            for username, key in setup["sessions"].items():
                for name, template in PAGES.items():
                    shot = f"{username}-{name}"
                    path = (out if options.all or shot in SAVED else work) / f"{shot}.png"
                    scroll_width, client_width, boxes = shoot(
                        tools, base, key, template.format(**setup), path, 100_000 if options.full else HEIGHT
                    )
                    if scroll_width > client_width or boxes:
                        overflowing.append(path.name)
        finally:
            tools.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    if overflowing:
        print("Scrolls sideways at", WIDTH, "px:", ", ".join(overflowing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
