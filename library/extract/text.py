"""Plain text and Markdown: the file's characters, decoded in pieces, as one page.

The encoding is decided once from the file's first 64 KiB: a byte-order mark wins (UTF-8, UTF-16 and
UTF-32, either order); else text that decodes as UTF-8 is UTF-8 (ASCII included); else charset-normalizer
chooses. Among single-byte code pages that fit the bytes equally well it is close to a coin toss on a short
text (cp1250 or cp1257 for a French letter), so when cp1252 fits as well as its choice (a language fit at
least as good, a "mess" score at most ``WESTERN_CHAOS_MARGIN`` worse), cp1252 is taken: it is by far the
most common legacy encoding, and ISO-8859-1 text decodes the same under it. The price: a short Baltic or
Turkish text may come out as cp1252. Central European and non-Latin texts do not fit cp1252 and keep the
detector's choice. A sample without control bytes that the detector rejects as too messy is offered to it
again with a lenient threshold (long Polish texts, say). Bytes that do not decode are replaced (U+FFFD)
rather than failing the file; a file nothing decodes is not text.

Markdown is kept as written, its markup included: headings, lists and emphasis marks are few and the words
around them are what a search needs. Line ends become ``\\n``; NUL characters are dropped.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import IO

import charset_normalizer

from library.extract import ExtractionError, Page, TextBudget

SAMPLE_BYTES = 64 * 1024
PIECE_BYTES = 1024 * 1024
# UTF-32 first: its little-endian mark begins with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
WESTERN = "cp1252"
# How much more "mess" (charset-normalizer's chaos, 0 to 1) cp1252 may show than the detector's choice and
# still be preferred: on short texts Latin code pages differ by about this much for no good reason.
WESTERN_CHAOS_MARGIN = 0.2
LENIENT_CHAOS = 0.5
# C0 control bytes other than tab, line feed, form feed, carriage return and escape: binary, not text.
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


def read(fileobj: IO[bytes], *, file_format: str, budget: TextBudget) -> list[Page]:
    """The text as a single page, cut at the budget (no more of the file is read than that needs)."""
    pieces = []
    for piece in decoded_pieces(fileobj):
        pieces.append(budget.take(piece))
        if budget.exhausted:
            break
    return [Page(text="".join(pieces))]


def decoded_pieces(fileobj: IO[bytes], piece_bytes: int = PIECE_BYTES) -> Iterator[str]:
    """The file's text in pieces of about ``piece_bytes`` bytes each: line ends as ``\\n``, no NULs."""
    data = fileobj.read(SAMPLE_BYTES)
    if not data:
        return
    decoder = codecs.getincrementaldecoder(detect_encoding(data))(errors="replace")
    carry = ""
    while True:
        final = not data
        text = carry + decoder.decode(data, final=final)
        carry = ""
        if not final and text.endswith("\r"):
            # a "\r\n" may be split between two pieces: keep the "\r" until the next one is seen
            text, carry = text[:-1], "\r"
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        if text:
            yield text
        if final:
            return
        data = fileobj.read(piece_bytes)


def detect_encoding(sample: bytes) -> str:
    """The codec name to decode a file that begins with ``sample`` (see the module's docstring)."""
    encoding = bom_encoding(sample)
    if encoding is not None:
        return encoding
    try:
        # not final: the sample may end inside a character
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    if utf8 and b"\x00" not in sample:
        return "utf-8"  # NULs make it worth asking whether this is UTF-16 or UTF-32 without a mark
    encoding = _charset_normalizer_encoding(sample)
    if encoding is not None:
        return encoding
    if utf8:
        return "utf-8"
    raise ExtractionError("the file is not text in any encoding we know")


def bom_encoding(sample: bytes) -> str | None:
    """The codec that a byte-order mark at the start of ``sample`` names (and that drops it), if any."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    return None


def _charset_normalizer_encoding(sample: bytes) -> str | None:
    # A sample cut inside a multi-byte character fits no encoding: retry without its last bytes.
    for trim in range(4):
        trimmed = sample[: len(sample) - trim]
        if not trimmed:
            return None
        matches = charset_normalizer.from_bytes(trimmed)
        if not matches and not _CONTROL.search(trimmed):
            # no control bytes, so not binary: an accented text that its "mess" measure alone rejected
            matches = charset_normalizer.from_bytes(trimmed, threshold=LENIENT_CHAOS)
        best = matches.best()
        if best is None:
            continue
        for match in matches:
            as_good = match.coherence >= best.coherence and match.chaos <= best.chaos + WESTERN_CHAOS_MARGIN
            if as_good and WESTERN in match.could_be_from_charset:
                return WESTERN
        return str(best.encoding)
    return None
