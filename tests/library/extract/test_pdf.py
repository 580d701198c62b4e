"""PDF: a page of text per page, numbered from 1; encrypted and broken files are errors with a reason."""

from __future__ import annotations

import base64
import io
from typing import Any

import pypdf
import pytest

from library.demo import refusing_fetcher
from library.extract import ExtractionError, Page, extract

TWO_PAGES = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>body { font-family: sans-serif; font-size: 11pt; }</style></head>
<body>
<h1>Product guide</h1>
<p>Pair the espresso machine with the grinder.</p>
<div style="page-break-before: always"></div>
<h2>Looking after your machines</h2>
<p>Descale the kettle every two months.</p>
</body></html>"""


def render(html: str, *, fetch: bool = False) -> bytes:
    """``html`` as a PDF by WeasyPrint, fetching nothing (``fetch``: only what the page itself inlines)."""
    import weasyprint  # type: ignore[import-untyped]

    fetcher = None if fetch else refusing_fetcher()
    return bytes(weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf())


def pages_of(data: bytes, **kwargs: Any) -> list[Page]:
    return extract(io.BytesIO(data), filename="document.pdf", **kwargs).pages


@pytest.fixture(scope="module")
def two_pages() -> bytes:
    return render(TWO_PAGES)


def encrypted(data: bytes, *, user_password: str, owner_password: str = "owner-secret") -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-256")
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def test_one_page_of_text_per_page_numbered_from_one(two_pages: bytes):
    # when
    pages = pages_of(two_pages)

    # then
    assert [page.number for page in pages] == [1, 2]
    assert pages[0].text == "Product guide\nPair the espresso machine with the grinder."
    assert pages[1].text == "Looking after your machines\nDescale the kettle every two months."


def test_a_file_object_that_cannot_seek_is_read_too(two_pages: bytes):
    # given: a stream without seek, as a download might be
    class Forward(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.source = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: Any) -> int:
            chunk = self.source.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    # when
    pages = extract(Forward(two_pages), filename="document.pdf").pages  # type: ignore[arg-type]

    # then
    assert [page.number for page in pages] == [1, 2]
    assert "Descale the kettle" in pages[1].text


def test_a_blank_page_has_no_text_and_keeps_the_numbers_after_it(two_pages: bytes):
    # given: a blank page inserted before the two pages of text
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.append(pypdf.PdfReader(io.BytesIO(two_pages)))
    output = io.BytesIO()
    writer.write(output)

    # when
    pages = pages_of(output.getvalue())

    # then
    assert [(page.number, bool(page.text.strip())) for page in pages] == [(1, False), (2, True), (3, True)]
    assert "Looking after your machines" in pages[2].text


def test_a_pdf_of_only_an_image_has_no_text():
    # given: a page with an image (a scan, say) and a drawn box, but no text at all
    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(image, format="PNG")
    source = "data:image/png;base64," + base64.b64encode(image.getvalue()).decode()
    html = f'<body><img src="{source}" style="width: 8cm"><div style="height: 2cm; background: #ccc"></div></body>'
    data = render(html, fetch=True)
    assert b"/Image" in data  # the image really is in the PDF

    # when
    extracted = extract(io.BytesIO(data), filename="scan.pdf")

    # then
    assert [page.number for page in extracted.pages] == [1]
    assert not extracted.has_text


def test_an_encrypted_pdf_is_an_error(two_pages: bytes):
    with pytest.raises(ExtractionError) as raised:
        pages_of(encrypted(two_pages, user_password="open-sesame"))

    assert str(raised.value) == "the PDF is encrypted"


def test_an_encrypted_pdf_that_opens_with_the_empty_password_is_read(two_pages: bytes):
    # given: a PDF that only its owner may change, anybody may open
    data = encrypted(two_pages, user_password="")
    assert pypdf.PdfReader(io.BytesIO(data)).is_encrypted

    # when
    pages = pages_of(data)

    # then
    assert [page.number for page in pages] == [1, 2]
    assert pages[0].text == "Product guide\nPair the espresso machine with the grinder."


@pytest.mark.parametrize("data", [b"", b"PK\x03\x04 this is a zip", b"plain text\n" * 200])
def test_a_file_that_is_no_pdf_is_an_error(data: bytes):
    with pytest.raises(ExtractionError) as raised:
        pages_of(data)

    assert str(raised.value) == "the file is not a PDF"


def test_a_pdf_with_nothing_after_its_header_is_an_error_with_the_reason():
    with pytest.raises(ExtractionError) as raised:
        pages_of(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")

    message = str(raised.value)
    assert message.startswith("the PDF could not be read: ")
    assert message.removeprefix("the PDF could not be read: ")  # pypdf's reason follows


def test_a_pdf_cut_short_is_an_error_with_the_reason(two_pages: bytes):
    with pytest.raises(ExtractionError) as raised:
        pages_of(two_pages[: len(two_pages) // 3])

    message = str(raised.value)
    assert message.startswith(("the PDF could not be read: ", "page 1 of the PDF could not be read: "))
    assert message.split(": ", 1)[1]  # pypdf's reason follows


def test_the_cap_cuts_the_text_and_drops_the_pages_after_it(two_pages: bytes):
    # when: room for the first page and the start of the second
    first = "Product guide\nPair the espresso machine with the grinder."
    pages = pages_of(two_pages, max_chars=len(first) + 7)

    # then
    assert pages == [Page(text=first, number=1), Page(text="Looking", number=2)]

    # when: room for part of the first page only
    pages = pages_of(two_pages, max_chars=13)

    # then: the second page is not even listed
    assert pages == [Page(text="Product guide", number=1)]
