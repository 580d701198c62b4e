"""Embedders: the real model's vectors (shape, unit length, determinism, batching, meaning, truncation), its
token counts, the hashing stand-in, and get_embedder's choice by settings."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.core.exceptions import ImproperlyConfigured

from library.embedding import DEFAULT_EMBEDDER, HashingEmbedder, MiniLMEmbedder, get_embedder

HASHING = "library.embedding.HashingEmbedder"

# Words of one wordpiece each, so a text of n of them is n tokens.
ONE_PIECE_WORDS = (
    *("time", "year", "people", "way", "day", "man", "thing", "woman", "life", "child", "world", "school", "state"),
    *("family", "student", "group", "country", "problem", "hand", "part", "place", "case", "week", "company"),
    *("system", "program", "question", "work", "government", "number", "night", "point", "home", "water", "room"),
    *("mother", "area", "money", "story", "fact", "month", "lot", "right", "study", "book", "eye", "job", "word"),
    *("business", "issue", "side", "kind", "head", "house", "service", "friend", "father", "power", "hour", "game"),
    *("line", "end", "member", "law", "car", "city", "community", "name", "president", "team", "minute", "idea"),
)


def words_of(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def words(count: int, offset: int = 0) -> str:
    """``count`` one-piece words, cycling through the list from ``offset``."""
    return " ".join(ONE_PIECE_WORDS[(offset + n) % len(ONE_PIECE_WORDS)] for n in range(count))


TEXTS = [
    "A cat sat on the mat.",
    "Hi",
    words(200),
    "Quarterly revenue grew in every region, driven by subscriptions.",
    "",
    "Ünïcödé, emoji ☕ and 中文 text.",
]


def test_the_model_makes_384_dimensional_unit_float32_vectors(minilm):
    vectors = minilm.embed(TEXTS)

    assert minilm.dimensions == 384
    assert vectors.shape == (len(TEXTS), 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_no_texts_make_an_empty_array(minilm):
    vectors = minilm.embed([])

    assert vectors.shape == (0, 384) and vectors.dtype == np.float32


def test_the_model_is_deterministic(minilm):
    first = minilm.embed(TEXTS)
    second = minilm.embed(TEXTS)

    np.testing.assert_array_equal(first, second)


def test_a_batch_keeps_its_order_and_mixed_lengths_give_each_text_its_vector_alone(minilm, monkeypatch):
    # given batches of 4 texts (so that several are made), of very different lengths
    monkeypatch.setattr(minilm, "batch_size", 4)
    texts = [words(length, offset) for offset, length in enumerate([3, 250, 1, 40, 12, 7, 90, 2, 30, 5])]

    # when
    together = minilm.embed(texts)
    reversed_together = minilm.embed(texts[::-1])
    alone = np.vstack([minilm.embed([text]) for text in texts])

    # then
    np.testing.assert_allclose(together, alone, atol=1e-5)
    np.testing.assert_allclose(reversed_together[::-1], alone, atol=1e-5)
    assert not np.allclose(together[0], together[1], atol=1e-2)  # the rows are not all one vector


@pytest.mark.parametrize(
    ("query", "related", "unrelated"),
    [
        ("kitten purring on my lap", "Felines often nap in sunny windows", "Quarterly earnings exceeded expectations"),
        ("How do I fix a flat bicycle tire?", "Repairing punctured bike inner tubes", "Baking sourdough bread at home"),
        ("symptoms of influenza", "fever, cough and body aches from the flu", "the stock market index fell sharply"),
        ("where can I leave my car", "vehicle parking garage downtown", "photosynthesis in green plants"),
    ],
)
def test_meaning_is_found_without_shared_words(minilm, query, related, unrelated):
    # given documents sharing no word with the query (so no word overlap explains the ranking)
    assert not words_of(query) & (words_of(related) | words_of(unrelated))

    # when
    query_vector, related_vector, unrelated_vector = minilm.embed([query, related, unrelated])

    # then the related one is nearer, by a clear margin
    assert float(query_vector @ related_vector) > float(query_vector @ unrelated_vector) + 0.15


def test_the_stand_in_finds_no_meaning_without_shared_words():
    # the counterpart of the test above: the hashing embedder knows words only
    embedder = HashingEmbedder()
    query, related, unrelated = embedder.embed(
        ["kitten purring on my lap", "Felines often nap in sunny windows", "Quarterly earnings exceeded expectations"]
    )

    assert abs(float(query @ related)) < 0.3 and abs(float(query @ unrelated)) < 0.3


def test_a_text_over_256_tokens_is_truncated_to_its_first_254_without_error(minilm):
    # given 600 one-piece words: the model sees [CLS], the first 254 and [SEP]
    long_text = words(600)
    assert minilm.token_counts([long_text]) == [600]

    # when
    vector = minilm.embed([long_text])[0]

    # then it is the vector of its first 254 words, not of fewer
    np.testing.assert_allclose(vector, minilm.embed([words(254)])[0], atol=1e-5)
    assert not np.allclose(vector, minilm.embed([words(200)])[0], atol=1e-3)
    assert minilm.max_tokens == 256


def test_token_counts_exclude_special_tokens_and_are_not_truncated(minilm):
    counts = minilm.token_counts(["", "hello world", "Hello, world!", "antidisestablishmentarianism", words(1000)])

    # no [CLS] or [SEP]; punctuation is a token; a long word several; a long text counted whole
    assert counts[:3] == [0, 2, 4]
    assert counts[3] > 1
    assert counts[4] == 1000
    assert minilm.token_counts([]) == []


def test_token_counts_add_up_over_whitespace(minilm):
    # what the chunker relies on: a text's count is the sum of its whitespace-separated parts' counts
    parts = ["The naïve café's crème brûlée,", "e.g. 3.14159…", "東京タワー", "don't-stop-me-now!!!"]

    assert minilm.token_counts(["  ".join(parts)]) == [sum(minilm.token_counts(parts))]


def test_the_model_is_named_for_the_index(minilm):
    assert minilm.name == "all-MiniLM-L6-v2-onnx-int8"
    assert isinstance(minilm, MiniLMEmbedder)


def test_the_default_embedder_is_the_model():
    assert DEFAULT_EMBEDDER == "library.embedding.MiniLMEmbedder"


def test_get_embedder_returns_the_same_object_each_time(settings):
    settings.INFORMER_EMBEDDER = HASHING

    first = get_embedder()
    second = get_embedder()

    assert first is second


def test_get_embedder_honours_the_setting(settings, minilm):
    # given the real model loaded for the default path
    settings.INFORMER_EMBEDDER = HASHING

    # when
    embedder = get_embedder()

    # then the stand-in, and the default again once the setting is gone
    assert isinstance(embedder, HashingEmbedder)
    assert embedder.name == "hashing-test-embedder"
    settings.INFORMER_EMBEDDER = ""
    assert get_embedder() is minilm


@pytest.mark.parametrize(
    "path",
    [
        "library.embedding.NoSuchEmbedder",
        "library.no_such_module.Embedder",
        "not-a-dotted-path",
        "library.embedding.DEFAULT_EMBEDDER",  # imports, but is no class
    ],
)
def test_a_bad_dotted_path_is_improperly_configured_naming_the_setting(settings, path):
    settings.INFORMER_EMBEDDER = path

    with pytest.raises(ImproperlyConfigured, match="INFORMER_EMBEDDER") as caught:
        get_embedder()

    assert path in str(caught.value)


def test_the_stand_in_is_deterministic_and_unit_length():
    texts = ["A cat sat on the mat.", "", "...", "Cats, cats and more CATS", words(300)]

    first = HashingEmbedder().embed(texts)
    second = HashingEmbedder().embed(texts)

    np.testing.assert_array_equal(first, second)
    assert first.shape == (len(texts), 384) and first.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(first[1], first[2])  # no words: one fixed direction


def test_the_stand_in_puts_texts_that_share_words_near():
    embedder = HashingEmbedder()
    cat, cats_again, finance = embedder.embed(["the cat sat", "a CAT sat down", "revenue grew strongly"])

    assert float(cat @ cats_again) > 0.5
    assert abs(float(cat @ finance)) < 0.3


def test_the_stand_in_counts_words_as_tokens():
    assert HashingEmbedder().token_counts(["", "one two, three!", "e.g. 3.14", "東京"]) == [0, 3, 4, 1]
