"""Settings that contradict each other refuse to load: each case imports ``informer.settings`` in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Prints what production hardening the settings ended up with, so an accepted case is checked too.
PROBE = (
    "import informer.settings as s; "
    "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECRET_KEY == 'real')"
)
CLEARED = ("DEBUG", "INFORMER_PRODUCTION", "SECRET_KEY", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS")


def load_settings(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings with ``env`` on top of a clean environment (no inherited security variables)."""
    base = {key: value for key, value in os.environ.items() if key not in CLEARED and not key.startswith("DJANGO_")}
    base.update(INFORMER_VAR_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **env)
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=base, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("secret", ["real", None], ids=["with SECRET_KEY", "without SECRET_KEY"])
@pytest.mark.parametrize("debug", ["1", "true", "on"])
def test_debug_with_production_refuses_to_start(tmp_path: Path, debug: str, secret: str | None) -> None:
    # given
    env = {"DEBUG": debug, "INFORMER_PRODUCTION": "1", **({"SECRET_KEY": secret} if secret else {})}

    # when
    result = load_settings(tmp_path, **env)

    # then
    assert result.returncode != 0, result.stdout
    assert "django.core.exceptions.ImproperlyConfigured: DEBUG=1 and INFORMER_PRODUCTION=1 cannot be set" in (
        result.stderr
    )
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"INFORMER_PRODUCTION": "1", "SECRET_KEY": "real"}, "False True True 31536000 True"),
        ({"DEBUG": "1"}, "True False False 0 False"),
        ({"DEBUG": "1", "INFORMER_PRODUCTION": "0"}, "True False False 0 False"),
        ({}, "False False False 0 False"),
    ],
    ids=["production", "debug", "debug, production off", "neither"],
)
def test_either_alone_loads(tmp_path: Path, env: dict[str, str], expected: str) -> None:
    # when
    result = load_settings(tmp_path, **env)

    # then
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_production_without_a_secret_key_still_refuses(tmp_path: Path) -> None:
    # when
    result = load_settings(tmp_path, INFORMER_PRODUCTION="1")

    # then
    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set in production." in result.stderr
