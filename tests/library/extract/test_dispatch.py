"""format_of and extract: which reader a file goes to, the text cap, and what the result says."""

from __future__ import annotations

import io
from typing import Any

import pytest

from library.extract import (
    SUPPORTED_EXTENSIONS,
    Extracted,
    ExtractionError,
    Page,
    TextBudget,
    UnsupportedFormat,
    extract,
    format_of,
)


def test_the_supported_extensions():
    assert SUPPORTED_EXTENSIONS == ("txt", "md", "csv", "html", "pdf", "docx")


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("notes.txt", "", "txt"),
        ("README.md", "", "md"),
        ("guide.markdown", "", "md"),
        ("prices.csv", "", "csv"),
        ("page.html", "", "html"),
        ("page.htm", "", "html"),
        ("letter.pdf", "", "pdf"),
        ("review.docx", "", "docx"),
        ("SHOUTING.PDF", "", "pdf"),
        ("Mixed.DocX", "", "docx"),
        ("reports/2026/q1.csv", "", "csv"),
        ("reports\\2026\\q1.csv", "", "csv"),
        ("archive.tar.md", "", "md"),
        # the extension decides when it is one we read, whatever the content type says
        ("page.html", "text/plain", "html"),
        ("letter.pdf", "application/octet-stream", "pdf"),
        # otherwise the content type does, parameters and case ignored
        ("notes", "text/plain; charset=utf-8", "txt"),
        ("export", "TEXT/CSV", "csv"),
        ("page.php", "text/html", "html"),
        ("index", "application/xhtml+xml", "html"),
        ("download", "application/pdf", "pdf"),
        ("readme", "text/markdown", "md"),
        ("blob", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
        # neither
        ("sheet.xlsx", "", None),
        ("old.doc", "application/msword", None),
        ("photo.jpg", "image/jpeg", None),
        ("Makefile", "", None),
        ("notes.", "", None),
        ("", "", None),
    ],
)
def test_format_of(filename: str, content_type: str, expected: str | None):
    assert format_of(filename, content_type) == expected


@pytest.mark.parametrize(
    ("filename", "content_type", "reason"),
    [
        ("sheet.XLSX", "", "the .xlsx format is not supported"),
        ("photo", "image/png; q=1", "the image/png format is not supported"),
        ("Makefile", "", "a file without an extension or a known content type is not supported"),
    ],
)
def test_an_unsupported_format_is_refused_with_the_reason(filename: str, content_type: str, reason: str):
    # given: a stream that must not be read at all
    stream = io.BytesIO(b"PK\x03\x04 whatever")

    # when
    with pytest.raises(UnsupportedFormat) as raised:
        extract(stream, filename=filename, content_type=content_type)

    # then: it is an extraction error too (the indexer's single except), and nothing was read
    assert isinstance(raised.value, ExtractionError)
    assert str(raised.value) == reason
    assert stream.tell() == 0


def test_the_content_type_chooses_the_reader_when_the_name_has_no_extension():
    extracted = extract(io.BytesIO(b"a,b\n1,2\n"), filename="export", content_type="text/csv")

    assert extracted.pages == [Page(text="a: 1; b: 2")]


def test_the_cap_comes_from_the_setting_by_default(settings: Any):
    # given
    settings.INFORMER_LIBRARY_MAX_TEXT_CHARS = 11

    # when
    extracted = extract(io.BytesIO(b"Hello there, world of text"), filename="a.txt")

    # then
    assert extracted.pages == [Page(text="Hello there")]


def test_the_setting_has_its_default():
    from django.conf import settings

    assert settings.INFORMER_LIBRARY_MAX_TEXT_CHARS == 5_000_000


def test_an_explicit_cap_wins_over_the_setting(settings: Any):
    settings.INFORMER_LIBRARY_MAX_TEXT_CHARS = 3

    extracted = extract(io.BytesIO(b"Hello there"), filename="a.txt", max_chars=8)

    assert extracted.pages[0].text == "Hello th"


def test_a_cap_of_zero_keeps_no_text():
    extracted = extract(io.BytesIO(b"Hello"), filename="a.md", max_chars=0)

    assert not extracted.has_text


def test_a_negative_cap_is_a_programming_error():
    with pytest.raises(ValueError, match="max_chars"):
        extract(io.BytesIO(b"Hello"), filename="a.txt", max_chars=-1)


@pytest.mark.parametrize(
    ("pages", "has_text"),
    [
        ([], False),
        ([Page(text="")], False),
        ([Page(text=" \n\t\n", number=1), Page(text="", number=2)], False),
        ([Page(text="", number=1), Page(text="x", number=2)], True),
    ],
)
def test_has_text(pages: list[Page], has_text: bool):
    assert Extracted(pages=pages).has_text is has_text


def test_the_budget_joins_paragraphs_by_blank_lines_and_counts_them():
    # given
    budget = TextBudget(14)

    # when: "one\n\ntwo\n\nthree" would be 15 characters
    text = budget.paragraphs(["  one ", "", "  ", "two", "three"])

    # then
    assert text == "one\n\ntwo\n\nthre"
    assert budget.exhausted


def test_the_budget_stops_consuming_paragraphs_once_spent():
    # given
    consumed = []

    def paragraphs():
        for number in range(1000):
            consumed.append(number)
            yield f"paragraph {number}"

    # when
    text = TextBudget(30).paragraphs(paragraphs())

    # then: "paragraph 0\n\nparagraph 1\n\npara"
    assert text == "paragraph 0\n\nparagraph 1\n\npara"
    assert len(consumed) == 3


def test_the_budget_adds_no_dangling_blank_line():
    # "one" + "\n\n" leaves no room for a character of the next paragraph
    assert TextBudget(5).paragraphs(["one", "two"]) == "one"


def test_the_budget_drops_nul_characters():
    assert TextBudget(100).paragraphs(["a\x00b"]) == "ab"
