"""Plain text and Markdown: encodings detected, byte-order marks honoured, read in pieces up to the cap."""

from __future__ import annotations

import codecs
import io

import pytest

from library.extract import ExtractionError, Page, extract
from library.extract.text import PIECE_BYTES, SAMPLE_BYTES, decoded_pieces, detect_encoding

FRENCH = "Café “Le Progrès” \u2013 déjà vu, naïve façade, 12,50 € à payer.\nÀ bientôt, François.\n"
GERMAN = "Grüße aus Köln: die Straße, das Öl, der Bär.\n"
CZECH = "Příliš žluťoučký kůň úpěl ďábelské ódy.\n"


def text_of(data: bytes, filename: str = "notes.txt", **kwargs: object) -> str:
    extracted = extract(io.BytesIO(data), filename=filename, **kwargs)  # type: ignore[arg-type]
    assert len(extracted.pages) == 1
    assert extracted.pages[0].number is None
    return extracted.pages[0].text


def test_utf8_text_comes_out_as_written():
    assert text_of("Hello, wörld\n\nSecond paragraph.\n".encode()) == "Hello, wörld\n\nSecond paragraph.\n"


def test_markdown_is_kept_as_written():
    markdown = "# Returns\n\nWithin **30 days**.\n\n- unused\n- boxed\n"

    assert text_of(markdown.encode(), "policy.md") == markdown


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + FRENCH.encode(), FRENCH),
        (FRENCH.encode("utf-16"), FRENCH),  # with its byte-order mark, in the machine's order
        (codecs.BOM_UTF16_LE + FRENCH.encode("utf-16-le"), FRENCH),
        (codecs.BOM_UTF16_BE + FRENCH.encode("utf-16-be"), FRENCH),
        (codecs.BOM_UTF32_LE + GERMAN.encode("utf-32-le"), GERMAN),
        (codecs.BOM_UTF32_BE + GERMAN.encode("utf-32-be"), GERMAN),
    ],
    ids=["utf-8-bom", "utf-16", "utf-16-le-bom", "utf-16-be-bom", "utf-32-le-bom", "utf-32-be-bom"],
)
def test_a_byte_order_mark_decides_the_encoding_and_is_dropped(data: bytes, expected: str):
    assert text_of(data) == expected


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_recognised(encoding: str):
    text = GERMAN * 20

    assert text_of(text.encode(encoding)) == text


def test_cp1252_text_comes_out_right():
    # curly quotes, the dash and the euro sign exist only in cp1252, not in Latin-1
    assert text_of(FRENCH.encode("cp1252")) == FRENCH


def test_latin1_text_comes_out_right():
    assert text_of(GERMAN.encode("latin-1")) == GERMAN


def test_a_short_latin1_word_comes_out_right():
    assert text_of("Grüße\n".encode("latin-1")) == "Grüße\n"


def test_cp1250_text_is_not_taken_for_cp1252():
    # the preference for cp1252 applies only where it fits as well as the detector's choice
    assert text_of((CZECH * 3).encode("cp1250")) == CZECH * 3


def test_a_cp1252_file_longer_than_the_sample_is_decoded_throughout():
    # given: the accents only in the sample at the start; more of them far beyond it
    text = FRENCH * 10 + "plain ascii line\n" * (2 * SAMPLE_BYTES // 17) + FRENCH

    # when / then
    assert text_of(text.encode("cp1252")) == text


def test_line_ends_become_newlines_and_nul_characters_go():
    assert text_of(b"one\r\ntwo\rthree\n\x00four\r\n") == "one\ntwo\nthree\nfour\n"


def test_pieces_join_up_across_split_characters_and_line_ends():
    # given: multi-byte characters and "\r\n" pairs falling across many piece boundaries
    text = "Grüße \u2013 “ok” 日本\r\n" * 500
    data = text.encode()

    # when
    pieces = list(decoded_pieces(io.BytesIO(data), piece_bytes=7))

    # then
    assert "".join(pieces) == text.replace("\r\n", "\n")


def test_a_file_that_is_no_text_is_an_error():
    with pytest.raises(ExtractionError) as raised:
        text_of(bytes(range(256)) * 64)

    assert str(raised.value) == "the file is not text in any encoding we know"


@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t\n"])
def test_an_empty_file_has_no_text(data: bytes):
    extracted = extract(io.BytesIO(data), filename="empty.txt")

    assert len(extracted.pages) == 1
    assert not extracted.has_text


class CountingReader(io.BytesIO):
    """A file that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def test_the_cap_cuts_the_text_and_stops_reading():
    # given: 20 MB of text
    stream = CountingReader(b"0123456789\n" * 2_000_000)

    # when
    extracted = extract(stream, filename="big.txt", max_chars=1_000)

    # then: exactly the cap, and no more read than the sample and one piece
    assert extracted.pages == [Page(text=("0123456789\n" * 91)[:1_000])]
    assert stream.bytes_read <= SAMPLE_BYTES + PIECE_BYTES


@pytest.mark.parametrize(
    ("sample", "encoding"),
    [
        (b"plain ascii", "utf-8"),
        ("naïve".encode(), "utf-8"),
        (codecs.BOM_UTF8 + b"x", "utf-8-sig"),
        (codecs.BOM_UTF16_LE + "x".encode("utf-16-le"), "utf-16"),
        (codecs.BOM_UTF32_LE + "x".encode("utf-32-le"), "utf-32"),
        # a sample cut inside a UTF-8 character is still UTF-8
        ("déjà".encode()[:-1], "utf-8"),
    ],
)
def test_detect_encoding(sample: bytes, encoding: str):
    assert detect_encoding(sample) == encoding


def test_a_sample_cut_inside_a_multibyte_character_is_still_recognised():
    # given: Shift JIS cut after the first byte of a character (charset-normalizer alone finds nothing)
    data = ("日本語のテキストです。これはテストの文章になります。" * 3000).encode("shift_jis")
    sample = data[: SAMPLE_BYTES + 1]

    # when / then
    assert codecs.lookup(detect_encoding(sample)).name in ("cp932", "shift_jis")


def test_a_long_cp1250_text_that_looks_messy_is_still_decoded():
    # charset-normalizer's default threshold rejects this (too many accents in a row); there are no
    # control bytes, so it is asked again, leniently
    text = "Zażółć gęślą jaźń. Łódź, Kraków i Gdańsk są piękne.\n" * 5

    assert text_of(text.encode("cp1250")) == text
