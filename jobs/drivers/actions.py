"""Action types: email and webhook (dataset operations in ``dataset_actions``, library writes in ``libraries``)."""

from __future__ import annotations

import html as html_entities
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.utils.html import strip_tags

from informer import redaction
from informer.outbound import OutboundBlocked, OutboundError, outbound_request
from jobs import rendering
from jobs.drivers.base import ActionDriver, AttachmentFile, RunContext, StepFailed, StepResult
from jobs.drivers.delivery import delivery_headers

_ADDRESSES = {
    "oneOf": [
        {"type": "string", "minLength": 1, "maxLength": 4000},
        {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 320}, "maxItems": 200},
    ]
}
_HTTP_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
EXCERPT_BYTES = 2048
ENTRY_EXCERPT_CHARS = 500
RESPONSE_KEEP_BYTES = 64 * 1024


def _is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def _address_list(value: Any) -> list[str]:
    """Addresses from a comma/semicolon separated string or a list."""
    items = value if isinstance(value, list) else [value or ""]
    out: list[str] = []
    for item in items:
        out.extend(part.strip() for part in str(item).replace(";", ",").split(",") if part.strip())
    return out


def _address_errors(field: str, value: Any) -> list[str]:
    errors = []
    for address in _address_list(value):
        if _is_template(address):
            problem = rendering.check_template(address)
            if problem:
                errors.append(f"data.{field}: '{address}' is not a valid template: {problem}")
            continue
        try:
            validate_email(address)
        except ValidationError:
            errors.append(f"data.{field}: '{address}' is not a valid email address.")
    return errors


def _template_errors(data: dict[str, Any], *fields: str) -> list[str]:
    errors = []
    for field in fields:
        value = data.get(field)
        if isinstance(value, str) and value:
            problem = rendering.check_template(value)
            if problem:
                errors.append(f"data.{field}: not a valid template: {problem}")
    return errors


def materialize_attachments(context: RunContext, action: dict[str, Any]) -> list[AttachmentFile]:
    """The action's attachments made for this run (names, content types, bytes), in their order."""
    from jobs.drivers.registry import attachment_driver

    return [
        attachment_driver(attachment["type"]).materialize(context, attachment)
        for attachment in action.get("attachments", [])
    ]


def attachment_preview(context: RunContext, attachment: dict[str, Any]) -> dict[str, Any]:
    """An attachment as a preview lists it: its name and size as a run would make them, or why it would fail."""
    from jobs.drivers.registry import attachment_driver

    entry = {"name": attachment["name"], "type": attachment["type"], "size": attachment.get("size")}
    if attachment["type"] == "file" and not attachment.get("file"):
        entry["error"] = "No file uploaded yet; a run would fail on it."
    elif attachment["type"] != "file":
        # Made as a run would make it: the name and size shown are those the delivery would carry.
        try:
            made = attachment_driver(attachment["type"]).materialize(context, attachment)
            entry.update(name=made.name, size=len(made.content))
        except StepFailed as failure:
            entry["error"] = failure.message
    return entry


