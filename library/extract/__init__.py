"""Text out of a library file's bytes (§9 "Index"): one module per format, the same small result for all.

``extract`` picks the module by ``format_of`` and returns ``Extracted``: a list of ``Page`` (one per PDF
page, numbered from 1; a single unnumbered page for every other format). Paragraphs are separated by a
blank line in every format, so the chunker can split on them.

Choices where the spec is silent:

- The format comes from the file name's extension when it is one we read (``.htm`` and ``.markdown``
  included, any case); otherwise from the content type (its parameters ignored); otherwise there is none.
- ``max_chars`` caps the text of the whole file, the blank lines between paragraphs included, so the
  pages' texts together never exceed it. The readers stop reading once it is reached (text files are read
  in pieces; HTML, PDF and Word files must be parsed whole, but their text is never kept past the cap).
- NUL characters are dropped from every text: PostgreSQL cannot store them, and they carry no meaning.
- A reader's failure on a malformed file, whatever the parsing library raised, becomes an
  ``ExtractionError`` whose message says what is wrong in a few words (it is shown as ``indexError``).
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Protocol

from django.conf import settings

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "Extracted",
    "ExtractionError",
    "Page",
    "TextBudget",
    "UnsupportedFormat",
    "extract",
    "format_of",
    "seekable",
]

SUPPORTED_EXTENSIONS: tuple[str, ...] = ("txt", "md", "csv", "html", "pdf", "docx")
DEFAULT_MAX_TEXT_CHARS = 5_000_000

# Extensions (lower case, no dot) and the format each is read as.
_EXTENSIONS = {
    "txt": "txt",
    "md": "md",
    "markdown": "md",
    "csv": "csv",
    "html": "html",
    "htm": "html",
    "pdf": "pdf",
    "docx": "docx",
}
_CONTENT_TYPES = {
    "text/plain": "txt",
    "text/markdown": "md",
    "text/x-markdown": "md",
    "text/csv": "csv",
    "application/csv": "csv",
    "text/comma-separated-values": "csv",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
# The module that reads each format (imported on first use: pypdf, bs4 and python-docx are not small).
_READERS = {
    "txt": "library.extract.text",
    "md": "library.extract.text",
    "csv": "library.extract.csv",
    "html": "library.extract.html",
    "pdf": "library.extract.pdf",
    "docx": "library.extract.docx",
}
# Inputs that cannot seek (pypdf and zipfile need to) are copied to a temporary file, in memory up to this.
_SPOOL_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Page:
    """The text of one page of a file; ``number`` is the PDF page (from 1), None for other formats."""

    text: str
    number: int | None = None


@dataclass(frozen=True)
class Extracted:
    """A file's text, page by page."""

    pages: list[Page]

    @property
    def has_text(self) -> bool:
        """Whether any page holds something other than white space."""
        return any(page.text.strip() for page in self.pages)


class ExtractionError(Exception):
    """The file could not be read; ``str(error)`` is the reason, shown as the file's ``indexError``."""


class UnsupportedFormat(ExtractionError):
    """The file is of a format no reader handles."""


class _Reader(Protocol):
    def read(self, fileobj: IO[bytes], *, file_format: str, budget: TextBudget) -> list[Page]: ...


class TextBudget:
    """How many characters of text a file may still yield; the readers take every piece of text through it."""

    def __init__(self, max_chars: int) -> None:
        if max_chars < 0:
            raise ValueError("max_chars must not be negative")
        self.remaining = max_chars

    @property
    def exhausted(self) -> bool:
        """Whether no more text fits."""
        return self.remaining <= 0

    def take(self, text: str) -> str:
        """``text``, cut to what still fits, which is then spent."""
        if len(text) > self.remaining:
            text = text[: self.remaining]
        self.remaining -= len(text)
        return text

    def paragraphs(self, paragraphs: Iterable[str]) -> str:
        """The non-blank ``paragraphs`` (stripped) joined by blank lines, as far as they fit.

        The iterable is consumed only while there is room, so a reader that yields lazily stops early.
        """
        parts: list[str] = []
        if self.exhausted:
            return ""
        for paragraph in paragraphs:
            paragraph = paragraph.replace("\x00", "").strip()
            if not paragraph:
                continue
            if parts:
                if self.remaining <= 2:
                    break  # room for the blank line but not for a character after it
                parts.append(self.take("\n\n"))
            parts.append(self.take(paragraph))
            if self.exhausted:
                break
        return "".join(parts)


def format_of(filename: str, content_type: str = "") -> str | None:
    """The format a file is read as ("txt", "md", "csv", "html", "pdf" or "docx"), or None.

    The extension decides when it is one we read; otherwise the content type does.
    """
    name = os.path.basename(filename.replace("\\", "/"))
    _, dot, extension = name.rpartition(".")
    if dot and extension.lower() in _EXTENSIONS:
        return _EXTENSIONS[extension.lower()]
    media_type = content_type.split(";", 1)[0].strip().lower()
    return _CONTENT_TYPES.get(media_type)


def extract(fileobj: IO[bytes], *, filename: str, content_type: str = "", max_chars: int | None = None) -> Extracted:
    """The text of ``fileobj`` (read from where it stands), page by page, at most ``max_chars`` of it.

    Raises ``UnsupportedFormat`` for a format we do not read and ``ExtractionError`` for a broken or
    encrypted file. ``max_chars`` defaults to ``settings.INFORMER_LIBRARY_MAX_TEXT_CHARS``.
    """
    file_format = format_of(filename, content_type)
    if file_format is None:
        raise UnsupportedFormat(_unsupported_reason(filename, content_type))
    if max_chars is None:
        max_chars = getattr(settings, "INFORMER_LIBRARY_MAX_TEXT_CHARS", DEFAULT_MAX_TEXT_CHARS)
    reader: _Reader = importlib.import_module(_READERS[file_format])
    return Extracted(pages=reader.read(fileobj, file_format=file_format, budget=TextBudget(max_chars)))


def _unsupported_reason(filename: str, content_type: str) -> str:
    _, dot, extension = os.path.basename(filename.replace("\\", "/")).rpartition(".")
    if dot and extension:
        return f"the .{extension.lower()[:20]} format is not supported"
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type:
        return f"the {media_type[:100]} format is not supported"
    return "a file without an extension or a known content type is not supported"


@contextmanager
def seekable(fileobj: IO[bytes]) -> Iterator[IO[bytes]]:
    """``fileobj`` itself when it can seek, else a temporary copy of the rest of it (rewound, then closed)."""
    try:
        can_seek = fileobj.seekable()
    except (AttributeError, ValueError):
        can_seek = False
    if can_seek:
        yield fileobj
        return
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as copy:
        shutil.copyfileobj(fileobj, copy)
        copy.seek(0)
        yield copy
