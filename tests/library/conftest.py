"""Library test fixtures: a library root of the test's own, the real embedder, and real WebDAV and S3 servers on
loopback."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from library.embedding import Embedder, get_embedder
from library.integrations.base import IntegrationConfig
from library.vectors import pgvector_available
from tests.library.searching import MINILM


@pytest.fixture
def local_library_root(settings: Any, tmp_path: Path) -> Path:
    """INFORMER_LIBRARY_ROOT in a folder of this test's own (created, empty)."""
    root = tmp_path / "library-root"
    root.mkdir()
    settings.INFORMER_LIBRARY_ROOT = root
    return root


@pytest.fixture(scope="session")
def minilm() -> Embedder:
    """The real default embedder, loaded once for the session (fails instead of skipping under CI=true)."""
    try:
        with override_settings(INFORMER_EMBEDDER=MINILM):
            return get_embedder()  # kept by get_embedder for the process: later calls under MINILM reuse it
    except Exception as error:  # any failure to load the model is the reason shown
        reason = f"The MiniLM embedder does not load: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def require_pgvector() -> None:
    """Skip unless the database is PostgreSQL with pgvector; a PostgreSQL server without it fails under CI=true."""
    if connection.vendor != "postgresql":
        pytest.skip("pgvector is PostgreSQL only")
    if pgvector_available():
        return
    reason = "the PostgreSQL server has no pgvector extension (.ci/pgvector installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class WebdavFaults:
    """Switches of the fault middleware in front of the WebDAV server; all off by default.

    ``after`` lets that many PROPFIND requests through before a PROPFIND fault applies (a listing that
    breaks off half-way through its folders).
    """

    propfind_status: int | None = None  # answer PROPFIND with this status (500, 507…)
    propfind_body: bytes | None = None  # answer PROPFIND with "207" and this body (malformed XML…)
    drop_get_after: int | None = None  # GET: send this many bytes of the body, then drop the connection
    refuse_infinity: bool = False  # answer "Depth: infinity" with 403, as servers that disable it do
    after: int = 0
    propfinds: list[str] = field(default_factory=list)  # the Depth of every PROPFIND received, in order

    def reset(self) -> None:
        """Every switch off again (the record of PROPFINDs is kept)."""
        self.propfind_status = self.propfind_body = self.drop_get_after = None
        self.refuse_infinity = False
        self.after = 0


