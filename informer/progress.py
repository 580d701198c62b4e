"""Progress of long management commands: a bar on a terminal, plain lines anywhere else.

``run_job --wait``, ``prune_history`` and ``seed_demo`` report through this module, and the dataset and
library commands (``refresh_dataset``, ``sync_library``, ``index_library``) are to reuse it, so that every
long command looks and behaves alike. Hand it the command's ``stdout``. When that stream is a terminal it
draws a tqdm bar, and the lines the command writes through it appear above the bar. When it is not (a
pipe, a log file, CI), every write is a whole line, with no carriage returns, and a count that has no
lines of its own is reported at each tenth of its total. ``logging_silenced`` keeps log records from
breaking into a bar.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.core.management.base import OutputWrapper
from tqdm import tqdm

T = TypeVar("T")

# Plain output reports a count at most this many times over a known total (at each tenth of it).
PLAIN_LINES = 10
# Without a known total, plain output reports a count every this many items.
PLAIN_EVERY = 100
FALLBACK_COLUMNS = 80


def _size(stream: Any) -> os.terminal_size | None:
    """The size of the terminal ``stream`` is, or None when it cannot be asked."""
    try:
        return os.get_terminal_size(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def is_terminal(stream: Any) -> bool:
    """Whether ``stream`` (a file, or a command's OutputWrapper) is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed file
        return False


def _write(stream: Any, text: str, *, ending: str = "\n") -> None:
    if isinstance(stream, OutputWrapper):
        stream.write(text, ending=ending)
    else:
        stream.write(text + ending)


class _Raw:
    """``stream`` written to as tqdm writes to a file: a command's OutputWrapper would end each write with
    a newline, and a bar redraws its line with a carriage return."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        _write(self.stream, text, ending="")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def fileno(self) -> int:
        # The terminal's width, when tqdm can ask the terminal; it falls back to a fixed width otherwise.
        return int(self.stream.fileno())

    @property
    def encoding(self) -> str | None:
        # tqdm draws with block characters only on a UTF-8 stream, ASCII otherwise.
        return getattr(self.stream, "encoding", None)


class Progress:
    """One task's progress: ``advance`` counts what is done, ``line`` says something; see ``progress``."""

    def __init__(self, stream: Any, *, total: int | None, description: str, unit: str, bar: bool) -> None:
        self.stream = stream
        self.total = total
        self.description = description
        self.unit = unit
        self.done = 0
        self._reported = 0  # plain output: the tenth (or, without a total, the count) reported last
        size = _size(stream)
        width: dict[str, Any] = {"dynamic_ncols": True}
        if size is not None and not (size.columns and size.lines):
            # A pseudo-terminal nobody gave a size (some containers' and CI's) says 0 columns or 0 lines,
            # and tqdm would draw nothing on it: it gets a fixed width instead.
            width = {"ncols": size.columns or FALLBACK_COLUMNS}
        self._bar = (
            tqdm(total=total, desc=description, unit=unit, file=_Raw(stream), leave=True, **width) if bar else None
        )

    @property
    def bar(self) -> bool:
        """Whether a bar is drawn (the stream is a terminal)."""
        return self._bar is not None

    def advance(self, count: int = 1, *, line: str | None = None) -> None:
        """``count`` more done; ``line``, when given, says what (and stands for the count in plain output)."""
        self.done += count
        if line is not None:
            self.line(line)
        if self._bar is not None:
            self._bar.update(count)
        elif line is None:
            self._plain_count()

    def line(self, text: str) -> None:
        """A line of its own: above the bar on a terminal, as it is otherwise."""
        if self._bar is not None:
            tqdm.write(text, file=self._bar.fp)
        else:
            _write(self.stream, text)

    def set_total(self, total: int) -> None:
        """The total, once it is known (or when it changes)."""
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def describe(self, text: str) -> None:
        """What the bar says before its count (the plain output has its own lines for it)."""
        self.description = text
        if self._bar is not None:
            self._bar.set_description_str(text)

    def close(self) -> None:
        """End the bar (it stays on screen), or report a count not reported yet."""
        if self._bar is not None:
            self._bar.close()
        elif not self.total and self.done and self.done != self._reported:
            self._reported = self.done
            _write(self.stream, f"{self.description}: {self.done} {self.unit}")

    def _plain_count(self) -> None:
        if self.total:
            tenth = min(self.done, self.total) * PLAIN_LINES // self.total
            if tenth > self._reported:
                self._reported = tenth
                _write(self.stream, f"{self.description}: {self.done}/{self.total} {self.unit}")
        elif self.done - self._reported >= PLAIN_EVERY:
            self._reported = self.done
            _write(self.stream, f"{self.description}: {self.done} {self.unit}")


@contextmanager
def progress(
    stream: Any, *, total: int | None = None, description: str = "", unit: str = "items", bar: bool | None = None
) -> Iterator[Progress]:
    """Report progress on ``stream``: a bar when it is a terminal (or ``bar`` says so), plain lines otherwise.

    ``unit`` is plural ("jobs", "steps"): the plain lines read "<description>: 3/10 jobs".
    """
    report = Progress(
        stream, total=total, description=description, unit=unit, bar=is_terminal(stream) if bar is None else bar
    )
    try:
        yield report
    finally:
        report.close()


def track(
    items: Iterable[T],
    stream: Any,
    *,
    total: int | None = None,
    description: str = "",
    unit: str = "items",
    bar: bool | None = None,
) -> Iterator[T]:
    """Yield ``items``, counting each one once the caller is done with it (see ``progress``)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with progress(stream, total=total, description=description, unit=unit, bar=bar) as report:
        for item in items:
            yield item
            report.advance()


@contextmanager
def logging_silenced(enabled: bool = True) -> Iterator[None]:
    """Inside, no log record is emitted by any logger, in any thread (``enabled`` False: leave logging be).

    For a command that follows work on a terminal: a record from a library (django-q2's, the drivers')
    would break into its bar and lines; what matters of it is in the command's own output.
    """
    if not enabled:
        yield
        return
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)
