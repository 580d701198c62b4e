"""Chunking: exact offsets, sizes by the counter, paragraphs and sentences kept, overlap, pages, speed."""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from library import chunking
from library.chunking import ChunkText, chunk_pages
from library.embedding import HashingEmbedder
from library.extract import Page

count_words = HashingEmbedder().token_counts


def texts(chunks: Sequence[ChunkText]) -> list[str]:
    return [chunk.text for chunk in chunks]


def assert_well_formed(pages: Sequence[Page], chunks: Sequence[ChunkText], counts, max_tokens: int, overlap: int):
    """The properties every chunking has, whatever the text (see the module's docstring)."""
    assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))
    by_page: dict[int, list[ChunkText]] = {index: [] for index in range(len(pages))}
    index, last_start = 0, -1
    for chunk in chunks:
        # chunks come page after page, each page's in order; each is its page's text exactly
        while index < len(pages) and (
            chunk.start <= last_start
            or chunk.page != pages[index].number
            or chunk.text != pages[index].text[chunk.start : chunk.end]
        ):
            index, last_start = index + 1, -1
        assert index < len(pages), f"chunk {chunk} is no page's text, or out of page order"
        by_page[index].append(chunk)
        last_start = chunk.start
        assert 0 <= chunk.start < chunk.end <= len(pages[index].text)
        assert chunk.text == chunk.text.strip()
    sizes = counts(texts(chunks))
    for chunk, size in zip(chunks, sizes, strict=True):
        assert size <= max_tokens or len(chunk.text) == 1, (chunk, size)
    for index, page in enumerate(pages):
        page_chunks = by_page[index]
        # in order, each ending further on than the one before, each overlapping the previous by at most
        # `overlap` tokens and never holding all of it
        for previous, following in itertools.pairwise(page_chunks):
            assert previous.start < following.start and previous.end < following.end
            if following.start < previous.end:
                assert counts([page.text[following.start : previous.end]])[0] <= overlap
        # every non-whitespace character of the page is in a chunk
        covered = bytearray(len(page.text))
        for chunk in page_chunks:
            covered[chunk.start : chunk.end] = b"\x01" * (chunk.end - chunk.start)
        missing = [at for at, character in enumerate(page.text) if not character.isspace() and not covered[at]]
        assert not missing, f"page {index}: characters at {missing[:5]} are in no chunk"


# Text made of what the chunker splits on: words, sentence stops, quotes, decimals, abbreviations, line
# breaks, blank lines, odd whitespace; and some of any unicode.
_tokens = st.sampled_from(
    ["alpha", "Beta", "gamma", "3.14", "e.g.", "Dr.", "U.S.", "x", "a.b.c.d.e.f", "«quoted»", "東京です。", "ß", "—"]
)
_separators = st.sampled_from([" ", " ", " ", ". ", "! ", "? ", '." ', ".) ", "\n", "\n\n", " \n \n", "\t", "\r\n\r\n"])
_text = st.one_of(
    st.lists(st.tuples(_tokens, _separators), max_size=80).map(lambda pairs: "".join(a + b for a, b in pairs)),
    st.text(max_size=300),
)
_pages = st.lists(st.builds(Page, _text, st.one_of(st.none(), st.integers(1, 500))), min_size=1, max_size=4)


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pages=_pages, max_tokens=st.integers(1, 40), overlap=st.integers(0, 45))
def test_any_text_is_chunked_exactly_within_size_in_order_and_wholly(pages, max_tokens, overlap):
    chunks = chunk_pages(pages, count_words, max_tokens=max_tokens, overlap_tokens=overlap)
    assert_well_formed(pages, chunks, count_words, max_tokens, overlap)


@given(text=st.text(alphabet=" \t\n\r\x0b\x0c\u00a0\u2028\u3000", max_size=50))
def test_whitespace_only_text_has_no_chunks(text):
    assert chunk_pages([Page(text), Page(text, 2)], count_words) == []


def test_no_pages_have_no_chunks():
    assert chunk_pages([], count_words) == []


def test_a_short_text_is_one_chunk_with_its_offsets():
    page = Page("\n\n  Hello there.  General Kenobi!\n\n", 3)

    chunks = chunk_pages([page], count_words)

    assert chunks == [ChunkText(0, "Hello there.  General Kenobi!", 3, 4, 33)]