class _FaultMiddleware:
    """A WSGI middleware that misbehaves in front of wsgidav when a switch of ``faults`` says so."""

    def __init__(self, app: Callable[..., Iterable[bytes]], faults: WebdavFaults) -> None:
        self.app = app
        self.faults = faults

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        faults = self.faults
        method = environ["REQUEST_METHOD"]
        if method == "PROPFIND":
            depth = environ.get("HTTP_DEPTH", "infinity")
            faults.propfinds.append(depth)
            if faults.refuse_infinity and depth == "infinity":
                start_response("403 Forbidden", [("Content-Type", "text/plain"), ("Content-Length", "0")])
                return [b""]
            if len(faults.propfinds) > faults.after:
                if faults.propfind_status is not None:
                    status = f"{faults.propfind_status} {HTTPStatus(faults.propfind_status).phrase}"
                    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", "6")])
                    return [b"failed"]
                if faults.propfind_body is not None:
                    body = faults.propfind_body
                    headers = [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
                    start_response("207 Multi-Status", headers)
                    return [body]
        if method == "GET" and faults.drop_get_after is not None:
            return self._dropping(environ, start_response, faults.drop_get_after)
        return self.app(environ, start_response)

    def _dropping(self, environ: dict[str, Any], start_response: Callable[..., Any], keep: int) -> Iterator[bytes]:
        sent = 0
        for chunk in self.app(environ, start_response):
            if sent + len(chunk) >= keep:
                yield chunk[: keep - sent]
                # An exception after the headers went out makes cheroot close the connection mid-body.
                raise ConnectionAbortedError("dropped on purpose")
            sent += len(chunk)
            yield chunk


@dataclass
class WebdavServer:
    """A running WebDAV server on loopback: its URL, the folder it serves, credentials and fault switches."""

    url: str  # of the share, ending in "/"
    folder: Path
    username: str
    password: str
    faults: WebdavFaults
    _server: Any

    def config(self, root: str = "", **changes: Any) -> IntegrationConfig:
        """The IntegrationConfig of a webdav library on this server (``changes`` override settings)."""
        settings = {"url": self.url, "username": self.username, "root": root, **changes}
        return IntegrationConfig(type="webdav", settings=settings, secrets={"password": self.password})

    def stop(self) -> None:
        """The server goes away: connections are refused from now on."""
        self._server.stop()


@pytest.fixture
def webdav_server(settings: Any, tmp_path: Path) -> Iterator[WebdavServer]:
    """wsgidav on cheroot over a tmp folder, on a free loopback port, with Basic auth; loopback allowed."""
    from cheroot import wsgi
    from wsgidav.fs_dav_provider import FilesystemProvider
    from wsgidav.wsgidav_app import WsgiDAVApp

    folder = tmp_path / "webdav"
    folder.mkdir()
    config = {
        "host": "127.0.0.1",
        "port": 0,
        "provider_mapping": {"/dav": FilesystemProvider(str(folder))},
        "http_authenticator": {"accept_basic": True, "accept_digest": False, "default_to_digest": False},
        "simple_dc": {"user_mapping": {"*": {"reader": {"password": "s3cret-pass"}}}},
        "verbose": 0,
        "logging": {"enable": False},
        "dir_browser": {"enable": False},
        "lock_storage": True,
        "property_manager": True,
    }
    faults = WebdavFaults()
    server = wsgi.Server(("127.0.0.1", 0), _FaultMiddleware(WsgiDAVApp(config), faults), numthreads=4)
    server.expiration_interval = 0.02  # how long stop() waits for the serving loop to notice
    server.shutdown_timeout = 1
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    settings.INFORMER_OUTBOUND_ALLOW = ["127.0.0.1", "localhost"]
    port = server.bind_addr[1]
    yield WebdavServer(f"http://127.0.0.1:{port}/dav/", folder, "reader", "s3cret-pass", faults, server)
    server.stop()
    thread.join(timeout=5)


@dataclass
class S3Server:
    """A bucket of its own on the moto S3 server on loopback: endpoint, bucket, keys and fault switches."""

    endpoint: str
    bucket: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"

    def client(self) -> Any:
        """A boto3 client on the server, for tests to arrange and inspect objects (one per pair of keys)."""
        import boto3

        keys = (self.access_key_id, self.secret_access_key)
        if keys not in _S3_CLIENTS:
            _S3_CLIENTS[keys] = boto3.client(
                "s3",
                endpoint_url=self.endpoint,
                region_name=self.region,
                aws_access_key_id=keys[0],
                aws_secret_access_key=keys[1],
            )
        return _S3_CLIENTS[keys]

    def config(self, prefix: str = "", **changes: Any) -> IntegrationConfig:
        """The IntegrationConfig of an s3 library on this bucket (``changes`` override settings)."""
        settings = {
            "bucket": self.bucket,
            "prefix": prefix,
            "region": self.region,
            "endpointUrl": self.endpoint,
            "accessKeyId": self.access_key_id,
            **changes,
        }
        return IntegrationConfig(type="s3", settings=settings, secrets={"secretAccessKey": self.secret_access_key})

    def require_credentials(self) -> None:
        """From now on the server checks keys and signatures; this server's keys become a real IAM user's."""
        import boto3
        from moto import settings as moto_settings

        iam = boto3.client(
            "iam", endpoint_url=self.endpoint, region_name=self.region, aws_access_key_id="x", aws_secret_access_key="x"
        )
        user = f"library-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=user)
        document = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
        iam.put_user_policy(UserName=user, PolicyName="s3", PolicyDocument=document)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        self.access_key_id, self.secret_access_key = key["AccessKeyId"], key["SecretAccessKey"]
        moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = 0

    def fail_listing_after(self, pages: int) -> None:
        """List requests after the first ``pages`` answer 500 InternalError (a listing broken off mid-way)."""
        from moto.s3.responses import S3Response

        original = S3Response.list_objects_v2
        calls = [0]

        def failing(response: Any) -> Any:
            calls[0] += 1
            if calls[0] > pages:
                body = "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>"
                return 500, {"Content-Type": "application/xml"}, body
            return original(response)

        _S3_PATCHES.append((S3Response, "list_objects_v2", original))
        setattr(S3Response, "list_objects_v2", failing)  # noqa: B010 - a method swapped on the server's class


_S3_PATCHES: list[tuple[Any, str, Any]] = []
_S3_CLIENTS: dict[tuple[str, str], Any] = {}  # making a boto3 client takes a while


@pytest.fixture(scope="session")
def _moto_server() -> Iterator[str]:
    """One moto server for the session (its state is in this process); its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_server(settings: Any, _moto_server: str) -> Iterator[S3Server]:
    """A fresh bucket on the moto S3 server (talked to over HTTP through boto3); loopback allowed."""
    from moto import settings as moto_settings

    no_auth = moto_settings.INITIAL_NO_AUTH_ACTION_COUNT
    server = S3Server(_moto_server, f"library-{uuid.uuid4().hex[:12]}", "testing-key", "testing-secret")
    server.client().create_bucket(Bucket=server.bucket)
    settings.INFORMER_OUTBOUND_ALLOW = ["127.0.0.1", "localhost"]
    yield server
    moto_settings.INITIAL_NO_AUTH_ACTION_COUNT = no_auth
    while _S3_PATCHES:
        owner, name, original = _S3_PATCHES.pop()
        setattr(owner, name, original)
