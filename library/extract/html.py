"""HTML: the text a browser would show, as one page, parsed by Beautiful Soup with lxml.

Left out: ``head`` (its ``title`` included), ``script``, ``style``, ``template``, ``noscript``, embedded
content whose inside is not shown as text (``svg``, ``canvas``, ``iframe``, ``object``, ``video``, ``audio``),
comments, and elements hidden by the ``hidden`` attribute or an inline ``display: none`` or
``visibility: hidden``. Block elements (``p``, ``div``, headings, list items, table rows…) end a paragraph;
``br`` ends a line. White space inside a paragraph collapses to single spaces, except inside ``pre``,
which is kept as written. A table row is one paragraph with its cells joined by `` | `` (blocks inside a
cell then only separate words, so that the row stays together).

The encoding: a byte-order mark; else the document's own ``<meta charset>`` (a Latin-1 or ASCII label read
as windows-1252, as browsers do); else the guess a text file gets (``library.extract.text``). The whole
document is parsed (HTML cannot be read in pieces), but the tree is walked only until the budget is spent.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import IO

from bs4 import BeautifulSoup
from bs4.dammit import EncodingDetector
from bs4.element import CData, NavigableString, Tag

from library.extract import Page, TextBudget
from library.extract.text import SAMPLE_BYTES, bom_encoding, detect_encoding

SKIPPED = frozenset(
    {
        "head",
        "title",
        "script",
        "style",
        "template",
        "noscript",
        "svg",
        "math",
        "canvas",
        "iframe",
        "object",
        "embed",
        "video",
        "audio",
        "map",
        "meta",
        "link",
        "base",
    }
)
BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "caption",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "frameset",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "legend",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "tfoot",
        "thead",
        "tr",
        "ul",
    }
)
CELLS = frozenset({"td", "th"})
_HIDDEN_STYLE = re.compile(r"(?:^|;)\s*(?:display\s*:\s*none|visibility\s*:\s*hidden)\b", re.IGNORECASE)
_SPACE = re.compile(r"[ \t\n\r\f\v\u00a0\u200b]+")
# Stand-in for a line break (br) until the paragraph is finished; a private-use character, dropped from text.
_LINE = "\ue000"


def read(fileobj: IO[bytes], *, file_format: str, budget: TextBudget) -> list[Page]:
    """The visible text as one page, up to the budget."""
    data = fileobj.read()
    soup = BeautifulSoup(data, "lxml", from_encoding=_encoding(data[:SAMPLE_BYTES]))
    return [Page(text=budget.paragraphs(_paragraphs(soup)))]


def _encoding(sample: bytes) -> str | None:
    """The encoding to read the document in; None when a byte-order mark says (Beautiful Soup honours it)."""
    if not sample or bom_encoding(sample) is not None:
        return None
    declared = EncodingDetector.find_declared_encoding(sample, is_html=True)
    if declared:
        try:
            name = codecs.lookup(declared).name
        except LookupError:
            name = ""  # an encoding nobody knows: guess as if none were declared
        if name:
            # as browsers do (WHATWG Encoding): Latin-1 and ASCII labels mean windows-1252, and a UTF-16
            # label on a page without a byte-order mark (so one that is not UTF-16) means UTF-8
            if name in ("iso8859-1", "ascii"):
                return "cp1252"
            return "utf-8" if name.startswith("utf-16") else name
    return detect_encoding(sample)


class _Paragraphs:
    """Text gathered into paragraphs as the tree is walked."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.preformatted = False
        self.done: list[str] = []

    def add(self, text: str, *, preformatted: bool) -> None:
        text = text.replace(_LINE, "")
        if preformatted:
            self.preformatted = True
            self.parts.append(text.replace("\n", _LINE))
        else:
            self.parts.append(_SPACE.sub(" ", text))

    def line_break(self) -> None:
        self.parts.append(_LINE)

    def end(self) -> None:
        text = "".join(self.parts)
        self.parts = []
        if self.preformatted:
            lines = [line.rstrip() for line in text.split(_LINE)]
        else:
            lines = [" ".join(line.split()) for line in text.split(_LINE)]
        self.preformatted = False
        paragraph = "\n".join(lines).strip("\n")
        # two line breaks in a row (br br) end a paragraph too, as they look like one
        self.done.extend(part.strip("\n") for part in re.split(r"\n\s*\n", paragraph) if part.strip())


def _hidden(tag: Tag) -> bool:
    if tag.has_attr("hidden"):
        return True
    style = tag.get("style")
    return isinstance(style, str) and _HIDDEN_STYLE.search(style) is not None


def _paragraphs(soup: BeautifulSoup) -> Iterator[str]:
    """Yield the document's paragraphs in order, walking the tree without recursion (documents nest deep)."""
    writer = _Paragraphs()
    preformatted = 0
    cells: list[int] = []  # per open table row, how many cells it has had so far
    in_cell = 0
    stack: list[tuple[object, bool]] = [(soup, False)]
    while stack:
        node, closing = stack.pop()
        if isinstance(node, NavigableString):
            # NavigableString subclasses are comments, doctypes, processing instructions, script text…
            if type(node) is NavigableString or type(node) is CData:
                writer.add(str(node), preformatted=preformatted > 0)
            continue
        if not isinstance(node, Tag):
            continue
        name = (node.name or "").lower()
        if closing:
            if name == "pre":
                preformatted -= 1
            if name in CELLS:
                in_cell -= 1
            if name == "tr" and cells:
                cells.pop()
            if name in BLOCKS and (not in_cell or name == "tr"):
                writer.end()
                yield from writer.done
                writer.done = []
            continue
        if node is not soup and (name in SKIPPED or _hidden(node)):
            continue
        if name == "br":
            writer.line_break()
            continue
        if name in BLOCKS:
            if in_cell and name != "tr":
                writer.add(" ", preformatted=False)
            else:
                writer.end()
                yield from writer.done
                writer.done = []
        if name == "pre":
            preformatted += 1
        if name == "tr":
            cells.append(0)
        if name in CELLS:
            if cells:
                if cells[-1]:
                    writer.add(" | ", preformatted=False)
                cells[-1] += 1
            in_cell += 1
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node.contents))
    writer.end()
    yield from writer.done