def test_paragraphs_that_fit_are_kept_whole():
    # given three paragraphs of 6 words: two fit in 12, three do not
    paragraphs = [f"Paragraph {n} has exactly six words." for n in ("one", "two", "six")]
    page = Page("\n\n".join(paragraphs))

    # when
    chunks = chunk_pages([page], count_words, max_tokens=12, overlap_tokens=0)

    # then
    assert texts(chunks) == ["\n\n".join(paragraphs[:2]), paragraphs[2]]


def test_a_paragraph_that_fits_a_chunk_of_its_own_starts_one_rather_than_being_cut():
    # given 4 words, then a paragraph of 2 sentences of 4 words (8): both would fit 12, but not in what is left
    page = Page("One two three four.\n\nFive six seven eight. Nine ten eleven twelve.")

    # when
    chunks = chunk_pages([page], count_words, max_tokens=11, overlap_tokens=0)

    # then
    assert texts(chunks) == ["One two three four.", "Five six seven eight. Nine ten eleven twelve."]


def test_a_long_paragraph_is_packed_sentence_by_sentence():
    sentences = ["One two three.", "Four five six.", "Seven eight nine.", "Ten eleven twelve.", "Thirteen."]
    page = Page(" ".join(sentences))

    chunks = chunk_pages([page], count_words, max_tokens=6, overlap_tokens=0)

    assert texts(chunks) == [" ".join(sentences[0:2]), " ".join(sentences[2:4]), sentences[4]]


def test_the_next_chunk_begins_with_the_last_sentences_of_the_previous_up_to_the_overlap():
    sentences = ["Aa bb cc.", "Dd ee.", "Ff gg.", "Hh ii jj.", "Kk ll.", "Mm nn oo."]
    page = Page(" ".join(sentences))

    chunks = chunk_pages([page], count_words, max_tokens=10, overlap_tokens=5)

    # the 10-token first chunk ends with sentences of 2 and 3 words (5 ≤ 5): the second chunk begins with both
    assert texts(chunks) == [" ".join(sentences[0:4]), " ".join(sentences[2:6])]


def test_the_overlap_is_whole_sentences_only():
    page = Page("Aa bb cc dd. Ee ff gg hh. Ii jj kk ll.")

    chunks = chunk_pages([page], count_words, max_tokens=8, overlap_tokens=3)

    # the last sentence of the first chunk (4 words) is over 3: no overlap rather than half a sentence
    assert texts(chunks) == ["Aa bb cc dd. Ee ff gg hh.", "Ii jj kk ll."]


def test_the_overlap_leaves_room_for_the_next_sentence():
    page = Page("Aa bb. Cc dd ee ff gg hh.")

    chunks = chunk_pages([page], count_words, max_tokens=7, overlap_tokens=4)

    # "Aa bb." (2) + the 6-word sentence would be 8: it does not come along
    assert texts(chunks) == ["Aa bb.", "Cc dd ee ff gg hh."]


def test_a_large_overlap_does_not_repeat_whole_chunks():
    page = Page("Aa bb. Cc dd. Ee ff.")

    chunks = chunk_pages([page], count_words, max_tokens=2, overlap_tokens=10)

    assert texts(chunks) == ["Aa bb.", "Cc dd.", "Ee ff."]


def test_no_overlap_when_overlap_tokens_is_zero():
    page = Page("Aa. Bb. Cc. Dd.")

    chunks = chunk_pages([page], count_words, max_tokens=2, overlap_tokens=0)

    assert texts(chunks) == ["Aa. Bb.", "Cc. Dd."]


def test_the_overlap_may_reach_back_over_a_paragraph_break():
    page = Page("Aa bb cc dd. Ee ff.\n\nGg hh ii jj kk.")

    chunks = chunk_pages([page], count_words, max_tokens=8, overlap_tokens=2)

    assert texts(chunks) == ["Aa bb cc dd. Ee ff.", "Ee ff.\n\nGg hh ii jj kk."]


def test_a_sentence_over_the_size_is_cut_between_words_with_words_of_overlap():
    page = Page("one two three four five six seven eight nine ten.")

    chunks = chunk_pages([page], count_words, max_tokens=4, overlap_tokens=1)

    assert texts(chunks) == [
        "one two three four",
        "four five six seven",
        "seven eight nine ten.",
    ]


def test_a_sentence_over_the_size_is_cut_between_lines_first():
    # CSV rows as the extractor writes them: no full stops, a line each
    rows = [f"name: item {n}; price: {n} euros" for n in range(6)]
    page = Page("\n".join(rows))

    chunks = chunk_pages([page], count_words, max_tokens=12, overlap_tokens=0)

    assert texts(chunks) == ["\n".join(rows[0:2]), "\n".join(rows[2:4]), "\n".join(rows[4:6])]


