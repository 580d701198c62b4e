"""PDF: one page of text per PDF page, numbered from 1, read by pypdf.

A file without the ``%PDF-`` header in its first KiB (where readers look for it) is not a PDF. An
encrypted PDF is read when it opens with the empty password (documents that only restrict printing or
copying); otherwise it is an ``ExtractionError("the PDF is encrypted")``. A page without text (a scan, a
blank page) is kept, empty, so that the numbers of the pages after it stay right. Once the budget is spent,
the pages after it are not read, nor listed. pypdf's own text layout is kept (a line per line of text);
runs of blank lines become one blank line, which is where the chunker splits paragraphs.

pypdf raises many kinds of exception on a malformed file (its own, but also ``KeyError``, ``ValueError``,
``TypeError``… from deep inside a broken object), so every exception while reading is reported as an
``ExtractionError`` with pypdf's message, naming the page when it happened on one.
"""

from __future__ import annotations

import re
from typing import IO

from pypdf import PasswordType, PdfReader

from library.extract import ExtractionError, Page, TextBudget, seekable

_BLANK_LINES = re.compile(r"\n[ \t\r\f\v]*\n")
ENCRYPTED = "the PDF is encrypted"
HEADER_WINDOW = 1024


def read(fileobj: IO[bytes], *, file_format: str, budget: TextBudget) -> list[Page]:
    """The text of each page, in order, up to the budget."""
    with seekable(fileobj) as stream:
        return _pages(stream, budget)


def _pages(stream: IO[bytes], budget: TextBudget) -> list[Page]:
    start = stream.tell()
    # pypdf reads past a missing header; a file without one anywhere near its start is not a PDF at all
    if b"%PDF-" not in stream.read(HEADER_WINDOW):
        raise ExtractionError("the file is not a PDF")
    stream.seek(start)
    try:
        reader = PdfReader(stream)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise ExtractionError(ENCRYPTED)
        count = len(reader.pages)
    except ExtractionError:
        raise
    except Exception as error:  # see the module's docstring
        raise ExtractionError(f"the PDF could not be read: {_reason(error)}") from error
    pages = []
    for index in range(count):
        if budget.exhausted:
            break
        try:
            text = reader.pages[index].extract_text()
        except Exception as error:  # see the module's docstring
            raise ExtractionError(f"page {index + 1} of the PDF could not be read: {_reason(error)}") from error
        pages.append(Page(text=budget.paragraphs(_BLANK_LINES.split(text)), number=index + 1))
    return pages


def _reason(error: Exception) -> str:
    message = " ".join(str(error).split())
    return message[:300] if message else type(error).__name__
