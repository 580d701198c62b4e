"""WebDAV libraries: a folder on a WebDAV server (Nextcloud, ownCloud, Apache mod_dav, wsgidav…).

Every request goes through an ``informer.outbound.OutboundSession``: the host is checked by the same
address guard as webhooks (``INFORMER_OUTBOUND_ALLOW`` lifts it) and the connections are pinned to the
address that was checked. A WebDAV client library would resolve the name again on its own, and a name that
answered with a public address for the check could answer with an internal one for the connection; hence
plain requests with PROPFIND, GET, PUT, MKCOL and DELETE. Credentials are sent as HTTP Basic.

One integration object keeps one session, so its requests share one kept-alive connection: a sync (which
makes one integration) resolves and checks the host once and fetches its thousand files over one TCP
connection, as a plain HTTP client would. The address checked at the first request is used until the
integration is dropped or closed.

A listing asks for ``Depth: infinity`` once and, on a server that refuses it (many do, for their own
sake), walks the folders with ``Depth: 1``. The multistatus answer is parsed defensively: a body that is
not the XML it should be fails the listing rather than shortening it.
"""

from __future__ import annotations

import base64
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import IO, Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

from informer.outbound import OutboundBlocked, OutboundError, OutboundSession, OutboundStream, check_url
from library.integrations.base import (
    Integration,
    IntegrationConfig,
    IntegrationError,
    Listing,
    ListingFailed,
    RefusedName,
    RemoteEntry,
    TestResult,
)
from library.integrations.paths import UnsafePath, ancestors_of, safe_path

CHUNK = 64 * 1024
MAX_PROPFIND_BYTES = 64 * 1024 * 1024  # one multistatus answer; a bigger one is not a folder listing
MAX_ENTRIES = 500_000
_DAV = "{DAV:}"
_PROPFIND = (
    b'<?xml version="1.0" encoding="utf-8"?>'
    b'<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getcontentlength/><d:getlastmodified/>'
    b"<d:getetag/><d:getcontenttype/></d:prop></d:propfind>"
)
# Answers to "Depth: infinity" of a server that does not allow it (403 with propfind-finite-depth, mostly).
_INFINITY_REFUSED = frozenset({400, 403, 501})


class _Sized:
    """A file-like view of exactly ``size`` bytes of ``content``, so the request carries a Content-Length."""

    def __init__(self, content: IO[bytes], size: int) -> None:
        self._content = content
        self._left = size
        self._size = size

    def __len__(self) -> int:
        return self._size

    def read(self, amount: int = -1) -> bytes:
        wanted = self._left if amount is None or amount < 0 else min(amount, self._left)
        data = self._content.read(wanted) if wanted else b""
        if wanted and not data:
            raise IntegrationError(f"The content ended {self._left} bytes before its announced size.")
        self._left -= len(data)
        return data


