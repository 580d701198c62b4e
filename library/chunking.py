"""Chunking: a file's pages cut into passages of at most ``max_tokens`` of the embedder's tokens (§9).

Text is split from the largest unit down, and a smaller unit is used only where a larger one is too long:

1. **paragraphs**: runs of text separated by a blank line (a line holding only whitespace);
2. **sentences**: a sentence ends after ``.``, ``!``, ``?`` or ``…`` (or their CJK full-width forms) and any
   closing quotes or brackets, before whitespace. No break when the next word starts with a lower-case
   letter ("e.g. the", "etc. and", "Stop!" he said), after a dotted abbreviation ("e.g.", "U.S."), an
   initial ("J. Smith") or a title ("Dr.", "Mr.", "Fig.", "vs."). A decimal ("3.14") has no whitespace
   after its dot, so it never breaks;
3. **lines**, for a sentence longer than ``max_tokens`` (CSV rows, lists, text without punctuation);
4. **words** (runs of non-whitespace), for a line still too long;
5. a **hard cut** of a word into pieces of equal length, for a word still too long (a base64 blob). A
   single character over ``max_tokens`` is left whole: nothing smaller exists.

Packing is greedy, page by page: a paragraph that fits in the chunk being filled joins it; one that does not
fit there but fits in a chunk of its own starts a new chunk, so it is not cut in two; only a paragraph longer
than ``max_tokens`` is spread over chunks, sentence by sentence. Each new chunk of a page begins with the last
whole sentences of the previous chunk (or its last words, where that chunk ended inside an overlong
sentence) totalling at most ``overlap_tokens`` and leaving room for what follows, never all of the previous
chunk, so every chunk ends further on than the one before. There is no overlap across pages.

A chunk's text is ``page.text[start:end]`` exactly: it starts and ends on non-whitespace and keeps the
whitespace inside it (a paragraph break included). A chunk's size is the sum of its pieces' counts, and each
piece is counted once, in batches (``token_counts`` takes a list): pieces are separated by whitespace, and
both embedders' tokenizers split on whitespace first, so the sum is the chunk's own count. Only the hard-cut
pieces of a word join without whitespace, and their counts need not add up ("unbelievable" is one
wordpiece, "unbel" and "ievable" several): no two of them are ever put in one chunk, so every count stays
exact.

Cost, measured once on a busy 2-core machine with 1 MB of English prose in one page (about 10,000 sentences,
1,800 chunks): splitting and packing with the hashing counter 0.12 s (0.4 s for a megabyte without any
punctuation or line break, which is cut word by word); with the all-MiniLM-L6-v2 tokenizer 0.37 s, 0.29 s of
it counting, against more than 100 s to embed those 1,800 chunks: counting is well under 1 % of indexing.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import accumulate

from library.extract import Page

#: Texts per ``token_counts`` call: large enough for the tokenizer's batch to pay off, small enough to bound
#: the memory its encodings hold.
COUNT_BATCH = 4096

# A paragraph: non-whitespace runs joined by whitespace holding at most one line break. The first
# [^\S\n]* takes all the spaces, so a failure at a blank line backtracks over them once, not quadratically.
_PARAGRAPH = re.compile(r"\S+(?:[^\S\n]*(?:\n[^\S\n]*)?\S+)*")
_CLOSERS = "\"'\u201d\u2019\u00bb)]}\u300d\u300f"
_CLOSER = f"[{re.escape(_CLOSERS)}]"
# A sentence's end: its stop (terminators and closers) and the whitespace after it. Western stops need
# whitespace after them (so "3.14" and "example.com" hold); CJK ones do not. A stop is matched from the start
# of its run only and possessively, so a long run of dots not followed by whitespace fails in one pass
# (backtracking into it from every position was quadratic: 20,000 dots took seconds).
_SENTENCE_END = re.compile(
    rf"(?P<stop>(?<![.!?\u2026])[.!?\u2026]++{_CLOSER}*+(?=\s)|[\u3002\uff01\uff1f]+{_CLOSER}*)\s*"
)
_LINE = re.compile(r"[^\n]+")
_WHITESPACE = re.compile(r"(\s+)")  # kept by split: the words are every other item
# "e.g", "i.e", "U.S", "a.m", "J": a single letter, or letters joined by dots, before a final dot.
_DOTTED = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")
#: Words that, followed by a dot, seldom end a sentence (compared lower-cased).
_TITLES = frozenset(
    (
        *("mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "fig", "figs", "vol", "pp", "cf"),
        *("approx", "dept", "capt", "lt", "col", "sgt", "gen", "gov", "rev", "hon", "eq", "eqs"),
    )
)
_OPENERS = "\"'([{\u201c\u2018\u00ab"


@dataclass(frozen=True)
class ChunkText:
    """One chunk of a file: ``text == page.text[start:end]`` of the page it is on."""

    ordinal: int  # from 0 across the whole file
    text: str
    page: int | None
    start: int
    end: int


#: A piece of text: (page index, paragraph number across the file, start, end, tokens, glued), glued when it
#: is a hard cut of a word that continues the piece before it without whitespace between. A plain tuple, as
#: there may be a piece per word of a megabyte of text.
_Piece = tuple[int, int, int, int, int, bool]


def chunk_pages(
    pages: Sequence[Page],
    token_counts: Callable[[Sequence[str]], list[int]],
    *,
    max_tokens: int = 200,
    overlap_tokens: int = 32,
) -> list[ChunkText]:
    """The chunks of ``pages``, in order, each of at most ``max_tokens`` by ``token_counts`` (see the module)."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be at least 1.")
    if overlap_tokens < 0:
        raise ValueError("overlap_tokens must not be negative.")
    texts = [page.text for page in pages]
    spans = list(_sentences(texts))
    counts = _counted(token_counts, [texts[index][start:end] for index, _, start, end in spans])
    pieces = [(*span, tokens, False) for span, tokens in zip(spans, counts, strict=True)]
    pieces = _refined(pieces, texts, token_counts, max_tokens)
    chunks: list[ChunkText] = []
    for first, last in _packed(pieces, max_tokens, overlap_tokens):
        index, start, end = pieces[first][0], pieces[first][2], pieces[last - 1][3]
        chunks.append(ChunkText(len(chunks), texts[index][start:end], pages[index].number, start, end))
    return chunks


