"""S3 libraries against a real moto server on loopback (boto3 over HTTP): listing, streaming, faults."""

from __future__ import annotations

import hashlib
import io
import socket
from datetime import UTC
from typing import Any

import pytest

from library.integrations import s3 as s3_module
from library.integrations.base import IntegrationError, ListingFailed, RefusedName, RemoteEntry
from library.integrations.s3 import S3Integration
from tests.library.conftest import S3Server


def put(server: S3Server, key: str, body: bytes = b"") -> None:
    server.client().put_object(Bucket=server.bucket, Key=key, Body=body)


def listed(server: S3Server, key: str) -> dict[str, Any]:
    """The object as the server lists it (what the integration's entry must match)."""
    answer = server.client().list_objects_v2(Bucket=server.bucket, Prefix=key)
    return next(item for item in answer["Contents"] if item["Key"] == key)


@pytest.fixture
def server(s3_server: S3Server) -> S3Server:
    put(s3_server, "docs/a.txt", b"hello")
    put(s3_server, "docs/sub/deeper/b.md", b"# title\n")
    put(s3_server, "docs/sub/c.csv", b"x,y\n")
    put(s3_server, "docs/empty/")  # a folder marker, as consoles write them
    put(s3_server, "docs-old/not-mine.txt", b"x")
    put(s3_server, "top.txt", b"x")
    return s3_server


def bucket(server: S3Server, prefix: str = "docs", **changes: Any) -> S3Integration:
    return S3Integration(server.config(prefix, **changes))


def test_listing_shows_files_and_folders_from_key_prefixes(server: S3Server) -> None:
    listing = bucket(server).listing()

    a, b, c = (listed(server, f"docs/{name}") for name in ("a.txt", "sub/deeper/b.md", "sub/c.csv"))
    marker = listed(server, "docs/empty/")
    assert listing.entries == [
        RemoteEntry(
            "a.txt", 5, a["LastModified"].astimezone(UTC), hashlib.md5(b"hello").hexdigest(), False, "text/plain"
        ),
        RemoteEntry("empty", 0, marker["LastModified"].astimezone(UTC), "", True),
        RemoteEntry("sub", 0, None, "", True),
        RemoteEntry(
            "sub/c.csv", 4, c["LastModified"].astimezone(UTC), hashlib.md5(b"x,y\n").hexdigest(), False, "text/csv"
        ),
        RemoteEntry("sub/deeper", 0, None, "", True),
        RemoteEntry(
            "sub/deeper/b.md",
            8,
            b["LastModified"].astimezone(UTC),
            hashlib.md5(b"# title\n").hexdigest(),
            False,
            "text/markdown",
        ),
    ]
    assert listing.refused == []
    assert a["LastModified"].tzinfo is not None


def test_the_whole_bucket_without_a_prefix(server: S3Server) -> None:
    paths = [entry.path for entry in bucket(server, "").listing().entries]

    assert paths == [
        "docs",
        "docs-old",
        "docs-old/not-mine.txt",
        "docs/a.txt",
        "docs/empty",
        "docs/sub",
        "docs/sub/c.csv",
        "docs/sub/deeper",
        "docs/sub/deeper/b.md",
        "top.txt",
    ]


def test_keys_that_would_escape_are_refused(server: S3Server) -> None:
    # given keys no file system would take as they are
    for key in (
        "docs/../escape.txt",
        "docs//absolute.txt",
        "docs/back\\slash",
        "docs/ctl\x01.txt",
        "docs/a//b",
        "docs/sub/./../x",
    ):
        put(server, key, b"x")
    put(server, "docs/clash", b"a file")
    put(server, "docs/clash/inner.txt", b"and a folder")

    listing = bucket(server).listing()

    assert [entry.path for entry in listing.entries] == [
        "a.txt",
        "clash",
        "clash/inner.txt",
        "empty",
        "sub",
        "sub/c.csv",
        "sub/deeper",
        "sub/deeper/b.md",
    ]
    assert next(e for e in listing.entries if e.path == "clash").directory is True
    assert listing.refused == [
        RefusedName("../escape.txt", "it contains '..'"),
        RefusedName("/absolute.txt", "it is an absolute path"),
        RefusedName("a//b", "it has an empty segment"),
        RefusedName("back\\slash", "it contains a backslash"),
        RefusedName("ctl\x01.txt", "it contains the control character U+0001"),
        RefusedName("sub/./../x", "it contains '..'"),
        RefusedName("clash", "a folder has the same name"),
    ]