def _status_message(status: int, what: str) -> str:
    """A readable reason for an HTTP status the server answered about ``what`` ("file 'a.txt'")."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "unknown status"
    if status == 401:
        return "The server refused the username or password (HTTP 401)."
    if status == 403:
        return f"The server refused access to the {what} (HTTP 403)."
    if status == 404:
        return f"The server has no {what} (HTTP 404)."
    return f"The server answered HTTP {status} ({phrase}) for the {what}."


def _text(element: ElementTree.Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""


def _modified(value: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    # RFC 1123 dates are GMT; one without a zone is read as UTC rather than as local time.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class WebdavIntegration(Integration):
    """A folder on a WebDAV server, reached through the outbound address guard."""

    type: ClassVar[str] = "webdav"
    name: ClassVar[str] = "WebDAV"
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["url"],
        "properties": {
            "url": {
                "type": "string",
                "title": "URL",
                "description": "The server's WebDAV address (http or https), e.g. https://cloud.example.com/remote.php/dav/files/me/.",
                "format": "uri",
                "minLength": 1,
            },
            "username": {"type": "string", "title": "Username"},
            "password": {"type": "string", "title": "Password", "writeOnly": True},
            "root": {
                "type": "string",
                "title": "Folder",
                "description": "The folder under the URL that holds the library; empty for the URL itself.",
            },
        },
    }

    def __init__(self, config: IntegrationConfig) -> None:
        super().__init__(config)
        self._outbound: OutboundSession | None = None

    def close(self) -> None:
        """Close the kept connection (a later request opens a new session, checking the host again)."""
        if self._outbound is not None:
            self._outbound.close()
            self._outbound = None

    # -- settings -----------------------------------------------------------------------------------

    def _base(self) -> str:
        """The URL of the library's root collection (ending in "/"); IntegrationError naming the field."""
        raw = self.config.settings.get("url")
        url = raw.strip() if isinstance(raw, str) else ""
        if not url:
            raise IntegrationError("Give the server's WebDAV URL.", field="settings.url")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError as exc:
            raise IntegrationError(f"Refusing URL {url!r}: {exc}.", field="settings.url") from None
        if parts.scheme.lower() not in ("http", "https"):
            raise IntegrationError(f"Refusing URL {url!r}: only http and https are allowed.", field="settings.url")
        if "@" in parts.netloc:
            raise IntegrationError(
                f"Refusing URL {url!r}: give the username and password in their own fields, not in the URL.",
                field="settings.url",
            )
        if parts.query or parts.fragment:
            raise IntegrationError(f"Refusing URL {url!r}: it may not have a query or fragment.", field="settings.url")
        root = self._root()
        path = parts.path.rstrip("/") + "/" + (quote(root) + "/" if root else "")
        return parts._replace(path=path).geturl()

    def _root(self) -> str:
        raw = self.config.settings.get("root")
        root = raw.strip().strip("/") if isinstance(raw, str) else ""
        if not root:
            return ""
        try:
            return safe_path(root)
        except UnsafePath as exc:
            raise IntegrationError(f"Refusing folder {root!r}: {exc.reason}.", field="settings.root") from None

    def validate(self) -> None:
        """Refuse a URL that is not http(s), carries credentials, or whose host the address guard refuses."""
        base = self._base()
        try:
            check_url(base)
        except OutboundBlocked as exc:
            raise IntegrationError(exc.reason, field="settings.url") from None
        except OutboundError as exc:
            raise IntegrationError(str(exc), field="settings.url", permanent=False) from None

    # -- requests -----------------------------------------------------------------------------------

    def _url(self, path: str, *, collection: bool = False) -> str:
        """The URL of library path ``path`` ("" for the root)."""
        if not path:
            return self._base()
        return self._base() + quote(path) + ("/" if collection else "")

    def _headers(self, **extra: str) -> dict[str, str]:
        headers = dict(extra)
        username = self.config.settings.get("username") or ""
        if username:
            password = self.config.secrets.get("password") or ""
            token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return headers

    @contextmanager
    def _request(
        self, method: str, url: str, *, headers: dict[str, str] | None = None, body: Any = None, timeout: float = 120.0
    ) -> Iterator[OutboundStream]:
        """One guarded request over the kept connection; a refused or unreachable host is an IntegrationError."""
        if self._outbound is None:
            self._outbound = OutboundSession()
        try:
            with self._outbound.stream(
                method, url, headers=self._headers(**(headers or {})), body=body, total_timeout=timeout
            ) as response:
                yield response
        except OutboundBlocked as exc:
            raise IntegrationError(exc.reason, field="settings.url") from None
        except OutboundError as exc:
            raise IntegrationError(str(exc), permanent=False) from None

    def _propfind(self, url: str, depth: str) -> tuple[int, bytes]:
        """The status and body of a PROPFIND at ``url``."""
        headers = {"Depth": depth, "Content-Type": "application/xml; charset=utf-8"}
        with self._request("PROPFIND", url, headers=headers, body=_PROPFIND) as response:
            if response.status != 207:
                return response.status, b""
            try:
                return 207, response.read(MAX_PROPFIND_BYTES)
            except OutboundError as exc:
                raise IntegrationError(str(exc), permanent=False) from None

    # -- multistatus --------------------------------------------------------------------------------

    def _parse(self, body: bytes, listing: Listing) -> list[RemoteEntry]:
        """The entries of a multistatus answer under the root; escaping names go to ``listing.refused``."""
        if b"<!DOCTYPE" in body or b"<!ENTITY" in body:  # a multistatus needs neither; entities can explode
            raise ListingFailed("The server's PROPFIND answer declares a DTD; it is not a plain multistatus.")
        try:
            # DTDs are refused above and expat bounds entity expansion: the stdlib parser is safe here.
            document = ElementTree.fromstring(body)  # noqa: S314
        except ElementTree.ParseError as exc:
            raise ListingFailed(f"The server's PROPFIND answer is not valid XML ({exc}).", permanent=False) from None
        if document.tag != f"{_DAV}multistatus":
            raise ListingFailed("The server's PROPFIND answer is not a WebDAV multistatus.", permanent=False)
        base = unquote(urlsplit(self._base()).path)
        entries = []
        for response in document.iterfind(f"{_DAV}response"):
            href = _text(response.find(f"{_DAV}href"))
            if not href:
                raise ListingFailed("The server's PROPFIND answer has a response without an href.", permanent=False)
            name = unquote(urlsplit(href).path)
            if not name.startswith(base) and name + "/" != base:
                listing.refused.append(RefusedName(name, "it is outside the library's folder"))
                continue
            relative = name[len(base) :].removesuffix("/")
            if not relative:
                continue  # the folder asked about
            try:
                path = safe_path(relative)
            except UnsafePath as exc:
                listing.refused.append(RefusedName(relative, exc.reason))
                continue
            props = next(
                (
                    propstat.find(f"{_DAV}prop")
                    for propstat in response.iterfind(f"{_DAV}propstat")
                    if " 200 " in f"{_text(propstat.find(f'{_DAV}status'))} "
                ),
                None,
            )
            if props is None:
                continue  # listed without readable properties (a 403/404 per resource): nothing to sync
            resource_type = props.find(f"{_DAV}resourcetype")
            directory = resource_type is not None and resource_type.find(f"{_DAV}collection") is not None
            size_text = _text(props.find(f"{_DAV}getcontentlength"))
            try:
                size = int(size_text) if size_text and not directory else 0
            except ValueError:
                raise ListingFailed(
                    f"The server lists {path!r} with the size {size_text!r}.", permanent=False
                ) from None
            entries.append(
                RemoteEntry(
                    path=path,
                    size=size,
                    modified_at=_modified(_text(props.find(f"{_DAV}getlastmodified"))),
                    etag="" if directory else _text(props.find(f"{_DAV}getetag")),
                    directory=directory,
                    content_type="" if directory else _text(props.find(f"{_DAV}getcontenttype")).split(";")[0].strip(),
                )
            )
        return entries

    def _list(self, url: str, depth: str, listing: Listing) -> list[RemoteEntry] | None:
        """The entries at ``url``; None when the server refuses ``Depth: infinity``."""
        try:
            status, body = self._propfind(url, depth)
        except IntegrationError as exc:
            raise ListingFailed(exc.message, field=exc.field, permanent=exc.permanent) from None
        if depth == "infinity" and status in _INFINITY_REFUSED:
            return None
        if status != 207:
            what = "library folder" if url == self._base() else f"folder {unquote(urlsplit(url).path)!r}"
            raise ListingFailed(_status_message(status, what), permanent=status < 500)
        return self._parse(body, listing)

    # -- the interface ------------------------------------------------------------------------------

    def test(self) -> TestResult:
        """List the root folder (one level)."""
        started = time.monotonic()
        try:
            self.validate()
            listing = Listing(entries=[])
            entries = self._list(self._base(), "1", listing)
        except IntegrationError as exc:
            return TestResult(success=False, message=exc.message)
        latency = round((time.monotonic() - started) * 1000, 1)
        count = len(entries or []) + len(listing.refused)
        return TestResult(success=True, message=f"Listed the folder: {count} entries at its top.", latency=latency)

    def listing(self) -> Listing:
        """Every file and folder under the root: one ``Depth: infinity`` PROPFIND, else a walk by ``Depth: 1``."""
        listing = Listing(entries=[])
        found = self._list(self._base(), "infinity", listing)
        if found is None:
            found = []
            pending = [""]
            while pending:
                folder = pending.pop()
                for entry in self._list(self._url(folder, collection=True), "1", listing) or []:
                    # Only what lies below the folder asked about: a server listing a parent would loop.
                    if folder and not entry.path.startswith(folder + "/"):
                        continue
                    found.append(entry)
                    if entry.directory:
                        pending.append(entry.path)
                if len(found) > MAX_ENTRIES:
                    raise ListingFailed(f"The folder holds more than {MAX_ENTRIES} entries.")
        unique = {entry.path: entry for entry in reversed(found)}  # the first of duplicates wins
        listing.entries = sorted(unique.values(), key=lambda entry: entry.path)
        return listing

    def _checked(self, path: str) -> str:
        try:
            return safe_path(path)
        except UnsafePath as exc:
            raise IntegrationError(f"Refusing path {path!r}: {exc.reason}.") from None

    @contextmanager
    def download(self, path: str) -> Iterator[Iterator[bytes]]:
        """The file's bytes as they arrive, 64 KiB at a time; a connection that breaks off is an error."""
        path = self._checked(path)
        with self._request("GET", self._url(path), timeout=3600.0) as response:
            if response.status != 200:
                raise IntegrationError(
                    _status_message(response.status, f"file {path!r}"), permanent=response.status < 500
                )
            yield self._chunks(response, path)

    @staticmethod
    def _chunks(response: OutboundStream, path: str) -> Iterator[bytes]:
        try:
            yield from response.chunks(CHUNK)
        except OutboundError as exc:
            raise IntegrationError(f"Downloading {path!r} failed: {exc}", permanent=False) from None

    def upload(self, path: str, content: IO[bytes], *, size: int, content_type: str = "") -> RemoteEntry:
        """Create the missing folders (MKCOL), PUT the file, then read back its entry (PROPFIND, Depth 0)."""
        path = self._checked(path)
        for folder in ancestors_of(path):
            with self._request("MKCOL", self._url(folder, collection=True)) as response:
                # 405: the folder exists already.
                if response.status not in (200, 201, 405):
                    raise IntegrationError(_status_message(response.status, f"new folder {folder!r}"))
        headers = {"Content-Length": str(size), "Content-Type": content_type or "application/octet-stream"}
        with self._request(
            "PUT", self._url(path), headers=headers, body=_Sized(content, size), timeout=3600.0
        ) as response:
            if response.status not in (200, 201, 204):
                raise IntegrationError(
                    _status_message(response.status, f"file {path!r}"), permanent=response.status < 500
                )
        listing = Listing(entries=[])
        status, body = self._propfind(self._url(path), "0")
        if status != 207:
            raise IntegrationError(_status_message(status, f"file {path!r} just written"), permanent=False)
        try:
            entries = [entry for entry in self._parse(body, listing) if entry.path == path]
        except ListingFailed as exc:
            raise IntegrationError(exc.message, permanent=False) from None
        if not entries:
            raise IntegrationError(f"The server does not list {path!r} after writing it.", permanent=False)
        return entries[0]

    def delete(self, path: str) -> None:
        """DELETE the file (a folder with what it holds); one already gone is fine."""
        path = self._checked(path)
        with self._request("DELETE", self._url(path)) as response:
            if response.status not in (200, 202, 204, 404):
                raise IntegrationError(
                    _status_message(response.status, f"file {path!r}"), permanent=response.status < 500
                )
