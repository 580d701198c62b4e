"""CSV: each data row a line ``header: value; header: value``, so every chunk keeps its column names.

The bytes are decoded as a text file's are (``library.extract.text``), streamed. The dialect is sniffed from
the first 64 KiB of whole lines, among the delimiters ``,`` ``;`` tab and ``|``; when the sniffer cannot
tell (a single column, say), the file is read as standard comma-separated CSV.

Choices: the first row is always the header (``csv.Sniffer.has_header`` guesses wrong too often to decide
what a column is called); a blank header cell, or a cell beyond the header, is called ``column N``
(from 1). Empty values are left out, and a row with none is skipped; a value's own line breaks become
spaces, so a row stays one line. Every row is its own paragraph (a blank line between rows), so the
chunker packs whole rows and never splits one unless a single row is longer than a chunk. A header
without any data row gives no text.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from typing import IO

from library.extract import ExtractionError, Page, TextBudget
from library.extract.text import decoded_pieces

SNIFF_CHARS = 64 * 1024
DELIMITERS = ",;\t|"


def read(fileobj: IO[bytes], *, file_format: str, budget: TextBudget) -> list[Page]:
    """The rows as one page of ``header: value`` lines, up to the budget."""
    lines = _lines(decoded_pieces(fileobj))
    sample_lines = _take_sample(lines)
    dialect = _sniff("".join(sample_lines))
    rows = csv.reader(itertools.chain(sample_lines, lines), dialect)
    try:
        header = next(rows, None)
        if header is None:
            return [Page(text="")]
        names = [name.strip() for name in header]
        text = budget.paragraphs(_row_text(names, row) for row in rows)
    except csv.Error as error:
        raise ExtractionError(f"the CSV could not be read: line {rows.line_num}: {error}") from error
    return [Page(text=text)]


def _row_text(names: list[str], row: list[str]) -> str:
    cells = []
    for index, value in enumerate(row):
        value = " ".join(value.split())
        if not value:
            continue
        name = names[index] if index < len(names) and names[index] else f"column {index + 1}"
        cells.append(f"{name}: {value}")
    return "; ".join(cells)


def _lines(pieces: Iterator[str]) -> Iterator[str]:
    """Whole lines (each with its ``\\n``, the last one perhaps without) out of text pieces."""
    partial = ""
    for piece in pieces:
        lines = (partial + piece).split("\n")
        partial = lines.pop()
        for line in lines:
            yield line + "\n"
    if partial:
        yield partial


def _take_sample(lines: Iterator[str]) -> list[str]:
    sample: list[str] = []
    size = 0
    for line in lines:
        sample.append(line)
        size += len(line)
        if size >= SNIFF_CHARS:
            break
    return sample


def _sniff(sample: str) -> type[csv.Dialect] | csv.Dialect:
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
    except csv.Error:
        return csv.excel
