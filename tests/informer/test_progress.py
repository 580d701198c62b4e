"""``informer.progress``: a bar on a terminal, whole lines anywhere else; logging silenced and restored."""

from __future__ import annotations

import fcntl
import logging
import os
import select
import struct
import termios
from io import StringIO

import pytest
from django.core.management.base import OutputWrapper

from informer.progress import is_terminal, logging_silenced, progress, track


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("stream", "terminal"),
    [(Terminal(), True), (StringIO(), False), (OutputWrapper(Terminal()), True), (OutputWrapper(StringIO()), False)],
)
def test_is_terminal(stream, terminal):
    assert is_terminal(stream) is terminal


def test_a_closed_file_is_no_terminal():
    stream = StringIO()
    stream.close()
    assert is_terminal(stream) is False


@pytest.mark.parametrize(
    ("total", "lines"),
    [
        (3, ["n: 1/3 jobs", "n: 2/3 jobs", "n: 3/3 jobs"]),
        (40, [f"n: {done}/40 jobs" for done in range(4, 41, 4)]),  # at each tenth, ten lines at most
        (None, ["n: 100 jobs", "n: 200 jobs", "n: 250 jobs"]),  # every hundred, and the last count
    ],
)
def test_plain_output_reports_counts_as_whole_lines(total, lines):
    # given
    raw = StringIO()
    items = range(total or 250)

    # when
    for _ in track(items if total else iter(items), OutputWrapper(raw), description="n", unit="jobs"):
        pass

    # then
    assert raw.getvalue() == "".join(f"{line}\n" for line in lines)


def test_plain_output_on_a_bare_file_ends_each_line_too():
    raw = StringIO()

    with progress(raw, total=2, description="n", unit="steps") as report:
        report.line("starting")
        report.advance()
        report.advance(line="second done")

    assert raw.getvalue() == "starting\nn: 1/2 steps\nsecond done\n"


def test_on_a_terminal_lines_are_written_above_a_bar():
    # given
    raw = Terminal()

    # when
    with progress(OutputWrapper(raw), description="n", unit="steps") as report:
        assert report.bar
        report.set_total(2)
        report.advance(line="one")
        report.describe("almost")
        report.advance()

    # then: the bar redraws its own line; each line of the command is a line of its own
    text = raw.getvalue()
    assert "\rone\n" in text
    assert "almost: 100%" in text and "2/2" in text
    assert text.endswith("\n")


def test_bar_can_be_asked_for_or_refused_whatever_the_stream():
    assert not progress_bar(Terminal(), bar=False)
    assert progress_bar(StringIO(), bar=True)


def progress_bar(stream: StringIO, *, bar: bool) -> bool:
    with progress(stream, total=1, bar=bar) as report:
        return report.bar


def test_logging_silenced_and_restored(caplog):
    logger = logging.getLogger("django-q")
    with caplog.at_level(logging.INFO):
        with logging_silenced():
            logger.error("inside")
        with logging_silenced(enabled=False):
            logger.info("kept")
        logger.warning("after")

    assert [record.getMessage() for record in caplog.records] == ["kept", "after"]


@pytest.mark.parametrize(("rows", "columns"), [(0, 0), (0, 100), (30, 0), (30, 100)])
def test_a_terminal_of_no_size_still_gets_a_bar(rows, columns):
    # given: a pseudo-terminal nobody gave a size says 0 columns or 0 lines
    main, side = os.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    stream = open(side, "w", encoding="utf-8")  # noqa: SIM115 - closed below, with the pty
    try:
        # when
        with progress(OutputWrapper(stream), total=2, description="n", unit="steps") as report:
            report.advance(2)
        stream.flush()

        # then
        drawn = b""
        while select.select([main], [], [], 0.2)[0]:
            drawn += os.read(main, 65536)
    finally:
        stream.close()
        os.close(main)
    assert "n: 100%|" in drawn.decode() and "2/2" in drawn.decode()
