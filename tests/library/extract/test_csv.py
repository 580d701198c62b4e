"""CSV: each row a paragraph of `header: value` pairs, the dialect sniffed, the text capped."""

from __future__ import annotations

import codecs
import io

import pytest

from library.extract import ExtractionError, Page, extract


def text_of(data: bytes, **kwargs: object) -> str:
    extracted = extract(io.BytesIO(data), filename="table.csv", **kwargs)  # type: ignore[arg-type]
    assert len(extracted.pages) == 1
    assert extracted.pages[0].number is None
    return extracted.pages[0].text


def test_every_row_carries_its_header():
    data = b"code,product,unit_price_gbp\nEM-200,Espresso machine,249.00\nGR-50,Grinder,129.50\n"

    assert text_of(data) == (
        "code: EM-200; product: Espresso machine; unit_price_gbp: 249.00\n\n"
        "code: GR-50; product: Grinder; unit_price_gbp: 129.50"
    )


@pytest.mark.parametrize(
    "data",
    [
        b"region;units\r\nNorth;41\r\nSouth;37\r\n",
        b"region\tunits\nNorth\t41\nSouth\t37\n",
        b"region|units\nNorth|41\nSouth|37\n",
        b"'region','units'\n'North','41'\n'South','37'\n",
    ],
    ids=["semicolons-crlf", "tabs", "pipes", "single-quotes"],
)
def test_the_dialect_is_sniffed(data: bytes):
    assert text_of(data) == "region: North; units: 41\n\nregion: South; units: 37"


def test_quoted_values_keep_their_commas_and_lose_their_line_breaks():
    data = b'name,notes\n"Smith, J.","line one\r\nline two"\n"Doe, A.","said ""hi"""\n'

    assert text_of(data) == 'name: Smith, J.; notes: line one line two\n\nname: Doe, A.; notes: said "hi"'


def test_a_single_column_is_read_as_plain_csv():
    assert text_of(b"city\nLeeds\nYork\n") == "city: Leeds\n\ncity: York"


def test_blank_and_missing_headers_are_numbered_and_empty_values_left_out():
    # given: a blank second header; a row longer than the header; an empty value; an empty row
    data = b"id,,note\n1,a,b,extra\n2,,c\n,,\n\n3\n"

    # when / then
    assert text_of(data) == ("id: 1; column 2: a; note: b; column 4: extra\n\nid: 2; note: c\n\nid: 3")


def test_a_byte_order_mark_does_not_end_up_in_the_first_header():
    data = codecs.BOM_UTF8 + "région,prix\nNord,12 €\n".encode()

    assert text_of(data) == "région: Nord; prix: 12 €"


def test_a_cp1252_csv_is_decoded():
    data = "produit;prix\nCafé crème;2,50 €\nThé « vert »;3,10 €\n".encode("cp1252")

    assert text_of(data) == "produit: Café crème; prix: 2,50 €\n\nproduit: Thé « vert »; prix: 3,10 €"


def test_a_utf16_csv_is_decoded():
    data = "name,city\nJürgen,Köln\n".encode("utf-16")

    assert text_of(data) == "name: Jürgen; city: Köln"


@pytest.mark.parametrize("data", [b"", b"\n\n", b"code,product\n", b"code,product\n,\n"])
def test_a_csv_without_data_rows_has_no_text(data: bytes):
    assert not extract(io.BytesIO(data), filename="empty.csv").has_text


def test_a_long_csv_is_cut_at_the_cap_between_whole_rows_then_mid_row():
    # given: 100,000 rows
    data = b"n,square\n" + b"".join(f"{n},{n * n}\n".encode() for n in range(100_000))

    # when
    text = text_of(data, max_chars=40)

    # then: "n: 0; square: 0" (15) + 2 + "n: 1; square: 1" (15) + 2 + 6 more
    assert text == "n: 0; square: 0\n\nn: 1; square: 1\n\nn: 2; "
    assert len(text) == 40


def test_rows_beyond_the_sniffing_sample_are_read_with_the_sniffed_dialect():
    # given: far more than the 64 KiB sample, semicolon-separated
    rows = [f"{n};item {n}" for n in range(10_000)]
    data = ("n;name\n" + "\n".join(rows) + "\n").encode()

    # when
    text = text_of(data)

    # then
    paragraphs = text.split("\n\n")
    assert len(paragraphs) == 10_000
    assert paragraphs[-1] == "n: 9999; name: item 9999"


def test_a_field_over_the_csv_modules_limit_is_an_error_with_the_line():
    data = b'a,b\n1,2\n3,"' + b"x" * 200_000 + b'"\n'

    with pytest.raises(ExtractionError) as raised:
        text_of(data)

    assert str(raised.value) == "the CSV could not be read: line 3: field larger than field limit (131072)"


def test_the_page_is_the_whole_table():
    extracted = extract(io.BytesIO(b"a\n1\n"), filename="x.CSV")

    assert extracted.pages == [Page(text="a: 1")]