def test_a_word_over_the_size_is_cut_hard():
    word = ".".join(["w"] * 25)  # one run of non-whitespace, 25 words to the hashing counter
    page = Page(f"Before. {word} after.")

    chunks = chunk_pages([page], count_words, max_tokens=10, overlap_tokens=0)

    assert_well_formed([page], chunks, count_words, 10, 0)
    assert len(chunks) >= 4
    assert texts(chunks)[0] == "Before."
    assert texts(chunks)[-1].endswith("after.")
    assert page.text[chunks[1].start : chunks[-1].end] == f"{word} after."
    assert all(following.start == previous.end for previous, following in itertools.pairwise(chunks[1:]))


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        ("Pi is 3.14 or so. Then more.", ["Pi is 3.14 or so.", "Then more."]),
        ("Use a tool, e.g. a hammer. Done.", ["Use a tool, e.g. a hammer.", "Done."]),
        ("See e.g. Paris. Then go.", ["See e.g. Paris.", "Then go."]),
        ("Dr. Smith met J. Doe in the U.S. Army. Fine.", ["Dr. Smith met J. Doe in the U.S. Army.", "Fine."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ('"Stop!" he said. Fine?! Yes.', ['"Stop!" he said.', "Fine?!", "Yes."]),
        ("Wait... What? (Really.) OK.", ["Wait...", "What?", "(Really.)", "OK."]),
        ("Visit example.com today. Now.", ["Visit example.com today.", "Now."]),
        ("東京です。大阪です。", ["東京です。", "大阪です。"]),
        ("No stop at the end", ["No stop at the end"]),
    ],
)
def test_sentences_end_at_stops_not_at_abbreviations_or_decimals(text, sentences):
    # given a counter that makes every piece one token, a size of one and no overlap: a chunk per sentence
    def one_each(batch: Sequence[str]) -> list[int]:
        return [1] * len(batch)

    # when
    chunks = chunk_pages([Page(text)], one_each, max_tokens=1, overlap_tokens=0)

    # then
    assert texts(chunks) == sentences


def test_chunks_never_cross_pages_and_ordinals_run_across_the_file():
    pages = [Page("One two. Three four.", 1), Page("   ", 2), Page("Five six.", 3), Page("Seven.", None)]

    chunks = chunk_pages(pages, count_words, max_tokens=50)

    assert chunks == [
        ChunkText(0, "One two. Three four.", 1, 0, 20),
        ChunkText(1, "Five six.", 3, 0, 9),
        ChunkText(2, "Seven.", None, 0, 6),
    ]


def test_each_piece_is_counted_once_in_batches(monkeypatch):
    # given a counter that records its calls, and more sentences than one batch takes
    monkeypatch.setattr(chunking, "COUNT_BATCH", 100)
    calls: list[list[str]] = []

    def counting(batch: Sequence[str]) -> list[int]:
        calls.append(list(batch))
        return count_words(batch)

    sentences = [f"Sentence number {n} is here." for n in range(250)]
    long_sentence = " ".join(f"w{n}" for n in range(30)) + "."
    page = Page(" ".join(sentences) + "\n\n" + long_sentence)

    # when
    chunks = chunk_pages([page], counting, max_tokens=20)

    # then the 251 sentences in 3 batches, then the long one's 30 words in one
    assert [len(batch) for batch in calls] == [100, 100, 51, 30]
    counted = [text for batch in calls for text in batch]
    assert counted == [*sentences, long_sentence, *long_sentence.split()]
    assert_well_formed([page], chunks, count_words, 20, 32)


def test_a_counter_that_loses_counts_is_an_error():
    with pytest.raises(ValueError, match="1 counts for 2 texts"):
        chunk_pages([Page("One. Two.")], lambda batch: [1], max_tokens=1)


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (-1, 0), (10, -1)])
def test_sizes_out_of_range_are_errors(max_tokens, overlap):
    with pytest.raises(ValueError, match=r"max_tokens|overlap_tokens"):
        chunk_pages([Page("Text.")], count_words, max_tokens=max_tokens, overlap_tokens=overlap)