class EmailAction(ActionDriver):
    """Send an email rendered from Django templates, with the action's attachments."""

    id = "email"
    name = "Email"
    description = (
        "Sends an email through the configured email backend; to/cc/bcc/replyTo/subject/body are Django "
        "templates over the run context (job, run, params, datasets)."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["to", "subject"],
        "properties": {
            "to": {
                **_ADDRESSES,
                "description": "A comma-separated string or a list; each an address or a template. "
                + rendering.CONTEXT_HELP,
            },
            "cc": _ADDRESSES,
            "bcc": _ADDRESSES,
            "replyTo": _ADDRESSES,
            "subject": {"type": "string", "minLength": 1, "maxLength": 998, "description": rendering.CONTEXT_HELP},
            "body": {
                "type": "string",
                "maxLength": 1_000_000,
                "description": rendering.CONTEXT_HELP + " HTML-escaped when format is html.",
            },
            "format": {"type": "string", "enum": ["text", "html"], "default": "text"},
        },
    }

    @classmethod
    def extra_errors(cls, data: dict[str, Any]) -> list[str]:
        errors: list[str] = []
        for field in ("to", "cc", "bcc", "replyTo"):
            if field in data:
                errors.extend(_address_errors(field, data[field]))
        return errors + _template_errors(data, "subject", "body")

    @classmethod
    def _render(cls, context: RunContext, action: dict[str, Any]) -> dict[str, Any]:
        data = action.get("data") or {}
        html = data.get("format") == "html"
        recipients: dict[str, list[str]] = {}
        for field in ("to", "cc", "bcc", "replyTo"):
            addresses = []
            for raw in _address_list(data.get(field)):
                rendered = rendering.render(raw, context, what=f"{field} address") if _is_template(raw) else raw
                addresses.extend(_address_list(rendered))
            for address in addresses:
                try:
                    validate_email(address)
                except ValidationError:
                    raise StepFailed(f"'{address}' ({field}) is not a valid email address.", permanent=True) from None
            recipients[field] = addresses
        if not recipients["to"]:
            raise StepFailed("The email has no recipient in 'to'.", permanent=True)
        # Header injection is impossible through Django's mail classes, but a rendered newline would
        # still garble the subject: keep it on one line.
        subject = " ".join(rendering.render(data.get("subject", ""), context, what="subject").split())
        body = rendering.render(data.get("body", ""), context, autoescape=html, what="body")
        return {**recipients, "subject": subject, "body": body, "format": "html" if html else "text"}

    @classmethod
    def preview(cls, context: RunContext, action: dict[str, Any]) -> dict[str, Any]:
        """Recipients, subject, body and the attachment list, without sending."""
        rendered = cls._render(context, action)
        attachments = [attachment_preview(context, attachment) for attachment in action.get("attachments", [])]
        return {**rendered, "attachments": attachments}

    @classmethod
    def execute(cls, context: RunContext, action: dict[str, Any]) -> StepResult:
        """Render and send the email with its attachments."""
        rendered = cls._render(context, action)
        files = materialize_attachments(context, action)
        html = rendered["format"] == "html"
        # The text alternative is read as text: tags dropped and entities (&lt; &amp;) turned back into characters.
        text_body = html_entities.unescape(strip_tags(rendered["body"])) if html else rendered["body"]
        message = EmailMultiAlternatives(
            subject=rendered["subject"],
            body=rendering.email_layout(body=text_body, html=False, context=context),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=rendered["to"],
            cc=rendered["cc"],
            bcc=rendered["bcc"],
            reply_to=rendered["replyTo"],
        )
        if html:
            message.attach_alternative(
                rendering.email_layout(body=rendered["body"], html=True, context=context), "text/html"
            )
        for file in files:
            message.attach(file.name, file.content, file.content_type)
        try:
            message.send(fail_silently=False)
        except (OSError, ValueError) as error:  # smtplib errors are OSErrors
            raise StepFailed(f"Sending the email failed: {error}") from None
        count = len(rendered["to"]) + len(rendered["cc"]) + len(rendered["bcc"])
        return StepResult(
            message=f"Sent '{rendered['subject']}' to {count} recipient(s) with {len(files)} attachment(s).",
            data={"recipients": count, "attachments": [file.name for file in files]},
        )


