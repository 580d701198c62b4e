"""Word (.docx): the body's paragraphs and tables in document order, as one page, read by python-docx.

Each non-empty paragraph is a paragraph of text (its line breaks and tabs kept). Each table row is one
paragraph, its cells joined by `` | `` (a cell merged across columns counted once; a cell's own paragraphs
joined by spaces; nested tables inside a cell left out, as python-docx's cell text leaves them). A row of
empty cells is skipped. Headers, footers, footnotes, comments and text boxes are not part of the body and are
left out: headers and footers repeat on every page and would crowd out the text.

A file that is not a zip, or a zip without a Word document in it, is an ``ExtractionError`` with the reason.
Before python-docx reads anything, the zip's entries are checked: when their sizes, once inflated, add up to
more than ``MAX_INFLATED_BYTES``, the file is refused (a "zip bomb" would otherwise be inflated in memory).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from typing import IO, Any

from library.extract import ExtractionError, Page, TextBudget, seekable

MAX_INFLATED_BYTES = 512 * 1024 * 1024


def read(fileobj: IO[bytes], *, file_format: str, budget: TextBudget) -> list[Page]:
    """The body's text as one page, up to the budget."""
    with seekable(fileobj) as stream:
        return [Page(text=_text(stream, budget))]


def _text(stream: IO[bytes], budget: TextBudget) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    start = stream.tell()
    try:
        with zipfile.ZipFile(stream) as archive:
            inflated = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ExtractionError(f"the file is not a readable Word document: {_reason(error)}") from error
    if inflated > MAX_INFLATED_BYTES:
        raise ExtractionError(f"the Word document unzips to more than {_size(MAX_INFLATED_BYTES)}")
    stream.seek(start)
    try:
        return budget.paragraphs(_blocks(docx.Document(stream)))
    except PackageNotFoundError as error:
        raise ExtractionError("the file is not a Word document") from error
    except Exception as error:
        # python-docx and lxml raise KeyError, ValueError, XMLSyntaxError… on a malformed package
        raise ExtractionError(f"the Word document could not be read: {_reason(error)}") from error


def _blocks(document: Any) -> Iterator[str]:
    """Paragraph texts and table rows, in the order the body holds them."""
    from docx.table import Table

    for block in document.iter_inner_content():
        if isinstance(block, Table):
            yield from _rows(block)
        else:
            yield block.text


def _rows(table: Any) -> Iterator[str]:
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:
                continue  # a cell spanning several grid columns is listed once per column
            previous = cell._tc
            cells.append(" ".join(cell.text.split()))
        if any(cells):
            yield " | ".join(cells)


def _size(count: int) -> str:
    return f"{count // 2**20} MiB" if count >= 2**20 and count % 2**20 == 0 else f"{count:,} bytes"


def _reason(error: Exception) -> str:
    # a KeyError's str() is the repr of its key, quotes and all
    text = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
    message = " ".join(text.split())
    return message[:300] if message else type(error).__name__
