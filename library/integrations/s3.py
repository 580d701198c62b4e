"""S3 libraries: the objects under a prefix of a bucket, on AWS or an S3-compatible server (MinIO, Ceph…).

Folders are not objects in S3: they are read from the keys' "/"-separated prefixes (and from the empty
"folder/" markers some tools write). A custom ``endpointUrl`` passes the webhooks' address guard
(``INFORMER_OUTBOUND_ALLOW``) each time a client is made, is spoken to path-style so that the host checked
is the host contacted, and a request to any other host is stopped before it is sent. boto3 resolves the
name itself, so unlike WebDAV the connection is not pinned to the checked address. One integration object
makes one client (and so one connection pool), at its first request: a sync, which makes one integration,
fetches all its objects through it.

A library without an access key sends unsigned requests (a public bucket): boto3 would otherwise fall back
to the service's own credentials (environment, instance role). ETags are change markers only: those of
multipart uploads are not MD5 sums of the content and are never compared with one.
"""

from __future__ import annotations

import ipaddress
import mimetypes
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import IO, Any, ClassVar
from urllib.parse import urlsplit

import boto3
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error

from informer.outbound import OutboundBlocked, OutboundError, check_url
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
PAGE_SIZE = 1000
_MULTIPART = TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=16 * 1024 * 1024)
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z0-9-]{0,40}$")
# Codes whose meaning a user can act on, in words; the others are shown as S3 gives them.
_CODES = {
    "NoSuchBucket": "There is no bucket {bucket!r}",
    "InvalidAccessKeyId": "The access key ID was refused",
    "SignatureDoesNotMatch": "The secret access key was refused",
    "AccessDenied": "Access to bucket {bucket!r} was denied",
    "InvalidBucketName": "The bucket name {bucket!r} is not valid",
}
_RETRIABLE = frozenset({"InternalError", "ServiceUnavailable", "SlowDown", "RequestTimeout", "500", "503"})


_SESSION_LOCK = threading.Lock()


@cache
def _session() -> boto3.session.Session:
    """One boto3 session for every library (loading the service model is slow); credentials go per client."""
    return boto3.session.Session()


def _bucket_problem(name: str) -> str | None:
    """Why ``name`` is not a valid bucket name (the S3 naming rules), or None."""
    if not 3 <= len(name) <= 63:
        return "it must be 3 to 63 characters long"
    if not _BUCKET.match(name):
        return "it may hold only lowercase letters, digits, dots and hyphens, and begin and end with a letter or digit"
    if ".." in name or ".-" in name or "-." in name:
        return "dots may not be next to each other or to a hyphen"
    try:
        ipaddress.IPv4Address(name)
        return "it may not look like an IP address"
    except ValueError:
        pass
    if name.startswith(("xn--", "sthree-")) or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3")):
        return "it uses a prefix or suffix S3 reserves"
    return None


def _etag(value: str) -> str:
    return value.strip().strip('"')


def _modified(value: datetime) -> datetime:
    return value.astimezone(UTC)


