"""Credentials kept out of sight: header values, and the userinfo and query values of URLs.

One module for every place that shows them: the API's job and action representations (write-only for
callers without ``job:edit``), run records (definitions, progress messages, errors: history, so for
everyone), the ``run_job`` command's output and the logs. A driver's ``data`` holds credentials in two
places, its ``headers`` object and its ``url``; the mask stands in for them and, sent back on a write,
keeps the stored value.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "••••"
# Shorter values are not looked for in free text: replacing every "1" or "yes" would garble messages
# without hiding anything worth hiding.
MIN_SECRET_LENGTH = 4

_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
# A query string after a path in free text, as urllib3 writes one ("with url: /hook?token=…").
_QUERY = re.compile(r"(?<=[\w/.~%-])\?([^\s'\"<>#]+)")
# Values to mask in free text while a ``hiding`` block runs (None outside any: ``hide`` then does nothing, so a
# long-lived worker thread does not collect values forever).
_hidden: ContextVar[frozenset[str] | None] = ContextVar("informer_hidden_values", default=None)


def _mask_pairs(text: str) -> str:
    """``a=1&b`` → ``a=••••&••••``: names stay, every value (a bare item is one) is masked."""
    masked = []
    for item in text.split("&"):
        name, sep, _ = item.partition("=")
        masked.append(f"{name}={MASK}" if sep else (MASK if item else item))
    return "&".join(masked)


def redact_url(url: str) -> str:
    """``url`` with its userinfo and each query and fragment value replaced by the mask."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _QUERY.sub(lambda m: "?" + _mask_pairs(m.group(1)), url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = _mask_pairs(parts.query) if parts.query else ""
    fragment = _mask_pairs(parts.fragment) if "=" in parts.fragment else parts.fragment
    if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
        return url  # nothing to hide: keep the text exactly as written
    return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Free text (a message, a log line) with URLs redacted and every known secret value masked.

    Known values are ``secrets`` and those registered by ``hiding``/``hide`` in the current context.
    """
    if not text:
        return text
    values = {value for value in (*secrets, *(_hidden.get() or ())) if len(value) >= MIN_SECRET_LENGTH}
    for value in sorted(values, key=len, reverse=True):  # longest first: one value may contain another
        text = text.replace(value, MASK)
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    return _QUERY.sub(lambda match: "?" + _mask_pairs(match.group(1)), text)


def mask_data(data: Any) -> Any:
    """A driver's ``data`` as a caller without ``job:edit`` sees it: header values and URL credentials masked."""
    if not isinstance(data, Mapping):
        return data
    masked = dict(data)
    headers = masked.get("headers")
    if isinstance(headers, Mapping):
        masked["headers"] = {name: MASK for name in headers}
    if isinstance(masked.get("url"), str):
        masked["url"] = redact_url(masked["url"])
    return masked


def redact_definition(definition: Any) -> Any:
    """A run's frozen job definition as its history shows it: the job's, actions' and attachments' data masked."""
    if not isinstance(definition, Mapping):
        return definition
    redacted = dict(definition)
    redacted["data"] = mask_data(definition.get("data"))
    actions = definition.get("actions")
    if isinstance(actions, list):
        redacted["actions"] = [_redact_action(action) for action in actions]
    return redacted


def _redact_action(action: Any) -> Any:
    if not isinstance(action, Mapping):
        return action
    redacted = {**action, "data": mask_data(action.get("data"))}
    attachments = action.get("attachments")
    if isinstance(attachments, list):
        redacted["attachments"] = [
            {**item, "data": mask_data(item.get("data"))} if isinstance(item, Mapping) else item for item in attachments
        ]
    return redacted


def data_secrets(data: Any) -> list[str]:
    """The values of a driver's ``data`` to mask in free text: its header values and its URL's userinfo.

    Query values are not among them: in text they only appear inside a URL or a path, which
    ``redact_text`` masks by shape, and matching them anywhere would mask ordinary words.
    """
    if not isinstance(data, Mapping):
        return []
    values: list[str] = []
    headers = data.get("headers")
    if isinstance(headers, Mapping):
        values.extend(str(value) for value in headers.values())
    url = data.get("url")
    if isinstance(url, str):
        with contextlib.suppress(ValueError):
            netloc = urlsplit(url).netloc
            if "@" in netloc:
                values.append(netloc.rpartition("@")[0])
    return values


def definition_secrets(definition: Any) -> list[str]:
    """Every secret value of a run's definition: the job's and each action's ``data``."""
    if not isinstance(definition, Mapping):
        return []
    values = data_secrets(definition.get("data"))
    for action in definition.get("actions") or []:
        if isinstance(action, Mapping):
            values.extend(data_secrets(action.get("data")))
    return values


def restore_masked(data: Mapping[str, Any], stored: Any) -> tuple[dict[str, Any], list[str]]:
    """``data`` with every mask replaced by the stored value it stands for, and the masks that stand for nothing.

    A header whose value is the mask keeps the stored header of that name; a URL that equals the stored
    URL once redacted is the stored URL. A mask with nothing stored behind it is an error.
    """
    stored = stored if isinstance(stored, Mapping) else {}
    restored = dict(data)
    errors: list[str] = []
    headers = data.get("headers")
    if isinstance(headers, Mapping) and MASK in headers.values():
        previous = stored.get("headers") if isinstance(stored.get("headers"), Mapping) else {}
        by_name = {str(name).lower(): value for name, value in previous.items()}
        kept = {}
        for name, value in headers.items():
            if value == MASK:
                if str(name).lower() not in by_name:
                    errors.append(
                        f"data.headers.{name}: '{MASK}' stands for the stored value, and this header has none; "
                        "send its value."
                    )
                    continue
                value = by_name[str(name).lower()]
            kept[name] = value
        restored["headers"] = kept
    url = data.get("url")
    if isinstance(url, str) and MASK in url:
        previous_url = stored.get("url")
        if isinstance(previous_url, str) and redact_url(previous_url) == url:
            restored["url"] = previous_url
        else:
            errors.append(
                f"data.url: '{MASK}' stands for the stored URL's credentials, but this URL differs from the "
                "stored one; send the whole URL."
            )
    return restored, errors


@contextlib.contextmanager
def hiding(values: Iterable[str]) -> Iterator[None]:
    """Within the block, ``redact_text`` (and so every log record) masks ``values`` as well."""
    token = _hidden.set((_hidden.get() or frozenset()) | {str(value) for value in values if value})
    try:
        yield
    finally:
        _hidden.reset(token)


def hide(*values: str) -> None:
    """Add ``values`` (rendered header values, say) to what the current ``hiding`` block masks."""
    current = _hidden.get()
    fresh = {str(value) for value in values if value}
    if current is not None and fresh:
        _hidden.set(current | fresh)


class RedactingFilter(logging.Filter):
    """A handler filter: the message and the traceback of a record go out with credentials masked."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_text(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is written as redacted here.
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True