def _megabyte_of_prose(seed: int = 7) -> str:
    vocabulary = (
        *("the", "of", "and", "to", "in", "is", "was", "for", "on", "are", "with", "as"),
        *("his", "they", "at", "be", "this", "from", "have", "or", "by", "one", "had"),
    )
    generator = random.Random(seed)
    paragraphs, size = [], 0
    while size < 1_000_000:
        sentences = []
        for _ in range(generator.randint(1, 8)):
            words = [generator.choice(vocabulary) for _ in range(generator.randint(4, 30))]
            sentences.append(" ".join(words).capitalize() + generator.choice(".?!"))
        paragraphs.append(" ".join(sentences))
        size += len(paragraphs[-1]) + 2
    return "\n\n".join(paragraphs)[:1_000_000]


def test_a_megabyte_is_chunked_in_well_under_a_second():
    # (CPU time: other processes' load on the machine is not this code's cost)
    text = _megabyte_of_prose()
    started = time.process_time()

    chunks = chunk_pages([Page(text)], count_words)

    elapsed = time.process_time() - started
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert len(chunks) > 1000
    assert max(count_words(texts(chunks))) <= 200


def test_a_megabyte_without_any_punctuation_is_chunked_in_under_a_second():
    text = _megabyte_of_prose().replace("\n\n", " ").translate(str.maketrans("", "", ".?!"))
    started = time.process_time()

    chunks = chunk_pages([Page(text)], count_words)

    elapsed = time.process_time() - started
    assert elapsed < 1.5, f"{elapsed:.2f} s"  # a piece per word: slower than prose, still well bounded
    assert max(count_words(texts(chunks))) <= 200


@pytest.mark.parametrize(
    "text",
    [
        "." * 30_000,  # a stop not followed by whitespace, tried from each of its dots, was quadratic (5 s)
        "!?" * 100_000,
        ".)" * 100_000,
        "x" + " " * 200_000 + "\n\n" + "y",
        "a\n" * 100_000,  # one paragraph, one sentence, 100,000 lines
        "\n\n".join(["word"] * 50_000),
        "w." * 100_000,
    ],
    ids=["dots", "stops", "closers", "spaces", "lines", "paragraphs", "initials"],
)
def test_degenerate_text_is_chunked_in_linear_time(text):
    started = time.process_time()

    chunks = chunk_pages([Page(text)], count_words)

    elapsed = time.process_time() - started
    assert elapsed < 1.0, f"{elapsed:.2f} s"
    assert_well_formed([Page(text)], chunks, count_words, 200, 32)


# The real tokenizer: wordpieces, not words.


_MIXED = (
    "Quantum entanglement, e.g. between photons, is a correlation of 3.14159 radians or so. "
    "Photosynthesis converts light into chemical energy! Isn't that remarkable? "
    * 12
    + "\n\nname: Ångström; value: 1.0e-10 m\nname: naïve café; value: ☕\n" * 20
    + "\n\n"
    + "antidisestablishmentarianism-" * 120
    + "\n\n"
    + "基于深度学习的自然语言处理。" * 30
)


@pytest.mark.parametrize(("max_tokens", "overlap"), [(200, 32), (50, 10), (7, 3)])
def test_every_chunk_is_within_size_by_the_real_tokenizer(minilm, max_tokens, overlap):
    pages = [Page(_MIXED, 1), Page(_MIXED[::-1], 2)]

    chunks = chunk_pages(pages, minilm.token_counts, max_tokens=max_tokens, overlap_tokens=overlap)

    assert_well_formed(pages, chunks, minilm.token_counts, max_tokens, overlap)
    assert {chunk.page for chunk in chunks} == {1, 2}


def test_the_real_tokenizer_counts_a_chunk_as_the_sum_of_its_sentences(minilm):
    # whitespace separates the pieces, and the tokenizer splits on whitespace first
    sentences = [
        "The cat sat on the mat.",
        "Unbelievably, it stayed there all afternoon!",
        "Was it comfortable?",
        "Nobody knows.",
    ]
    page = Page("  ".join(sentences))

    chunks = chunk_pages([page], minilm.token_counts, max_tokens=200)

    assert texts(chunks) == [page.text]
    assert minilm.token_counts([page.text]) == [sum(minilm.token_counts(sentences))]


def test_the_real_tokenizer_sizes_chunks_in_wordpieces_not_words(minilm):
    # "antidisestablishmentarianism" is one word but several wordpieces
    word_pieces = minilm.token_counts(["antidisestablishmentarianism"])[0]
    assert word_pieces > 1
    page = Page(" ".join(["antidisestablishmentarianism"] * 20))

    chunks = chunk_pages([page], minilm.token_counts, max_tokens=4 * word_pieces, overlap_tokens=0)

    assert [count_words([chunk.text])[0] for chunk in chunks] == [4] * 5