class S3Integration(Integration):
    """The objects under a prefix of an S3 bucket."""

    type: ClassVar[str] = "s3"
    name: ClassVar[str] = "Amazon S3 (or compatible)"
    settings_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["bucket"],
        "properties": {
            "bucket": {"type": "string", "title": "Bucket", "minLength": 3, "maxLength": 63},
            "prefix": {
                "type": "string",
                "title": "Prefix",
                "description": "The folder of the bucket that holds the library (e.g. docs/2024); empty for all of it.",
            },
            "region": {"type": "string", "title": "Region", "description": "e.g. eu-central-1; us-east-1 if empty."},
            "endpointUrl": {
                "type": "string",
                "title": "Endpoint URL",
                "description": "For S3-compatible servers (http or https); empty for AWS.",
            },
            "accessKeyId": {"type": "string", "title": "Access key ID"},
            "secretAccessKey": {"type": "string", "title": "Secret access key", "writeOnly": True},
        },
    }

    def __init__(self, config: IntegrationConfig) -> None:
        super().__init__(config)
        self._cached_client: Any = None

    # -- settings -----------------------------------------------------------------------------------

    def _setting(self, key: str) -> str:
        value = self.config.settings.get(key)
        return value.strip() if isinstance(value, str) else ""

    def _bucket(self) -> str:
        bucket = self._setting("bucket")
        if not bucket:
            raise IntegrationError("Give the bucket's name.", field="settings.bucket")
        if problem := _bucket_problem(bucket):
            raise IntegrationError(f"Refusing bucket name {bucket!r}: {problem}.", field="settings.bucket")
        return bucket

    def _prefix(self) -> str:
        """The key prefix of the library's objects: "" or "folder/"."""
        prefix = self._setting("prefix").strip("/")
        if not prefix:
            return ""
        try:
            return safe_path(prefix) + "/"
        except UnsafePath as exc:
            raise IntegrationError(f"Refusing prefix {prefix!r}: {exc.reason}.", field="settings.prefix") from None

    def _region(self) -> str:
        region = self._setting("region")
        if not _REGION.match(region):
            raise IntegrationError(f"Refusing region {region!r}: it is not a region name.", field="settings.region")
        return region or "us-east-1"

    def _endpoint(self) -> str | None:
        """The custom endpoint, checked by the address guard; None for AWS's own."""
        url = self._setting("endpointUrl")
        if not url:
            return None
        field = "settings.endpointUrl"
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError as exc:
            raise IntegrationError(f"Refusing endpoint {url!r}: {exc}.", field=field) from None
        if parts.scheme.lower() not in ("http", "https"):
            raise IntegrationError(f"Refusing endpoint {url!r}: only http and https are allowed.", field=field)
        if "@" in parts.netloc or parts.query or parts.fragment:
            raise IntegrationError(
                f"Refusing endpoint {url!r}: it may not carry credentials, a query or a fragment.", field=field
            )
        try:
            check_url(url)
        except OutboundBlocked as exc:
            raise IntegrationError(exc.reason, field=field) from None
        except OutboundError as exc:
            raise IntegrationError(str(exc), field=field, permanent=False) from None
        return url

    def validate(self) -> None:
        """Refuse an invalid bucket name, an unsafe prefix, and an endpoint the address guard refuses."""
        self._bucket()
        self._prefix()
        self._region()
        self._endpoint()

    # -- the client ---------------------------------------------------------------------------------

    def _client(self) -> Any:
        """A boto3 client for this library's endpoint with its own credentials only (made once per instance)."""
        if self._cached_client is None:
            self._cached_client = self._new_client()
        return self._cached_client

    def _new_client(self) -> Any:
        endpoint = self._endpoint()
        access_key = self._setting("accessKeyId")
        options: dict[str, Any] = {
            "connect_timeout": 5,
            "read_timeout": 60,
            "retries": {"max_attempts": 3, "mode": "standard"},
            # AWS_ENDPOINT_URL and the like in the environment must not redirect a library elsewhere.
            "ignore_configured_endpoint_urls": True,
        }
        if endpoint:
            options["s3"] = {"addressing_style": "path"}
        if not access_key:
            options["signature_version"] = UNSIGNED
        credentials = {}
        if access_key:
            credentials = {
                "aws_access_key_id": access_key,
                "aws_secret_access_key": self.config.secrets.get("secretAccessKey") or "",
            }
        with _SESSION_LOCK:  # making clients from one session is not thread-safe
            client = _session().client(
                "s3", endpoint_url=endpoint, region_name=self._region(), config=Config(**options), **credentials
            )
        if endpoint:
            host = urlsplit(endpoint).hostname

            def same_host(request: Any, **_: Any) -> None:
                if urlsplit(request.url).hostname != host:
                    raise IntegrationError(f"Refusing a request to another host than the endpoint's ({host}).")

            client.meta.events.register("before-send.s3", same_host)
        return client

    def _error(self, exc: Exception, *, listing: bool = False) -> IntegrationError:
        """The IntegrationError (ListingFailed for a listing) for a boto3 failure, in words a user can act on."""
        error = ListingFailed if listing else IntegrationError
        if isinstance(exc, IntegrationError):
            return error(exc.message, field=exc.field, permanent=exc.permanent)
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            text = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
            if code in _CODES:
                message = _CODES[code].format(bucket=self._setting("bucket")) + f" ({code})."
            else:
                message = f"S3 answered {code or 'an error'}: {text}"
            return error(message, permanent=code not in _RETRIABLE)
        if isinstance(exc, EndpointConnectionError):
            endpoint = self._setting("endpointUrl") or "of AWS S3"
            return error(f"Could not connect to the endpoint {endpoint}.", permanent=False)
        return error(f"S3 request failed: {exc}", permanent=False)

    def _key(self, path: str) -> str:
        try:
            return self._prefix() + safe_path(path)
        except UnsafePath as exc:
            raise IntegrationError(f"Refusing path {path!r}: {exc.reason}.") from None

    # -- the interface ------------------------------------------------------------------------------

    def test(self) -> TestResult:
        """List the first keys under the prefix."""
        started = time.monotonic()
        try:
            self.validate()
            answer = self._client().list_objects_v2(Bucket=self._bucket(), Prefix=self._prefix(), MaxKeys=100)
        except (IntegrationError, ClientError, BotoCoreError) as exc:
            return TestResult(success=False, message=self._error(exc).message)
        latency = round((time.monotonic() - started) * 1000, 1)
        count = answer.get("KeyCount", 0)
        more = " or more" if answer.get("IsTruncated") else ""
        return TestResult(success=True, message=f"Listed the bucket: {count}{more} objects.", latency=latency)

    def _entry(self, item: dict[str, Any], path: str, *, directory: bool = False) -> RemoteEntry:
        if directory:
            return RemoteEntry(path=path, size=0, modified_at=_modified(item["LastModified"]), etag="", directory=True)
        return RemoteEntry(
            path=path,
            size=int(item["Size"]),
            modified_at=_modified(item["LastModified"]),
            etag=_etag(item.get("ETag", "")),
            content_type=mimetypes.guess_type(path)[0] or "",
        )

    def listing(self) -> Listing:
        """Every object under the prefix, page by page; a page that fails fails the whole listing."""
        prefix = self._prefix()
        bucket = self._bucket()
        files: dict[str, RemoteEntry] = {}
        folders: dict[str, RemoteEntry | None] = {}
        listing = Listing(entries=[])
        truncated = False
        try:
            paginator = self._client().get_paginator("list_objects_v2")
            pages = paginator.paginate(Bucket=bucket, Prefix=prefix, PaginationConfig={"PageSize": PAGE_SIZE})
            for page in pages:
                truncated = bool(page.get("IsTruncated"))
                for item in page.get("Contents", []):
                    name = item["Key"][len(prefix) :]
                    directory = name.endswith("/")
                    if not name.removesuffix("/"):
                        continue  # the marker of the prefix itself
                    try:
                        path = safe_path(name.removesuffix("/"))
                    except UnsafePath as exc:
                        listing.refused.append(RefusedName(name, exc.reason))
                        continue
                    for folder in ancestors_of(path):
                        folders.setdefault(folder, None)
                    if directory:
                        folders[path] = self._entry(item, path, directory=True)
                    else:
                        files[path] = self._entry(item, path)
        except (IntegrationError, ClientError, BotoCoreError, Urllib3Error, OSError) as exc:
            raise self._error(exc, listing=True) from None
        if truncated:  # the last page said more would follow, but no page did
            raise ListingFailed("S3 cut the listing short (the last page announced more).", permanent=False)
        for path in sorted(set(files) & set(folders)):
            # "a" and "a/b" can both be keys; a library path is a file or a folder, never both.
            listing.refused.append(RefusedName(path, "a folder has the same name"))
            del files[path]
        folder_entries = [entry or RemoteEntry(path, 0, None, "", directory=True) for path, entry in folders.items()]
        listing.entries = sorted([*files.values(), *folder_entries], key=lambda entry: entry.path)
        return listing

    @contextmanager
    def download(self, path: str) -> Iterator[Iterator[bytes]]:
        """The object's bytes as they arrive, 64 KiB at a time."""
        key = self._key(path)
        try:
            answer = self._client().get_object(Bucket=self._bucket(), Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise IntegrationError(f"There is no object {key!r} in the bucket.") from None
            raise self._error(exc) from None
        except BotoCoreError as exc:
            raise self._error(exc) from None
        body = answer["Body"]
        try:
            yield self._chunks(body, path)
        finally:
            body.close()

    def _chunks(self, body: Any, path: str) -> Iterator[bytes]:
        try:
            yield from body.iter_chunks(CHUNK)
        except (BotoCoreError, Urllib3Error, OSError) as exc:
            raise IntegrationError(f"Downloading {path!r} failed: {exc}", permanent=False) from None

    def upload(self, path: str, content: IO[bytes], *, size: int, content_type: str = "") -> RemoteEntry:
        """Put the object (multipart past 16 MiB), then read back its entry as a listing shows it."""
        key = self._key(path)
        path = safe_path(path)
        bucket = self._bucket()
        extra = {"ContentType": content_type or mimetypes.guess_type(path)[0] or "application/octet-stream"}
        try:
            client = self._client()
            client.upload_fileobj(content, bucket, key, ExtraArgs=extra, Config=_MULTIPART)
            # The same call as a listing (the exact key sorts first among those it prefixes): same etag, same
            # mtime precision as the next sync will see — a HEAD gives the mtime in whole seconds only.
            answer = client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
        except (IntegrationError, ClientError, BotoCoreError) as exc:
            raise self._error(exc) from None
        items = [item for item in answer.get("Contents", []) if item["Key"] == key]
        if not items:
            raise IntegrationError(f"S3 does not list {key!r} after writing it.", permanent=False)
        return self._entry(items[0], path)

    def delete(self, path: str) -> None:
        """Delete the object, and the objects under it if it names a folder; one already gone is fine."""
        key = self._key(path)
        bucket = self._bucket()
        try:
            client = self._client()
            client.delete_object(Bucket=bucket, Key=key)
            paginator = client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=bucket, Prefix=key + "/"):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
                if keys:
                    client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
        except (IntegrationError, ClientError, BotoCoreError) as exc:
            raise self._error(exc) from None
