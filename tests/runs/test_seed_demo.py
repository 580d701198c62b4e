"""``seed_demo``'s progress: a bar on a terminal, plain lines otherwise, complete however much it made."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def seed(stdout: StringIO | None = None) -> str:
    out = stdout if stdout is not None else StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue()


def test_plain_output_counts_the_objects_at_each_tenth():
    output = seed()

    lines = output.splitlines()
    counts = [line for line in lines if line.startswith("Demo data: ")]
    assert counts == [f"Demo data: {done}/14 objects" for done in (2, 3, 5, 6, 7, 9, 10, 12, 13, 14)]
    assert "\r" not in output
    assert lines[len(counts)] == "Demo data ready."


def test_on_a_terminal_a_bar_counts_the_objects():
    output = seed(Terminal())

    assert "\r" in output and "14/14" in output and "100%" in output
    assert "\nDemo data ready.\n" in output
    assert "  Log in as 'admin' (superuser), 'demo', 'viewer' or 'acme' with password 'informer-demo'.\n" in output


def test_the_count_completes_when_it_makes_less():
    # given: 'demo' is taken, so none of its jobs are made
    UserFactory(username="demo")
    seed()

    # when: and the second time everything is found rather than made
    output = seed()

    # then
    assert "Demo data: 14/14 objects" in output.splitlines()
