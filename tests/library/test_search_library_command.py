"""``search_library``: ranked results printed (score, path, page, a snippet), ``--limit``, its exit codes."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from library.management.commands.search_library import snippet
from library.models import Library
from tests.library.factories import LibraryFactory
from tests.library.searching import HASHING, index_texts


@pytest.fixture(autouse=True)
def _hashing(settings: Any) -> None:
    settings.INFORMER_EMBEDDER = HASHING


@pytest.fixture
def library(owner: Any) -> Library:
    library: Library = LibraryFactory(owner=owner, name="Docs", slug="docs")
    index_texts(
        library,
        {
            "guides/otters.pdf": [(4, "otters hold hands while sleeping\n\nin the kelp")],
            "notes.txt": ["otters appear in the notes once", "budgets and nothing else " * 20],
        },
    )
    return library


def command(*args: str) -> str:
    out = StringIO()
    call_command("search_library", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def failure_of(*args: str) -> CommandError:
    with pytest.raises(CommandError) as failure:
        command(*args)
    assert failure.value.returncode == 1  # what manage.py exits with
    return failure.value


def test_results_are_printed_best_first_with_score_path_page_and_snippet(library):
    # when
    output = command("alpha:docs", "otters hold hands while sleeping")

    # then
    lines = output.splitlines()
    assert lines[0].startswith("  1. ")
    assert lines[0].endswith("  guides/otters.pdf, page 4  (chunk 0)")
    assert lines[1] == "       otters hold hands while sleeping in the kelp"
    assert lines[2].startswith("  2. ") and lines[2].endswith("  notes.txt  (chunk 0)")
    first, second = (float(line.split()[1]) for line in (lines[0], lines[2]))
    assert 1.0 + 1e-6 >= first > second


def test_limit_and_the_library_by_uuid(library):
    output = command(str(library.pk), "otters", "--limit", "1")

    ranked = [line for line in output.splitlines() if not line.startswith("       ")]
    assert len(ranked) == 1 and ranked[0].startswith("  1. ")


def test_a_long_chunk_is_cut_to_a_snippet(library):
    output = command("alpha:docs", "budgets", "--limit", "1")

    body = output.splitlines()[1].strip()
    assert body == snippet("budgets and nothing else " * 20)
    assert len(body) == 160 and body.endswith("…")


def test_nothing_found_says_so(library, owner):
    empty = LibraryFactory(owner=owner, name="Empty", slug="empty")
    index_texts(empty, {})

    assert command("alpha:empty", "otters") == "No results in 'Empty'.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("alpha:nope", "otters"), "No library 'alpha:nope'."),
        (("alpha:docs", "   "), "q is blank: give the text to search for."),
        (("alpha:docs", "x" * 1001), "q is 1001 characters long; at most 1000 are searched."),
        (("alpha:docs", "otters", "--limit", "0"), "limit 0 is out of range; it must be between 1 and 100."),
        (("alpha:docs", "otters", "--limit", "101"), "limit 101 is out of range; it must be between 1 and 100."),
    ],
)
def test_an_unknown_library_or_a_bad_query_fails(library, args, message):
    assert str(failure_of(*args)) == message


def test_a_library_not_indexed_with_the_current_model_fails(owner):
    LibraryFactory(owner=owner, name="Fresh", slug="fresh")
    stale = LibraryFactory(owner=owner, name="Stale", slug="stale")
    index_texts(stale, {"a.txt": ["otters"]}, model="another-model-v1")

    fresh_failure = failure_of("alpha:fresh", "otters")
    stale_failure = failure_of("alpha:stale", "otters")

    assert str(fresh_failure) == "'Fresh' is not indexed yet: run index_library first."
    assert str(stale_failure) == (
        "'Stale' is indexed with 'another-model-v1', not the current model 'hashing-test-embedder': "
        "run index_library first."
    )