def _sentences(texts: Sequence[str]) -> Iterator[tuple[int, int, int, int]]:
    """(page index, paragraph number across the file, start, end) of every sentence, in order."""
    paragraph = 0
    for index, text in enumerate(texts):
        for match in _PARAGRAPH.finditer(text):
            for start, end in _sentence_spans(text, match.start(), match.end()):
                yield index, paragraph, start, end
            paragraph += 1


def _sentence_spans(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    """The sentences of the paragraph ``text[start:end]`` (which starts and ends on non-whitespace)."""
    begin = start
    for match in _SENTENCE_END.finditer(text, start, end):
        after = match.end()
        if after >= end:
            break
        if text[after].islower() or _abbreviation(text, begin, match.start(), match.group("stop")):
            continue
        yield begin, match.end("stop")
        begin = after
    yield begin, end


def _abbreviation(text: str, begin: int, stop: int, terminators: str) -> bool:
    """Whether a single dot at ``stop`` more likely ends an abbreviation than a sentence."""
    if terminators.rstrip(_CLOSERS) != "." or stop == begin:
        return False
    words = text[max(begin, stop - 24) : stop].split()
    if not words or text[stop - 1].isspace():
        return False
    word = words[-1].lstrip(_OPENERS)
    return bool(_DOTTED.fullmatch(word)) or word.lower() in _TITLES


def _counted(token_counts: Callable[[Sequence[str]], list[int]], texts: list[str]) -> list[int]:
    """``token_counts`` of ``texts``, called in batches of ``COUNT_BATCH``."""
    counts: list[int] = []
    for offset in range(0, len(texts), COUNT_BATCH):
        batch = texts[offset : offset + COUNT_BATCH]
        batch_counts = list(token_counts(batch))
        if len(batch_counts) != len(batch):
            raise ValueError(f"token_counts returned {len(batch_counts)} counts for {len(batch)} texts.")
        counts.extend(batch_counts)
    return counts


def _refined(
    pieces: list[_Piece], texts: Sequence[str], token_counts: Callable[[Sequence[str]], list[int]], max_tokens: int
) -> list[_Piece]:
    """``pieces`` with each one over ``max_tokens`` replaced by its lines, then words, then hard cuts."""
    over = any(piece[4] > max_tokens for piece in pieces)
    for parts_of in (_line_spans, _word_spans):
        if not over:
            return pieces
        pieces, over = _split(pieces, texts, token_counts, max_tokens, parts_of, glued=False)
    cuts = partial(_hard_cuts, max_tokens=max_tokens)
    while over:
        pieces, over = _split(pieces, texts, token_counts, max_tokens, cuts, glued=True)
    return pieces


#: How a piece is split: (its page's text, start, end, tokens) -> the parts' spans and texts.
_Splitter = Callable[[str, int, int, int], tuple[list[tuple[int, int]], list[str]]]


def _split(
    pieces: list[_Piece],
    texts: Sequence[str],
    token_counts: Callable[[Sequence[str]], list[int]],
    max_tokens: int,
    parts_of: _Splitter,
    *,
    glued: bool,
) -> tuple[list[_Piece], bool]:
    """``pieces`` with each one over ``max_tokens`` replaced by ``parts_of`` it, the new parts counted at once;
    and whether a part is still over ``max_tokens`` (and more than a character).

    ``glued``: the parts join without whitespace (hard cuts), so all but the first are marked glued; the
    first is glued when the piece was.
    """
    parts: dict[int, list[tuple[int, int]]] = {}
    new_texts: list[str] = []
    kept_over = False  # a piece over max_tokens that this splitter leaves whole
    for position, (index, _, start, end, tokens, _) in enumerate(pieces):
        if tokens > max_tokens and end - start > 1:
            spans, spans_texts = parts_of(texts[index], start, end, tokens)
            if len(spans) > 1:  # a single part is the piece itself, whose count is known
                parts[position] = spans
                new_texts.extend(spans_texts)
            else:
                kept_over = True
    if not parts:
        return pieces, kept_over
    counts = _counted(token_counts, new_texts)
    out: list[_Piece] = []
    done = taken = 0
    for position, spans in parts.items():
        out.extend(pieces[done:position])
        index, paragraph, _, _, _, was_glued = pieces[position]
        replacing = [
            (index, paragraph, start, end, tokens, glued)
            for (start, end), tokens in zip(spans, counts[taken : taken + len(spans)], strict=True)
        ]
        replacing[0] = (*replacing[0][:5], was_glued)
        out.extend(replacing)
        done, taken = position + 1, taken + len(spans)
    out.extend(pieces[done:])
    over = kept_over or any(
        tokens > max_tokens and len(text) > 1 for tokens, text in zip(counts, new_texts, strict=True)
    )
    return out, over


def _line_spans(text: str, start: int, end: int, tokens: int) -> tuple[list[tuple[int, int]], list[str]]:
    """The non-blank lines of ``text[start:end]``, trimmed of whitespace."""
    spans, lines = [], []
    for match in _LINE.finditer(text, start, end):
        line = match.group()
        trimmed = line.strip()
        if trimmed:
            begin = match.start() + len(line) - len(line.lstrip())
            spans.append((begin, begin + len(trimmed)))
            lines.append(trimmed)
    return spans, lines


def _word_spans(text: str, start: int, end: int, tokens: int) -> tuple[list[tuple[int, int]], list[str]]:
    """The words (runs of non-whitespace) of ``text[start:end]``, which starts and ends on non-whitespace."""
    # words and the whitespace between them alternate; their lengths summed give every boundary
    runs = _WHITESPACE.split(text[start:end])
    bounds = list(accumulate(map(len, runs), initial=start))
    return list(zip(bounds[0::2], bounds[1::2], strict=True)), runs[0::2]


def _hard_cuts(
    text: str, start: int, end: int, tokens: int, *, max_tokens: int
) -> tuple[list[tuple[int, int]], list[str]]:
    """``text[start:end]`` cut into equal lengths, sized as if its tokens were spread evenly over it."""
    length = end - start
    size = max(1, min(length - 1, length * max_tokens // tokens))
    spans = [(begin, min(begin + size, end)) for begin in range(start, end, size)]
    return spans, [text[begin:stop] for begin, stop in spans]


def _packed(pieces: list[_Piece], max_tokens: int, overlap_tokens: int) -> Iterator[tuple[int, int]]:
    """Each chunk as the range ``[first, last)`` of its pieces, packing paragraphs whole where they fit.

    Chunks are runs of consecutive pieces (an overlap is the end of the previous run), so sizes are
    differences of the pieces' running token totals, and how many pieces fit is a binary search.
    """
    pages = [piece[0] for piece in pieces]
    paragraphs = [piece[1] for piece in pieces]
    glued = [position for position, piece in enumerate(pieces) if piece[5]]
    total = list(accumulate((piece[4] for piece in pieces), initial=0))  # total[k]: tokens of pieces[:k]
    first = position = 0  # the chunk being filled is pieces[first:position]
    while position < len(pieces):
        end = bisect_right(paragraphs, paragraphs[position], position)  # this paragraph is pieces[position:end]
        if first < position and pages[position] != pages[position - 1]:  # no chunk, no overlap across pages
            yield first, position
            first = position
        tokens = total[end] - total[position]
        used = total[position] - total[first]
        # pieces of a word cut hard are never packed together: their counts need not add up
        cut = bisect_left(glued, position) < bisect_left(glued, end)
        if not cut and used + tokens <= max_tokens:
            position = end
            continue
        if not cut and tokens <= max_tokens:  # fits in a chunk of its own: not cut in two
            yield first, position
            first = _overlap_start(total, first, position, overlap_tokens, max_tokens - tokens)
            position = end
            continue
        while position < end:
            tokens = total[position + 1] - total[position]
            next_glued = bisect_right(glued, position)
            is_glued = next_glued > 0 and glued[next_glued - 1] == position
            if first < position and (is_glued or total[position] - total[first] + tokens > max_tokens):
                yield first, position
                if is_glued:  # it continues the last piece without whitespace: no overlap either
                    first = position
                else:
                    first = _overlap_start(total, first, position, overlap_tokens, max_tokens - tokens)
            # this piece (even alone over the size, if a single character) and those after it that fit,
            # up to the next glued piece, which starts a chunk of its own
            stop = min(end, glued[next_glued]) if next_glued < len(glued) else end
            fitting = bisect_right(total, total[first] + max_tokens, position + 1, stop + 1) - 1
            position = max(position + 1, fitting)
    if first < position:
        yield first, position


def _overlap_start(total: list[int], first: int, last: int, overlap_tokens: int, room: int) -> int:
    """Where the chunk after ``pieces[first:last]`` starts: at its longest tail of at most ``overlap_tokens``
    and ``room`` tokens, never all of it (at ``last``: no overlap)."""
    limit = min(overlap_tokens, room)
    if overlap_tokens == 0 or limit < 0:
        return last
    return bisect_left(total, total[last] - limit, first + 1, last)
