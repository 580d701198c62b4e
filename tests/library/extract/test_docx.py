"""Word: paragraphs and tables in document order; a broken or foreign zip is an error with the reason."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import docx
import pytest

from library.extract import ExtractionError, Page, extract


def saved(document: Any) -> bytes:
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def text_of(data: bytes, **kwargs: Any) -> str:
    pages = extract(io.BytesIO(data), filename="review.docx", **kwargs).pages
    assert len(pages) == 1
    assert pages[0].number is None
    return pages[0].text


@pytest.fixture
def review() -> bytes:
    """A heading, a paragraph, a table, a paragraph after it, and empty paragraphs between."""
    document = docx.Document()
    document.add_heading("Supplier review", level=1)
    document.add_paragraph("How the suppliers delivered.")
    document.add_paragraph("")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows, [("Supplier", "Lots", "Late"), ("Roaster A", "12", "0"), ("Roaster B", "9", "1")], strict=True
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("Both roasters are kept on.")
    return saved(document)


def test_paragraphs_and_tables_come_in_document_order(review: bytes):
    assert text_of(review) == (
        "Supplier review\n\n"
        "How the suppliers delivered.\n\n"
        "Supplier | Lots | Late\n\n"
        "Roaster A | 12 | 0\n\n"
        "Roaster B | 9 | 1\n\n"
        "Both roasters are kept on."
    )


def test_a_merged_cell_counts_once_and_a_cells_paragraphs_join_into_its_row():
    # given: a header cell spanning both columns, a cell of two paragraphs, an empty row
    document = docx.Document()
    table = document.add_table(rows=3, cols=2)
    table.cell(0, 0).merge(table.cell(0, 1)).text = "Opening hours"
    table.cell(1, 0).text = "Monday"
    table.cell(1, 1).text = "08:00 - 18:00"
    table.cell(1, 1).add_paragraph("lunch closed")

    # when / then
    assert text_of(saved(document)) == "Opening hours\n\nMonday | 08:00 - 18:00 lunch closed"


def test_line_breaks_and_tabs_in_a_paragraph_are_kept():
    document = docx.Document()
    paragraph = document.add_paragraph("Northwind Coffee")
    paragraph.add_run().add_break()
    paragraph.add_run("1 High Street\tLeeds")

    assert text_of(saved(document)) == "Northwind Coffee\n1 High Street\tLeeds"


def test_headers_and_footers_are_left_out():
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "Confidential header"
    document.sections[0].footer.paragraphs[0].text = "Page footer"
    document.add_paragraph("Body text.")

    assert text_of(saved(document)) == "Body text."


def test_a_document_without_text_has_no_text():
    document = docx.Document()
    document.add_paragraph("")
    document.add_table(rows=2, cols=2)

    assert not extract(io.BytesIO(saved(document)), filename="blank.docx").has_text


@pytest.mark.parametrize("data", [b"", b"not a zip at all", b"%PDF-1.7\n"])
def test_a_file_that_is_no_zip_is_an_error(data: bytes):
    with pytest.raises(ExtractionError) as raised:
        text_of(data)

    assert str(raised.value) == "the file is not a readable Word document: File is not a zip file"


def test_a_document_cut_short_is_an_error(review: bytes):
    with pytest.raises(ExtractionError) as raised:
        text_of(review[: len(review) // 2])

    assert str(raised.value).startswith("the file is not a readable Word document: ")


def test_a_zip_without_a_word_document_in_it_is_an_error_with_the_reason():
    # given
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as target:
        target.writestr("notes.txt", "just a zip")

    # when
    with pytest.raises(ExtractionError) as raised:
        text_of(archive.getvalue())

    # then
    assert str(raised.value) == (
        "the Word document could not be read: There is no item named '[Content_Types].xml' in the archive"
    )


def test_a_damaged_document_part_is_an_error_with_the_reason(review: bytes):
    # given: the same package with its main part's XML broken
    source = zipfile.ZipFile(io.BytesIO(review))
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info, content[: len(content) // 2] if info.filename == "word/document.xml" else content)

    # when
    with pytest.raises(ExtractionError) as raised:
        text_of(broken.getvalue())

    # then: lxml's reason
    message = str(raised.value)
    assert message.startswith("the Word document could not be read: ")
    assert message.removeprefix("the Word document could not be read: ")


def test_a_document_that_would_inflate_too_far_is_refused(review: bytes, monkeypatch: pytest.MonkeyPatch):
    # given: a limit below what this small document inflates to
    from library.extract import docx as reader

    monkeypatch.setattr(reader, "MAX_INFLATED_BYTES", 16_384)

    # when
    with pytest.raises(ExtractionError) as raised:
        text_of(review)

    # then
    assert str(raised.value) == "the Word document unzips to more than 16,384 bytes"


def test_the_cap_cuts_the_text():
    document = docx.Document()
    for number in range(1000):
        document.add_paragraph(f"Paragraph {number}.")

    assert extract(io.BytesIO(saved(document)), filename="long.docx", max_chars=30).pages == [
        Page(text="Paragraph 0.\n\nParagraph 1.\n\nPa")
    ]
