"""WebDAV libraries against a real wsgidav server on loopback: listing, streaming, write-through, faults."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from library.integrations.base import IntegrationError, ListingFailed, RefusedName, RemoteEntry
from library.integrations.webdav import WebdavIntegration
from tests.library.conftest import WebdavServer

MTIME = 1_700_000_000


def write(path: Path, content: bytes, mtime: int = MTIME) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (mtime, mtime))


def etag(path: Path) -> str:
    info = path.stat()
    return f"{info.st_ino}-{int(info.st_mtime)}-{info.st_size}"  # how wsgidav's file system provider marks files


@pytest.fixture
def server(webdav_server: WebdavServer) -> WebdavServer:
    folder = webdav_server.folder / "docs"
    write(folder / "a.txt", b"hello")
    write(folder / "sub" / "deeper" / "b.md", b"# title\n", mtime=MTIME + 100)
    write(folder / "sub" / "c.csv", b"x,y\n", mtime=MTIME + 200)
    return webdav_server


def dav(server: WebdavServer, root: str = "docs", **changes: Any) -> WebdavIntegration:
    return WebdavIntegration(server.config(root, **changes))


@pytest.mark.parametrize("infinity", [True, False], ids=["depth-infinity", "depth-1-walk"])
def test_listing_shows_nested_folders_with_sizes_mtimes_and_etags(server: WebdavServer, infinity: bool) -> None:
    # given a server that does (or does not) answer "Depth: infinity"
    server.faults.refuse_infinity = not infinity
    docs = server.folder / "docs"

    # when
    listing = dav(server).listing()

    # then
    files = {entry.path: entry for entry in listing.entries if not entry.directory}
    assert files == {
        "a.txt": RemoteEntry(
            "a.txt", 5, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC), etag(docs / "a.txt"), False, "text/plain"
        ),
        "sub/c.csv": RemoteEntry(
            "sub/c.csv", 4, datetime(2023, 11, 14, 22, 16, 40, tzinfo=UTC), etag(docs / "sub/c.csv"), False, "text/csv"
        ),
        "sub/deeper/b.md": RemoteEntry(
            "sub/deeper/b.md",
            8,
            datetime(2023, 11, 14, 22, 15, tzinfo=UTC),
            etag(docs / "sub/deeper/b.md"),
            False,
            "text/markdown",
        ),
    }
    assert [(e.path, e.size, e.etag) for e in listing.entries if e.directory] == [("sub", 0, ""), ("sub/deeper", 0, "")]
    assert [e.path for e in listing.entries] == ["a.txt", "sub", "sub/c.csv", "sub/deeper", "sub/deeper/b.md"]
    assert listing.refused == []
    expected = ["infinity"] if infinity else ["infinity", "1", "1", "1"]
    assert server.faults.propfinds == expected


def test_names_that_would_escape_are_refused(server: WebdavServer) -> None:
    # given names on the server's disk that no other system would take as they are
    docs = server.folder / "docs"
    write(docs / "back\\slash.txt", b"x")
    write(docs / "sub" / "line\nbreak.txt", b"x")

    listing = dav(server).listing()

    assert [e.path for e in listing.entries] == ["a.txt", "sub", "sub/c.csv", "sub/deeper", "sub/deeper/b.md"]
    assert listing.refused == [
        RefusedName("back\\slash.txt", "it contains a backslash"),
        RefusedName("sub/line\nbreak.txt", "it contains the control character U+000A"),
    ]


def multistatus(*hrefs: str) -> bytes:
    responses = "".join(
        f"<d:response><d:href>{href}</d:href><d:propstat><d:prop><d:resourcetype/><d:getcontentlength>3"
        "</d:getcontentlength></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>"
        for href in hrefs
    )
    return f'<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">{responses}</d:multistatus>'.encode()


def test_hrefs_a_server_makes_up_to_escape_are_refused(server: WebdavServer) -> None:
    # given a server answering with hrefs that leave the library's folder
    server.faults.propfind_body = multistatus(
        "/dav/docs/",
        "/dav/docs/ok.txt",
        "http://elsewhere.example/dav/docs/also-ok.txt",
        "/dav/docs/../../etc/passwd",
        "/dav/docs/%2e%2e/secret",
        "/dav/other/x.txt",
        "/etc/passwd",
        "/dav/docs/nul%00.txt",
        "/dav/docs/a%5Cb",
        "/dav/docs//twice",
    )

    listing = dav(server).listing()

    assert [(e.path, e.size) for e in listing.entries] == [("also-ok.txt", 3), ("ok.txt", 3)]
    assert listing.refused == [
        RefusedName("../../etc/passwd", "it contains '..'"),
        RefusedName("../secret", "it contains '..'"),
        RefusedName("/dav/other/x.txt", "it is outside the library's folder"),
        RefusedName("/etc/passwd", "it is outside the library's folder"),
        RefusedName("nul\x00.txt", "it contains a NUL character"),
        RefusedName("a\\b", "it contains a backslash"),
        RefusedName("/twice", "it is an absolute path"),
    ]


def test_download_streams_in_chunks_of_64_kib(server: WebdavServer) -> None:
    write(server.folder / "docs" / "big.bin", bytes(range(256)) * 800)  # 204,800 bytes

    with dav(server).download("big.bin") as chunks:
        received = list(chunks)

    assert [len(chunk) for chunk in received] == [65536, 65536, 65536, 8192]
    assert b"".join(received) == bytes(range(256)) * 800


def test_a_connection_dropped_mid_download_is_an_error(server: WebdavServer) -> None:
    write(server.folder / "docs" / "big.bin", b"z" * 200_000)
    server.faults.drop_get_after = 70_000

    with pytest.raises(IntegrationError) as caught, dav(server).download("big.bin") as chunks:
        for _ in chunks:
            pass

    assert caught.value.message.startswith("Downloading 'big.bin' failed: The answer of ")
    assert "IncompleteRead(70000 bytes read, 130000 more expected)" in caught.value.message
    assert caught.value.permanent is False


def test_download_of_a_missing_file_or_an_escaping_path_is_an_error(server: WebdavServer) -> None:
    with pytest.raises(IntegrationError) as missing, dav(server).download("nope.txt"):
        pass
    with pytest.raises(IntegrationError) as escaping, dav(server).download("../secret.txt"):
        pass

    assert (missing.value.message, missing.value.permanent) == ("The server has no file 'nope.txt' (HTTP 404).", True)
    assert escaping.value.message == "Refusing path '../secret.txt': it contains '..'."


def test_upload_creates_folders_and_the_next_listing_shows_the_same_entry(server: WebdavServer) -> None:
    integration = dav(server)

    entry = integration.upload("new/inner/c.bin", io.BytesIO(b"q" * 150_000), size=150_000, content_type="text/csv")

    written = server.folder / "docs" / "new" / "inner" / "c.bin"
    assert written.read_bytes() == b"q" * 150_000
    assert (entry.path, entry.size, entry.etag, entry.directory) == ("new/inner/c.bin", 150_000, etag(written), False)
    listed = {e.path: e for e in integration.listing().entries}
    assert listed["new/inner/c.bin"] == entry
    assert listed["new"].directory and listed["new/inner"].directory


def test_upload_replaces_a_file_and_its_etag_changes(server: WebdavServer) -> None:
    integration = dav(server)
    before = next(e for e in integration.listing().entries if e.path == "a.txt")

    entry = integration.upload("a.txt", io.BytesIO(b"changed, longer"), size=15)

    assert (server.folder / "docs" / "a.txt").read_bytes() == b"changed, longer"
    assert entry.size == 15 and entry.etag != before.etag


def test_upload_refuses_escaping_paths_and_short_content(server: WebdavServer) -> None:
    with pytest.raises(IntegrationError) as escaping:
        dav(server).upload("../x.txt", io.BytesIO(b"x"), size=1)
    with pytest.raises(IntegrationError) as short:
        dav(server).upload("short.txt", io.BytesIO(b"abc"), size=10)

    assert escaping.value.message == "Refusing path '../x.txt': it contains '..'."
    assert short.value.message == "The content ended 7 bytes before its announced size."
    assert not (server.folder / "x.txt").exists()


def test_delete_removes_files_and_folders_and_a_missing_one_is_fine(server: WebdavServer) -> None:
    integration = dav(server)

    integration.delete("a.txt")
    integration.delete("a.txt")
    integration.delete("sub")

    assert list((server.folder / "docs").iterdir()) == []


def test_test_lists_the_folder(server: WebdavServer) -> None:
    result = dav(server).test()

    assert (result.success, result.message) == (True, "Listed the folder: 2 entries at its top.")
    assert result.latency is not None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"root": "docs", "username": "reader", "password": "wrong"},
            "The server refused the username or password (HTTP 401).",
        ),
        ({"root": "missing"}, "The server has no library folder (HTTP 404)."),
        (
            {"root": "docs", "url": "ftp://127.0.0.1/dav/"},
            "Refusing URL 'ftp://127.0.0.1/dav/': only http and https are allowed.",
        ),
    ],
)
def test_test_failures_are_answers_not_exceptions(server: WebdavServer, changes: dict[str, str], message: str) -> None:
    config = server.config(changes.pop("root"), **{k: v for k, v in changes.items() if k != "password"})
    if "password" in changes:
        config.secrets["password"] = changes["password"]

    result = WebdavIntegration(config).test()

    assert (result.success, result.message, result.latency) == (False, message, None)


def test_test_of_a_server_gone_away_or_a_refused_host(server: WebdavServer, settings: Any) -> None:
    server.stop()
    gone = dav(server).test()
    settings.INFORMER_OUTBOUND_ALLOW = []
    refused = dav(server).test()

    assert gone.success is False and gone.message.startswith(f"Request to {server.url}docs/ failed: ")
    assert refused.success is False
    assert refused.message == (
        "Refusing to connect to 127.0.0.1 (loopback address) for host '127.0.0.1'; add 127.0.0.1 to "
        "INFORMER_OUTBOUND_ALLOW to allow it."
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"url": ""}, "settings.url", "Give the server's WebDAV URL."),
        (
            {"url": "file:///etc/passwd"},
            "settings.url",
            "Refusing URL 'file:///etc/passwd': only http and https are allowed.",
        ),
        (
            {"url": "http://me:pw@127.0.0.1/dav/"},
            "settings.url",
            "Refusing URL 'http://me:pw@127.0.0.1/dav/': give the username and password in their own fields, "
            "not in the URL.",
        ),
        (
            {"url": "http://127.0.0.1/dav/?x=1"},
            "settings.url",
            "Refusing URL 'http://127.0.0.1/dav/?x=1': it may not have a query or fragment.",
        ),
        (
            {"url": "http://127.0.0.1:99999/"},
            "settings.url",
            "Refusing URL 'http://127.0.0.1:99999/': Port out of range 0-65535.",
        ),
        (
            {"url": "http://169.254.169.254/"},
            "settings.url",
            "Refusing to connect to 169.254.169.254 (cloud metadata address) for host '169.254.169.254'; "
            "add 169.254.169.254 to INFORMER_OUTBOUND_ALLOW to allow it.",
        ),
        (
            {"url": "http://10.1.2.3/dav/"},
            "settings.url",
            "Refusing to connect to 10.1.2.3 (private address) for host '10.1.2.3'; "
            "add 10.1.2.3 to INFORMER_OUTBOUND_ALLOW to allow it.",
        ),
        ({"root": "../up"}, "settings.root", "Refusing folder '../up': it contains '..'."),
        ({"root": "a\\b"}, "settings.root", "Refusing folder 'a\\\\b': it contains a backslash."),
    ],
)
def test_validate_refuses(server: WebdavServer, changes: dict[str, str], field: str, message: str) -> None:
    integration = WebdavIntegration(server.config(**{"root": "docs", **changes}))

    with pytest.raises(IntegrationError) as caught:
        integration.validate()

    assert (caught.value.field, caught.value.message) == (field, message)


def test_validate_passes_the_loopback_server_once_allowed_and_refuses_it_otherwise(
    server: WebdavServer, settings: Any
) -> None:
    dav(server).validate()
    settings.INFORMER_OUTBOUND_ALLOW = []

    with pytest.raises(IntegrationError) as caught:
        dav(server).validate()

    assert caught.value.field == "settings.url"
    assert caught.value.message.startswith("Refusing to connect to 127.0.0.1 (loopback address)")


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (500, "The server answered HTTP 500 (Internal Server Error) for the library folder."),
        (507, "The server answered HTTP 507 (Insufficient Storage) for the library folder."),
    ],
)
def test_a_failing_propfind_fails_the_listing(server: WebdavServer, status: int, message: str) -> None:
    server.faults.propfind_status = status

    with pytest.raises(ListingFailed) as caught:
        dav(server).listing()

    assert (caught.value.message, caught.value.permanent) == (message, False)


def test_a_folder_failing_half_way_through_the_walk_fails_the_whole_listing(server: WebdavServer) -> None:
    # given a server without "Depth: infinity" whose third PROPFIND (the first subfolder) fails
    server.faults.refuse_infinity = True
    server.faults.after = 2
    server.faults.propfind_status = 500

    with pytest.raises(ListingFailed) as caught:
        dav(server).listing()

    assert (
        caught.value.message == "The server answered HTTP 500 (Internal Server Error) for the folder '/dav/docs/sub/'."
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b"<d:multistatus xmlns:d='DAV:'><d:response>",
            "The server's PROPFIND answer is not valid XML (no element found: line 1, column 42).",
        ),
        (b"", "The server's PROPFIND answer is not valid XML (no element found: line 1, column 0)."),
        (b"<html><body>Login</body></html>", "The server's PROPFIND answer is not a WebDAV multistatus."),
        (
            b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><x>&a;</x>",
            "The server's PROPFIND answer declares a DTD; it is not a plain multistatus.",
        ),
        (
            b"<d:multistatus xmlns:d='DAV:'><d:response><d:status>HTTP/1.1 200 OK</d:status></d:response>"
            b"</d:multistatus>",
            "The server's PROPFIND answer has a response without an href.",
        ),
        (multistatus("/dav/docs/x").replace(b">3<", b">lots<"), "The server lists 'x' with the size 'lots'."),
    ],
)
def test_a_malformed_propfind_answer_fails_the_listing(server: WebdavServer, body: bytes, message: str) -> None:
    server.faults.propfind_body = body

    with pytest.raises(ListingFailed) as caught:
        dav(server).listing()

    assert caught.value.message == message


def test_a_server_gone_away_fails_the_listing(server: WebdavServer) -> None:
    server.stop()

    with pytest.raises(ListingFailed) as caught:
        dav(server).listing()

    assert caught.value.message.startswith(f"Request to {server.url}docs/ failed: ")
    assert caught.value.permanent is False


def test_wrong_credentials_fail_the_listing(server: WebdavServer) -> None:
    config = server.config("docs")
    config.secrets["password"] = "wrong"

    with pytest.raises(ListingFailed) as caught:
        WebdavIntegration(config).listing()

    assert (caught.value.message, caught.value.permanent) == (
        "The server refused the username or password (HTTP 401).",
        True,
    )
