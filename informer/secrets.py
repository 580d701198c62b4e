"""Secrets at rest: values sealed with Fernet (AES-128-CBC + HMAC-SHA256) under a key of this installation.

The key comes from ``INFORMER_SECRETS_KEY`` when set (so that rotating ``SECRET_KEY``, which signs
sessions, does not make stored datasource passwords unreadable), otherwise from ``SECRET_KEY``; either
is stretched to Fernet's 32 bytes with HKDF. A sealed value that no longer opens (the key changed) is
an error that says so, never an empty password silently sent.
"""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class SecretUnreadable(Exception):
    """A stored secret could not be opened: it was sealed under another key."""


@cache
def _fernet(key_material: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"informer-jobs secrets v1").derive(
        key_material.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def _key_material() -> str:
    return getattr(settings, "INFORMER_SECRETS_KEY", "") or settings.SECRET_KEY


def seal(value: str) -> str:
    """``value`` encrypted and authenticated; the empty string stays empty (no secret stored)."""
    if value == "":
        return ""
    return _fernet(_key_material()).encrypt(value.encode()).decode("ascii")


def unseal(token: str) -> str:
    """The value ``seal`` encrypted into ``token``; the empty string for none."""
    if token == "":
        return ""
    try:
        return _fernet(_key_material()).decrypt(token.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise SecretUnreadable(
            "A stored secret cannot be decrypted: it was saved under another INFORMER_SECRETS_KEY (or SECRET_KEY). "
            "Enter it again."
        ) from None


def seal_json(value: dict[str, Any]) -> str:
    """A mapping of secrets sealed as one token; an empty mapping stays empty."""
    return seal(json.dumps(value, sort_keys=True)) if value else ""


def unseal_json(token: str) -> dict[str, Any]:
    """The mapping ``seal_json`` sealed."""
    opened = unseal(token)
    return json.loads(opened) if opened else {}
