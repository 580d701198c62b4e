"""What the library commands (``sync_library``, ``index_library``) print: a bar of files, and a summary."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from django.core.management.base import OutputWrapper
from django.core.management.color import Style

from informer.progress import Progress


class FilesState(Protocol):
    """What a sync's or an indexing's progress says of its files."""

    files_done: int
    files_total: int


State = TypeVar("State", bound=FilesState)


class FilesCounter(Generic[State]):
    """A ``progress`` callback: files counted on the bar, and one other count (``counted``) in its description.

    The description is written only when that count changes, so it says nothing before the first change.
    """

    def __init__(self, report: Progress, counted: Callable[[State], int], describe: Callable[[int], str]) -> None:
        self.report = report
        self.counted = counted
        self.describe = describe
        self.shown = 0

    def __call__(self, state: State) -> None:
        if self.report.total != state.files_total:
            self.report.set_total(state.files_total)
        count = self.counted(state)
        if count != self.shown:
            self.shown = count
            self.report.describe(self.describe(count))
        if state.files_done > self.report.done:
            self.report.advance(state.files_done - self.report.done)


def summary_write(
    stdout: OutputWrapper,
    style: Style,
    *,
    library_name: str,
    lines: Sequence[str],
    errors: Sequence[dict[str, str]],
    done: str | None,
) -> None:
    """A line a count, then each problem (``{path, error}``, the library's own under its name), then ``done``
    (a warning when there were problems; nothing when ``done`` is None, the work having failed)."""
    for line in lines:
        stdout.write(f"  {line}")
    for error in errors:
        stdout.write(style.WARNING(f"  {error['path'] or library_name}: {error['error']}"))
    if done is not None:
        stdout.write(style.WARNING(done) if errors else style.SUCCESS(done))