class WebhookAction(ActionDriver):
    """Call an HTTP endpoint through the outbound guard; keep the status and an excerpt."""

    id = "webhook"
    name = "Webhook"
    description = (
        "Calls a URL (method, headers, templated body) through the outbound guard; the response status and "
        "a capped excerpt are kept on the progress entry. Every delivery carries Idempotency-Key: "
        "<run id>:<action id>, the same on every retry of the run, for the receiver to de-duplicate."
    )
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["url"],
        "properties": {
            "url": {
                "type": "string",
                "pattern": r"^(https?://|\{\{)",
                "maxLength": 2000,
                "description": "http(s) URL, or a template giving one. " + rendering.CONTEXT_HELP,
            },
            "method": {"type": "string", "enum": _HTTP_METHODS, "default": "POST"},
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string", "maxLength": 8000},
                "description": "Values are templates. Added unless named here (in any case): Idempotency-Key "
                "(<run id>:<action id>, the first attempt's run id) and, for a JSON body, "
                "Content-Type: application/json.",
            },
            "body": {"type": "string", "maxLength": 1_048_576, "description": rendering.CONTEXT_HELP},
            "timeoutSeconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 300, "default": 30},
            "expectStatus": {
                "type": "array",
                "items": {"type": "integer", "minimum": 100, "maximum": 599},
                "minItems": 1,
                "uniqueItems": True,
            },
        },
    }

    @classmethod
    def extra_errors(cls, data: dict[str, Any]) -> list[str]:
        errors = _template_errors(data, "url", "body")
        for name, value in (data.get("headers") or {}).items():
            if "\n" in name or "\r" in name or "\n" in value or "\r" in value:
                errors.append(f"data.headers.{name}: header names and values must be on one line.")
        return errors

    @classmethod
    def _render(cls, context: RunContext, action: dict[str, Any]) -> dict[str, Any]:
        return cls._prepare(context, action)[0]

    @classmethod
    def _prepare(cls, context: RunContext, action: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        """The request as it will be sent, and the values of the headers the action itself sets (secrets)."""
        data = action.get("data") or {}
        url = rendering.render(data["url"], context, what="URL").strip()
        if not url.startswith(("http://", "https://")):
            shown = redaction.redact_url(url)
            raise StepFailed(f"The rendered URL '{shown}' is not an http or https URL.", permanent=True)
        headers = {
            name: rendering.render(value, context, what=f"header {name}")
            for name, value in (data.get("headers") or {}).items()
        }
        # Rendered values can differ from the stored templates: the run's messages and logs mask them too.
        redaction.hide(*headers.values())
        body = rendering.render(data.get("body", ""), context, what="body")
        # The Idempotency-Key and Content-Type added here are no secrets: messages may show them.
        sent = delivery_headers(headers, body, context=context, step=str(action.get("id", "")))
        request = {"method": data.get("method", "POST"), "url": url, "headers": sent, "body": body}
        return request, list(headers.values())

    @classmethod
    def preview(cls, context: RunContext, action: dict[str, Any]) -> dict[str, Any]:
        """Method, URL, headers and body, without sending."""
        return cls._render(context, action)

    @classmethod
    def execute(cls, context: RunContext, action: dict[str, Any]) -> StepResult:
        """Send the request and check the status."""
        data = action.get("data") or {}
        request, secrets = cls._prepare(context, action)
        expected = data.get("expectStatus") or list(range(200, 300))
        # Messages are history that viewers read: the URL's credentials and the header values stay out.
        target = f"{request['method']} {redaction.redact_url(request['url'])}"
        try:
            response = outbound_request(
                request["method"],
                request["url"],
                headers=request["headers"],
                body=request["body"] or None,
                total_timeout=float(data.get("timeoutSeconds", 30)),
                max_bytes=RESPONSE_KEEP_BYTES,
            )
        except OutboundBlocked as error:
            raise StepFailed(redaction.redact_text(error.reason, secrets), permanent=True) from None
        except OutboundError as error:
            raise StepFailed(f"{target} failed: {redaction.redact_text(str(error), secrets)}") from None
        excerpt = response.body[:EXCERPT_BYTES].decode("utf-8", errors="replace")
        kept = {
            "status": response.status,
            "excerpt": excerpt,
            "truncated": response.truncated or len(response.body) > EXCERPT_BYTES,
            "elapsedMs": response.elapsed_ms,
        }
        if response.status not in expected:
            raise StepFailed(
                f"{target} answered {response.status}; expected "
                f"{'a 2xx status' if expected == list(range(200, 300)) else ', '.join(map(str, expected))}.",
                data={"response": kept},
                entry={"response": _entry_response(kept)},
            )
        return StepResult(
            message=f"{target} answered {response.status}.",
            data={"response": kept},
            entry={"response": _entry_response(kept)},
        )


def _entry_response(kept: dict[str, Any]) -> dict[str, Any]:
    """What the progress entry shows of a response: its status and a short excerpt."""
    return {"status": kept["status"], "excerpt": kept["excerpt"][:ENTRY_EXCERPT_CHARS]}
