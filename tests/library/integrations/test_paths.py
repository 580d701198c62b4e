"""safe_path: what may name a library file, and why the rest is refused."""

from __future__ import annotations

import pytest

from library.integrations.paths import UnsafePath, ancestors_of, filename_of, join, parent_of, safe_path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("a/b/c.txt", "a/b/c.txt"),
        ("./a/./b.txt", "a/b.txt"),
        ("Übersicht 2024/é.md", "Übersicht 2024/é.md"),
        ("...", "..."),
        ("a..b/c", "a..b/c"),
        ("x" * 255, "x" * 255),
        ("spaces are fine .txt", "spaces are fine .txt"),
    ],
)
def test_safe_paths_pass(name: str, expected: str) -> None:
    assert safe_path(name) == expected


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "the path is empty"),
        (".", "the path is empty"),
        ("..", "it contains '..'"),
        ("a/../../etc/passwd", "it contains '..'"),
        ("/etc/passwd", "it is an absolute path"),
        ("C:/Windows", "it is an absolute path"),
        ("c:evil", "it is an absolute path"),
        ("a\x00b", "it contains a NUL character"),
        ("a\\b", "it contains a backslash"),
        ("..\\evil", "it contains a backslash"),
        ("line\nbreak", "it contains the control character U+000A"),
        ("bell\x07", "it contains the control character U+0007"),
        ("c1\x85", "it contains the control character U+0085"),
        ("bad\udcff", "it is not valid UTF-8"),
        ("a//b", "it has an empty segment"),
        ("a/", "it has an empty segment"),
        ("x" * 256, "a name in it is longer than 255 bytes"),
        ("é" * 128, "a name in it is longer than 255 bytes"),
        ("/".join(["x" * 200] * 6), "it is longer than 1024 bytes"),
    ],
)
def test_unsafe_paths_are_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(UnsafePath) as caught:
        safe_path(name)

    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_join_skips_empty_parts_and_checks_the_result() -> None:
    assert join("", "a", "b.txt") == "a/b.txt"
    assert join("docs", "2024/x.md") == "docs/2024/x.md"
    with pytest.raises(UnsafePath):
        join("docs", "../x")


def test_parent_filename_and_ancestors() -> None:
    assert parent_of("a/b/c.txt") == "a/b"
    assert parent_of("c.txt") == ""
    assert filename_of("a/b/c.txt") == "c.txt"
    assert filename_of("c.txt") == "c.txt"
    assert ancestors_of("a/b/c.txt") == ["a", "a/b"]
    assert ancestors_of("c.txt") == []
