"""A refusal the allow list could lift says so, naming INFORMER_OUTBOUND_ALLOW; the others do not."""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

from informer.outbound import OutboundBlocked, check_url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "http://localhost:8000/hook",
            "Refusing to connect to 127.0.0.1 (loopback address) for host 'localhost'; "
            "add 'localhost' or 127.0.0.1 to INFORMER_OUTBOUND_ALLOW to allow it.",
        ),
        (
            "http://127.0.0.1/",
            "Refusing to connect to 127.0.0.1 (loopback address) for host '127.0.0.1'; "
            "add 127.0.0.1 to INFORMER_OUTBOUND_ALLOW to allow it.",
        ),
        (
            "http://[::1]/",
            "Refusing to connect to ::1 (loopback address) for host '::1'; "
            "add ::1 to INFORMER_OUTBOUND_ALLOW to allow it.",
        ),
        (
            "https://10.1.2.3/",
            "Refusing to connect to 10.1.2.3 (private address) for host '10.1.2.3'; "
            "add 10.1.2.3 to INFORMER_OUTBOUND_ALLOW to allow it.",
        ),
        (
            "http://[::ffff:192.168.0.1]/",
            # Python 3.13 writes an IPv4-mapped address with its dotted quad (::ffff:192.168.0.1), as the host
            # says it, so the message names it once; 3.11 and 3.12 write it in hex (::ffff:c0a8:1), so twice.
            (
                "Refusing to connect to ::ffff:192.168.0.1 (private address 192.168.0.1 embedded in IPv6) for "
                "host '::ffff:192.168.0.1'; add ::ffff:192.168.0.1 to INFORMER_OUTBOUND_ALLOW to allow it."
            )
            if str(ipaddress.ip_address("::ffff:192.168.0.1")) == "::ffff:192.168.0.1"
            else (
                "Refusing to connect to ::ffff:c0a8:1 (private address 192.168.0.1 embedded in IPv6) for host "
                "'::ffff:192.168.0.1'; add '::ffff:192.168.0.1' or ::ffff:c0a8:1 to INFORMER_OUTBOUND_ALLOW to "
                "allow it."
            ),
        ),
        (
            "http://169.254.169.254/latest/meta-data",
            "Refusing to connect to 169.254.169.254 (cloud metadata address) for host '169.254.169.254'; "
            "add 169.254.169.254 to INFORMER_OUTBOUND_ALLOW to allow it.",
        ),
        (
            "http://metadata.google.internal/",
            "Refusing to connect to host 'metadata.google.internal' (cloud metadata service); "
            "add 'metadata.google.internal' to INFORMER_OUTBOUND_ALLOW to allow it.",
        ),
    ],
)
def test_a_refusal_the_setting_lifts_names_it(settings: Any, url: str, reason: str) -> None:
    settings.INFORMER_OUTBOUND_ALLOW = []

    with pytest.raises(OutboundBlocked) as info:
        check_url(url)

    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("url", "entry"),
    [
        ("http://localhost:8000/hook", "localhost"),
        ("http://localhost:8000/hook", "127.0.0.1"),
        ("https://10.1.2.3/", "10.0.0.0/8"),
        ("http://metadata.google.internal/", "metadata.google.internal"),
    ],
)
def test_what_the_message_suggests_does_lift_it(
    settings: Any, monkeypatch: pytest.MonkeyPatch, url: str, entry: str
) -> None:
    # no resolver needed: the metadata name answers with a public address here
    real = socket.getaddrinfo
    metadata = [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 80))]
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: metadata if host == "metadata.google.internal" else real(host, *a, **k),
    )
    settings.INFORMER_OUTBOUND_ALLOW = [entry]

    assert check_url(url)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/file", "http:///path", "http://exa mple.com:99999/", "file:///etc/passwd"]
)
def test_a_refusal_no_setting_lifts_does_not_suggest_one(settings: Any, url: str) -> None:
    settings.INFORMER_OUTBOUND_ALLOW = ["example.com"]

    with pytest.raises(OutboundBlocked) as info:
        check_url(url)

    assert "INFORMER_OUTBOUND_ALLOW" not in info.value.reason


def test_an_explicit_allow_list_is_named_as_such() -> None:
    with pytest.raises(OutboundBlocked) as info:
        check_url("http://127.0.0.1/", allow_hosts=["example.com"])

    assert info.value.reason.endswith("; add 127.0.0.1 to the allow list to allow it.")
