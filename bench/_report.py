"""What the benchmark scripts share around a measurement: its time, CPU and peak RSS, the load, the report's frame.

Linux only (``/proc``): peak RSS growth is VmHWM after the call over VmRSS before it, VmHWM being reset
through ``/proc/self/clear_refs`` first. Each script keeps its own row type and table columns; what is
the same for all is the opening lines (machine, time, service database, the run's settings) and the
closing ones (the summary's lines, the whole run's time and the load at the end).
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import _django

CPU: dict[str, float] = {}  # this process's CPU milliseconds in the last measured() call, under "ms"


def status(key: str) -> int:
    """A /proc/self/status figure in kB."""
    match = re.search(rf"^{key}:\s+(\d+)", Path("/proc/self/status").read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def measured(call: Callable[[], Any]) -> tuple[float, float, Any]:
    """Milliseconds, peak RSS growth in MB (VmHWM after over VmRSS before) and ``call()``; CPU ms in CPU["ms"]."""
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to the current RSS
    before = status("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    result = call()
    elapsed = (time.perf_counter() - started) * 1000
    # On a shared machine wall time moves with the load; this process's own CPU time much less.
    CPU["ms"] = (time.process_time() - cpu) * 1000
    return elapsed, (status("VmHWM") - before) / 1024, result


def load() -> str:
    return "load " + " ".join(Path("/proc/loadavg").read_text().split()[:3])


def opening(title: str, details: str) -> None:
    """The machine's line, then the time, the service database (no local path) and the run's ``details``."""
    from django.conf import settings

    print(_django.header(title))
    name = str(settings.DATABASES["default"]["NAME"]).replace(f"{_django.ROOT}/", "")
    print(f"{time.strftime('%Y-%m-%d %H:%M %Z')} | service {name} | {details} | {load()}")


def closing(head: str, rows: Iterable[str], summary: Iterable[str], started: float) -> None:
    """The table (``head`` and the rows' lines), the summary's lines, the whole run's time and the load."""
    print(f"\n{head}")
    for row in rows:
        print(row)
    print()
    for line in summary:
        print(line)
    print(f"whole run {time.monotonic() - started:,.0f} s | at the end: {load()}")