def test_a_listing_failing_on_a_later_page_fails_whole(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    # given pages of two keys, and a server failing from the second page on
    monkeypatch.setattr(s3_module, "PAGE_SIZE", 2)
    server.fail_listing_after(1)

    with pytest.raises(ListingFailed) as caught:
        bucket(server).listing()

    assert caught.value.message == "S3 answered InternalError: We encountered an internal error."
    assert caught.value.permanent is False


def test_a_listing_in_many_pages_is_complete(server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_module, "PAGE_SIZE", 2)

    paths = [entry.path for entry in bucket(server).listing().entries]

    assert paths == ["a.txt", "empty", "sub", "sub/c.csv", "sub/deeper", "sub/deeper/b.md"]


def test_download_streams_in_chunks_of_64_kib(server: S3Server) -> None:
    put(server, "docs/big.bin", bytes(range(256)) * 800)  # 204,800 bytes

    with bucket(server).download("big.bin") as chunks:
        received = list(chunks)

    assert [len(chunk) for chunk in received] == [65536, 65536, 65536, 8192]
    assert b"".join(received) == bytes(range(256)) * 800


def test_download_of_a_missing_object_or_an_escaping_path_is_an_error(server: S3Server) -> None:
    with pytest.raises(IntegrationError) as missing, bucket(server).download("nope.txt"):
        pass
    with pytest.raises(IntegrationError) as escaping, bucket(server).download("../top.txt"):
        pass

    assert missing.value.message == "There is no object 'docs/nope.txt' in the bucket."
    assert escaping.value.message == "Refusing path '../top.txt': it contains '..'."


def test_upload_and_the_next_listing_shows_the_same_entry(server: S3Server) -> None:
    integration = bucket(server)

    entry = integration.upload("new/inner/c.csv", io.BytesIO(b"a,b\n"), size=4, content_type="text/csv")

    head = server.client().head_object(Bucket=server.bucket, Key="docs/new/inner/c.csv")
    assert head["ContentType"] == "text/csv"
    assert (entry.path, entry.size, entry.etag, entry.directory) == (
        "new/inner/c.csv",
        4,
        head["ETag"].strip('"'),
        False,
    )
    entries = {e.path: e for e in integration.listing().entries}
    assert entries["new/inner/c.csv"] == entry
    assert entries["new"].directory and entries["new/inner"].directory


def test_a_big_upload_goes_in_parts_and_its_etag_is_no_md5(server: S3Server) -> None:
    content = b"0123456789abcdef" * (17 * 1024 * 1024 // 16)  # 17 MiB: two parts
    integration = bucket(server)

    entry = integration.upload("big.bin", io.BytesIO(content), size=len(content))

    assert entry.size == len(content)
    assert entry.etag.endswith("-2")  # a multipart ETag: the parts' digests, not the content's
    assert entry.etag != hashlib.md5(content).hexdigest()
    assert next(e for e in integration.listing().entries if e.path == "big.bin") == entry
    with integration.download("big.bin") as chunks:
        assert hashlib.sha256(b"".join(chunks)).digest() == hashlib.sha256(content).digest()


def test_delete_removes_objects_and_folders_and_a_missing_one_is_fine(server: S3Server) -> None:
    integration = bucket(server)

    integration.delete("a.txt")
    integration.delete("a.txt")
    integration.delete("sub")

    keys = [item["Key"] for item in server.client().list_objects_v2(Bucket=server.bucket)["Contents"]]
    assert keys == ["docs-old/not-mine.txt", "docs/empty/", "top.txt"]


def test_delete_refuses_escaping_paths(server: S3Server) -> None:
    with pytest.raises(IntegrationError) as caught:
        bucket(server).delete("../top.txt")

    assert caught.value.message == "Refusing path '../top.txt': it contains '..'."
    assert listed(server, "top.txt")["Size"] == 1


def test_test_lists_the_bucket(server: S3Server) -> None:
    result = bucket(server).test()

    assert (result.success, result.message) == (True, "Listed the bucket: 4 objects.")
    assert result.latency is not None


def test_test_with_checked_credentials(server: S3Server) -> None:
    # given a server that checks keys and signatures
    server.require_credentials()
    wrong_secret = server.config("docs")
    wrong_secret.secrets["secretAccessKey"] = "not-the-secret"

    # when
    results = [
        S3Integration(server.config("docs")).test(),
        S3Integration(wrong_secret).test(),
        S3Integration(server.config("docs", accessKeyId="AKIAUNKNOWN0000000")).test(),
        S3Integration(server.config("docs", bucket="no-such-bucket")).test(),
    ]

    # then
    assert [(r.success, r.message) for r in results] == [
        (True, "Listed the bucket: 4 objects."),
        (False, "The secret access key was refused (SignatureDoesNotMatch)."),
        (False, "The access key ID was refused (InvalidAccessKeyId)."),
        (False, "There is no bucket 'no-such-bucket' (NoSuchBucket)."),
    ]


def test_without_an_access_key_requests_go_unsigned_not_with_the_environments_keys(
    server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the service's own (valid) keys in the environment, and a library with none
    server.require_credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", server.secret_access_key)

    result = S3Integration(server.config("docs", accessKeyId="")).test()

    assert result.success is False


def test_wrong_credentials_fail_the_listing(server: S3Server) -> None:
    server.require_credentials()
    config = server.config("docs")
    config.secrets["secretAccessKey"] = "not-the-secret"

    with pytest.raises(ListingFailed) as caught:
        S3Integration(config).listing()

    assert (caught.value.message, caught.value.permanent) == (
        "The secret access key was refused (SignatureDoesNotMatch).",
        True,
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_endpoint_is_a_failed_test_and_a_failed_listing(server: S3Server) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"

    result = bucket(server, endpointUrl=endpoint).test()
    with pytest.raises(ListingFailed) as caught:
        bucket(server, endpointUrl=endpoint).listing()

    assert (result.success, result.message) == (False, f"Could not connect to the endpoint {endpoint}.")
    assert caught.value.message == f"Could not connect to the endpoint {endpoint}."
    assert caught.value.permanent is False


def test_a_refused_endpoint_is_a_failed_test(server: S3Server, settings: Any) -> None:
    settings.INFORMER_OUTBOUND_ALLOW = []

    result = bucket(server).test()

    assert (result.success, result.message) == (
        False,
        "Refusing to connect to 127.0.0.1 (loopback address) for host '127.0.0.1'; add 127.0.0.1 to "
        "INFORMER_OUTBOUND_ALLOW to allow it.",
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"bucket": ""}, "settings.bucket", "Give the bucket's name."),
        ({"bucket": "ab"}, "settings.bucket", "Refusing bucket name 'ab': it must be 3 to 63 characters long."),
        (
            {"bucket": "My_Bucket"},
            "settings.bucket",
            "Refusing bucket name 'My_Bucket': it may hold only lowercase letters, digits, dots and hyphens, and "
            "begin and end with a letter or digit.",
        ),
        (
            {"bucket": "a..b"},
            "settings.bucket",
            "Refusing bucket name 'a..b': dots may not be next to each other or to a hyphen.",
        ),
        (
            {"bucket": "192.168.1.1"},
            "settings.bucket",
            "Refusing bucket name '192.168.1.1': it may not look like an IP address.",
        ),
        (
            {"bucket": "xn--bucket"},
            "settings.bucket",
            "Refusing bucket name 'xn--bucket': it uses a prefix or suffix S3 reserves.",
        ),
        ({"prefix": "../up"}, "settings.prefix", "Refusing prefix '../up': it contains '..'."),
        ({"prefix": "a\x00b"}, "settings.prefix", "Refusing prefix 'a\\x00b': it contains a NUL character."),
        ({"region": "eu central"}, "settings.region", "Refusing region 'eu central': it is not a region name."),
        (
            {"endpointUrl": "ftp://127.0.0.1/"},
            "settings.endpointUrl",
            "Refusing endpoint 'ftp://127.0.0.1/': only http and https are allowed.",
        ),
        (
            {"endpointUrl": "http://k:s@127.0.0.1/"},
            "settings.endpointUrl",
            "Refusing endpoint 'http://k:s@127.0.0.1/': it may not carry credentials, a query or a fragment.",
        ),
        (
            {"endpointUrl": "http://169.254.169.254/"},
            "settings.endpointUrl",
            "Refusing to connect to 169.254.169.254 (cloud metadata address) for host '169.254.169.254'; "
            "add 169.254.169.254 to INFORMER_OUTBOUND_ALLOW to allow it.",
        ),
        (
            {"endpointUrl": "http://192.168.0.10:9000"},
            "settings.endpointUrl",
            "Refusing to connect to 192.168.0.10 (private address) for host '192.168.0.10'; "
            "add 192.168.0.10 to INFORMER_OUTBOUND_ALLOW to allow it.",
        ),
    ],
)
def test_validate_refuses(server: S3Server, changes: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(IntegrationError) as caught:
        bucket(server, **changes).validate()

    assert (caught.value.field, caught.value.message) == (field, message)


def test_validate_accepts_the_loopback_server_once_allowed_and_aws_without_an_endpoint(server: S3Server) -> None:
    bucket(server).validate()
    bucket(server, endpointUrl="", region="eu-central-1", bucket="my.bucket-2024").validate()


def test_a_request_to_another_host_than_the_endpoint_is_stopped_before_it_is_sent(server: S3Server) -> None:
    client = bucket(server)._client()

    class Request:
        url = f"http://elsewhere.example/{server.bucket}/docs/a.txt"

    with pytest.raises(IntegrationError) as caught:
        client.meta.events.emit("before-send.s3.GetObject", request=Request())

    assert caught.value.message == "Refusing a request to another host than the endpoint's (127.0.0.1)."
