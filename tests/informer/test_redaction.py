"""Tables for informer.redaction: URLs, free text, drivers' data, run definitions, masks sent back, log records."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest

from informer import redaction
from informer.redaction import MASK, RedactingFilter

M = MASK

# --------------------------------------------------------------------------------------------------- URLs

URLS = [
    ("https://example.com/hook", "https://example.com/hook"),
    ("https://user:pass@example.com/hook", f"https://{M}@example.com/hook"),
    ("https://token@example.com:8443/x", f"https://{M}@example.com:8443/x"),
    ("https://example.com/x?token=abc&page=2", f"https://example.com/x?token={M}&page={M}"),
    ("https://example.com/x?s3cr3t", f"https://example.com/x?{M}"),
    ("https://example.com/x?a=&b=1", f"https://example.com/x?a={M}&b={M}"),
    ("https://u:p@example.com/x?k=v#frag", f"https://{M}@example.com/x?k={M}#frag"),
    ("https://example.com/cb#access_token=abc", f"https://example.com/cb#access_token={M}"),
    ("https://example.com/a@b/c", "https://example.com/a@b/c"),  # an @ in the path is no userinfo
    ("https://{{ params.host }}/x?key={{ params.key }}", f"https://{{{{ params.host }}}}/x?key={M}"),
    ("http://[::1]:99999/x?a=1", f"http://[::1]:99999/x?a={M}"),  # unparseable port: masked all the same
    ("", ""),
]


@pytest.mark.parametrize(("url", "expected"), URLS)
def test_redact_url(url: str, expected: str) -> None:
    assert redaction.redact_url(url) == expected


@pytest.mark.parametrize(("url", "expected"), URLS)
def test_redact_url_is_idempotent(url: str, expected: str) -> None:
    assert redaction.redact_url(redaction.redact_url(url)) == expected


# ---------------------------------------------------------------------------------------------- free text

TEXTS = [
    ("POST https://example.com/hook answered 200.", (), "POST https://example.com/hook answered 200."),
    (
        "POST https://u:pw@example.com/h?token=abc answered 500; expected a 2xx status.",
        (),
        f"POST https://{M}@example.com/h?token={M} answered 500; expected a 2xx status.",
    ),
    (
        "Request to http://10.0.0.1/?k=v failed: HTTPConnectionPool(host='10.0.0.1', port=80): "
        "Max retries exceeded with url: /?k=v (Caused by timeout)",
        (),
        f"Request to http://10.0.0.1/?k={M} failed: HTTPConnectionPool(host='10.0.0.1', port=80): "
        f"Max retries exceeded with url: /?k={M} (Caused by timeout)",
    ),
    ("Refusing URL 'ftp://me:pw@x.test/': scheme", (), f"Refusing URL 'ftp://{M}@x.test/': scheme"),
    (
        "Invalid header value 'Bearer s3cret-token\\n'",
        ("Bearer s3cret-token",),
        f"Invalid header value '{M}\\n'",
    ),
    ("answered 401 for key 1", ("1",), "answered 401 for key 1"),  # too short to look for
    ("the value abcd appears", ("abcd", "abcdef"), f"the value {M} appears"),
    ("prefix abcdef", ("abcd", "abcdef"), f"prefix {M}"),  # the longer value first
    ("Is it? Yes.", (), "Is it? Yes."),
    ("", ("secret",), ""),
]


@pytest.mark.parametrize(("text", "secrets", "expected"), TEXTS)
def test_redact_text(text: str, secrets: tuple[str, ...], expected: str) -> None:
    assert redaction.redact_text(text, secrets) == expected


def test_hiding_masks_its_values_only_inside_the_block() -> None:
    # given
    text = "sent X-Api-Key k3y-value and token rendered-value"

    # when
    with redaction.hiding(["k3y-value"]):
        redaction.hide("rendered-value")
        inside = redaction.redact_text(text)
    outside = redaction.redact_text(text)

    # then
    assert inside == f"sent X-Api-Key {M} and token {M}"
    assert outside == text


def test_hide_outside_a_block_keeps_nothing() -> None:
    redaction.hide("stray-value")
    assert redaction.redact_text("stray-value") == "stray-value"


# -------------------------------------------------------------------------------------- drivers' data

WEBHOOK = {
    "url": "https://hooks.example.com/in?token=t0k3n",
    "method": "POST",
    "headers": {"Authorization": "Bearer abc", "X-Api-Key": "k3y"},
    "body": "{{ job.name }}",
}
MASKED_WEBHOOK = {
    "url": f"https://hooks.example.com/in?token={M}",
    "method": "POST",
    "headers": {"Authorization": M, "X-Api-Key": M},
    "body": "{{ job.name }}",
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (WEBHOOK, MASKED_WEBHOOK),
        ({"to": "ops@example.com", "subject": "Hi"}, {"to": "ops@example.com", "subject": "Hi"}),
        ({"url": "https://example.com/"}, {"url": "https://example.com/"}),
        ({"headers": {}}, {"headers": {}}),
        (None, None),
        ([], []),
    ],
)
def test_mask_data(data: Any, expected: Any) -> None:
    assert redaction.mask_data(data) == expected


def test_mask_data_leaves_the_stored_value_alone() -> None:
    data = {"headers": {"X-Api-Key": "k3y"}, "url": "https://u:p@x.test/"}
    redaction.mask_data(data)
    assert data == {"headers": {"X-Api-Key": "k3y"}, "url": "https://u:p@x.test/"}


def test_redact_definition_masks_the_job_every_action_and_attachment() -> None:
    # given
    definition = {
        "id": "j",
        "type": "api-call",
        "data": {"url": "https://api.example.com/v1?key=k", "headers": {"X-Api-Key": "k3y"}},
        "actions": [
            {"id": "a", "type": "webhook", "data": WEBHOOK, "attachments": [{"id": "f", "data": {}}]},
            {"id": "b", "type": "email", "data": {"to": "ops@example.com"}, "attachments": []},
        ],
    }

    # when
    redacted = redaction.redact_definition(definition)

    # then
    assert redacted == {
        "id": "j",
        "type": "api-call",
        "data": {"url": f"https://api.example.com/v1?key={M}", "headers": {"X-Api-Key": M}},
        "actions": [
            {"id": "a", "type": "webhook", "data": MASKED_WEBHOOK, "attachments": [{"id": "f", "data": {}}]},
            {"id": "b", "type": "email", "data": {"to": "ops@example.com"}, "attachments": []},
        ],
    }
    assert definition["actions"][0]["data"] is WEBHOOK  # the stored definition is untouched


def test_definition_secrets_are_header_values_and_userinfo() -> None:
    definition = {
        "data": {"url": "https://me:pw@api.example.com/?q=word", "headers": {"X-Api-Key": "k3y"}},
        "actions": [{"data": WEBHOOK}, {"data": {"to": "ops@example.com"}}],
    }
    assert redaction.definition_secrets(definition) == ["k3y", "me:pw", "Bearer abc", "k3y"]


# ------------------------------------------------------------------------------------- masks sent back

STORED = {"url": "https://u:p@x.test/h?token=t", "headers": {"Authorization": "Bearer abc", "X-Api-Key": "k3y"}}

RESTORES = [
    ("headers kept", {**STORED, "headers": {"Authorization": M, "X-Api-Key": M}}, STORED, []),
    (
        "one header changed",
        {"headers": {"Authorization": M, "X-Api-Key": "new"}},
        {"headers": {"Authorization": "Bearer abc", "X-Api-Key": "new"}},
        [],
    ),
    ("names match case-insensitively", {"headers": {"x-api-key": M}}, {"headers": {"x-api-key": "k3y"}}, []),
    ("a header dropped", {"headers": {"X-Api-Key": M}}, {"headers": {"X-Api-Key": "k3y"}}, []),
    (
        "a mask for a header never stored",
        {"headers": {"X-Other": M, "X-Api-Key": M}},
        {"headers": {"X-Api-Key": "k3y"}},
        ["data.headers.X-Other: '••••' stands for the stored value, and this header has none; send its value."],
    ),
    ("the masked URL", {"url": f"https://{M}@x.test/h?token={M}"}, {"url": STORED["url"]}, []),
    (
        "a masked URL that differs",
        {"url": f"https://{M}@y.test/h?token={M}"},
        {"url": f"https://{M}@y.test/h?token={M}"},
        [
            "data.url: '••••' stands for the stored URL's credentials, but this URL differs from the stored "
            "one; send the whole URL."
        ],
    ),
    (
        "no mask at all",
        {"url": "https://z.test/", "headers": {"A": "b"}},
        {"url": "https://z.test/", "headers": {"A": "b"}},
        [],
    ),
]


@pytest.mark.parametrize(("data", "expected", "errors"), [c[1:] for c in RESTORES], ids=[c[0] for c in RESTORES])
def test_restore_masked(data: dict[str, Any], expected: dict[str, Any], errors: list[str]) -> None:
    assert redaction.restore_masked(data, STORED) == (expected, errors)


def test_a_mask_with_nothing_stored_is_an_error() -> None:
    _, errors = redaction.restore_masked({"headers": {"X-Api-Key": M}, "url": f"https://{M}@x.test/"}, None)
    assert [error.split(":")[0] for error in errors] == ["data.headers.X-Api-Key", "data.url"]


# ------------------------------------------------------------------------------------------------ logs


def _record(message: str, *args: Any, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("test", logging.ERROR, __file__, 1, message, args, exc_info)


def test_the_filter_redacts_the_message_and_the_traceback() -> None:
    # given
    try:
        raise ValueError("could not reach https://u:pw@x.test/?token=t with Bearer s3cret-token")
    except ValueError as error:
        record = _record("calling %s", "https://x.test/?key=k", exc=error)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())

    # when
    with redaction.hiding(["Bearer s3cret-token"]):
        handler.handle(record)

    # then
    written = stream.getvalue()
    assert f"calling https://x.test/?key={M}" in written
    assert f"could not reach https://{M}@x.test/?token={M} with {M}" in written
    assert "Traceback" in written
    for secret in ("u:pw", "token=t ", "key=k", "s3cret"):
        assert secret not in written


def test_the_configured_console_handler_redacts(settings: Any) -> None:
    # given: the handler Django configured from settings.LOGGING
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactingFilter) for f in h.filters))
    stream = io.StringIO()
    previous = handler.setStream(stream)  # type: ignore[attr-defined]

    # when
    try:
        logging.getLogger("runs.executor").error("Run failed calling %s", "https://me:pw@x.test/?token=t")
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]

    # then
    assert stream.getvalue().rstrip().endswith(f"Run failed calling https://{M}@x.test/?token={M}")
