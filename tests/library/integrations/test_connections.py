"""A sync talks to its remote over one connection (WebDAV) and one boto3 client (S3), not one per file."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from library.integrations.s3 import S3Integration
from library.integrations.webdav import WebdavIntegration
from library.models import LibraryFile
from library.services.sync import library_sync
from tests.library.conftest import S3Server, WebdavServer
from tests.library.factories import library_from_config

pytestmark = pytest.mark.usefixtures("media")

FILES = 25


def served_connections(server: WebdavServer) -> list[tuple[str, str]]:
    """From now on, (method, client port) of every request the WebDAV server answers."""
    seen: list[tuple[str, str]] = []
    app = server._server.wsgi_app

    def recording(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        seen.append((environ["REQUEST_METHOD"], environ["REMOTE_PORT"]))
        return app(environ, start_response)

    server._server.wsgi_app = recording
    return seen


def test_a_webdav_sync_of_many_files_makes_one_connection(owner: Any, webdav_server: WebdavServer) -> None:
    # given a folder of FILES files
    folder: Path = webdav_server.folder / "docs"
    folder.mkdir()
    for index in range(FILES):
        (folder / f"f{index:03d}.bin").write_bytes(os.urandom(2000))
    library = library_from_config(webdav_server.config(root="docs"), owner=owner, name="Dav", slug="dav")
    seen = served_connections(webdav_server)

    # when
    result = library_sync(library=library)

    # then one PROPFIND and FILES GETs, all over one connection
    assert (result.success, result.added, result.errors) == (True, FILES, [])
    assert [method for method, _ in seen] == ["PROPFIND"] + ["GET"] * FILES
    assert len({port for _, port in seen}) == 1
    assert LibraryFile.objects.filter(library=library, directory=False).exclude(sha256="").count() == FILES


def test_a_webdav_integration_closes_its_connection_and_opens_a_new_one_after(webdav_server: WebdavServer) -> None:
    (webdav_server.folder / "a.txt").write_bytes(b"alpha")
    integration = WebdavIntegration(webdav_server.config())
    seen = served_connections(webdav_server)

    with integration.download("a.txt") as chunks:
        assert b"".join(chunks) == b"alpha"
    integration.close()
    with integration.download("a.txt") as chunks:
        assert b"".join(chunks) == b"alpha"

    assert len({port for _, port in seen}) == 2


def test_an_s3_sync_of_many_files_makes_one_client(
    owner: Any, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a prefix holding FILES objects
    for index in range(FILES):
        s3_server.client().put_object(Bucket=s3_server.bucket, Key=f"docs/f{index:03d}.bin", Body=os.urandom(2000))
    library = library_from_config(s3_server.config(prefix="docs/"), owner=owner, name="Bucket", slug="bucket")
    made: list[S3Integration] = []
    new_client = S3Integration._new_client

    def counting(self: S3Integration) -> Any:
        made.append(self)
        return new_client(self)

    monkeypatch.setattr(S3Integration, "_new_client", counting)

    # when
    result = library_sync(library=library)

    # then
    assert (result.success, result.added, result.errors) == (True, FILES, [])
    assert len(made) == 1
