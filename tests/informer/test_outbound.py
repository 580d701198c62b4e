"""Tests for the guarded outbound HTTP path (informer.outbound); no database, no Django settings needed."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3

from informer import outbound
from informer.outbound import OutboundBlocked, OutboundError, check_url, outbound_request

PUBLIC_IP = "93.184.215.14"  # a globally routable address; tests never really connect to it

# Host names answered by the fake resolver installed by the `guarded_network` fixture.
FAKE_DNS: dict[str, list[str]] = {"intranet.example.test": ["10.1.2.3"]}

# (url, words the refusal reason must contain). Importable by the modules testing other callers
# (api-call job type, webhook action): use them together with the `guarded_network` fixture.
REFUSED_URLS: list[tuple[str, str]] = [
    ("http://127.0.0.1/", "loopback"),
    ("http://localhost/", "loopback"),
    ("http://localhost:8000/admin/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://user@127.0.0.1/", "loopback"),
    ("http://user:secret@localhost:8080/", "loopback"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://10.0.0.1/", "private"),
    ("https://10.0.0.1:8443/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://[fc00::1]/", "private"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://[2002:a00:1::]/", "private"),  # 6to4 around 10.0.0.1
    ("http://[64:ff9b::7f00:1]/", "loopback"),  # NAT64 around 127.0.0.1
    ("http://intranet.example.test/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
    ("http://[fd00:ec2::254]/", "cloud metadata"),
    ("http://100.100.100.200/latest/meta-data/", "cloud metadata"),
    ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata"),
    ("http://169.254.1.1/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://100.64.0.1/", "shared address space"),
    ("http://224.0.0.1/", "multicast"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://192.0.2.10/", "non-public"),
    ("file:///etc/passwd", "scheme"),
    ("ftp://example.com/", "scheme"),
    ("gopher://example.com:70/_x", "scheme"),
    ("dict://127.0.0.1:11211/stat", "scheme"),
    ("javascript:alert(1)", "scheme"),
    ("//example.com/no-scheme", "scheme"),
    ("http:///no-host", "no host"),
]


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Answer names in `table` (one answer per call, the last repeats); resolve the rest for real."""
    real = socket.getaddrinfo
    state = SimpleNamespace(table={}, calls=[])

    def getaddrinfo(host, port, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in state.table:
            return real(host, port, *args, **kwargs)
        state.calls.append(name)
        answers = state.table[name]
        ips = answers.pop(0) if len(answers) > 1 else answers[0]
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0))
            if ":" in ip
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))
            for ip in ips
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return state


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Record every outgoing TCP connect; addresses in `refuse` (or all, if `refuse_all`) are refused."""
    real = socket.socket.connect
    state = SimpleNamespace(seen=[], refuse=set(), refuse_all=False)

    def connect(sock, address):
        state.seen.append(address[:2])
        if state.refuse_all or address[0] in state.refuse:
            raise ConnectionRefusedError(111, "refused by test")
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    return state


@pytest.fixture
def guarded_network(fake_dns: SimpleNamespace, connects: SimpleNamespace) -> SimpleNamespace:
    """Fake DNS for FAKE_DNS names and no real connections at all; `.seen` lists attempted connects."""
    fake_dns.table.update({name: [ips] for name, ips in FAKE_DNS.items()})
    connects.refuse_all = True
    return connects


@pytest.fixture(params=["outbound_request", "check_url"])
def send(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """A caller that must refuse every REFUSED_URLS entry by raising OutboundBlocked."""
    callers = {
        "outbound_request": lambda url: outbound_request("GET", url, allow_hosts=[]),
        "check_url": lambda url: check_url(url, allow_hosts=[]),
    }
    return callers[request.param]


@dataclass
class Seen:
    """A request as received by the test server."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    """Handle on the threaded test server."""

    port: int
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        """Absolute URL of `path` on this server."""
        return f"http://{host}:{self.port}{path}"


class Handler(BaseHTTPRequestHandler):
    """Routes: /hello, /echo, /big, /slow, /redirect/N, /loop, /to?code=&url=, /headers."""

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            if parts.path == "/hello":
                self._reply(200, b"hello world", {"X-Test": "yes", "Content-Type": "text/plain"})
            elif parts.path == "/echo":
                self._reply(200, body, {"X-Method": self.command})
            elif parts.path == "/big":
                size = int(query.get("size", 2 * 1024 * 1024))
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                for start in range(0, size, 65536):
                    self.wfile.write(b"x" * min(65536, size - start))
            elif parts.path == "/slow":  # every byte arrives quickly, the whole body never does in time
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                for _ in range(100):
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(0.05)
            elif parts.path.startswith("/redirect/"):
                left = int(parts.path.rsplit("/", 1)[1])
                if left:
                    self._reply(302, headers={"Location": f"/redirect/{left - 1}"})
                else:
                    self._reply(200, b"done")
            elif parts.path == "/loop":
                self._reply(302, headers={"Location": "/loop"})
            elif parts.path == "/to":
                self._reply(int(query.get("code", 302)), headers={"Location": query["url"]})
            else:
                self._reply(404, b"not found")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose (size cap, timeout)

    do_GET = do_POST = do_PUT = do_HEAD = _handle


def _serve(httpd: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def server() -> Iterator[LocalServer]:
    """A plain HTTP server on 127.0.0.1 and an ephemeral port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    handle = LocalServer(port=httpd.server_address[1])
    httpd.seen = handle.seen
    for _ in _serve(httpd):
        yield handle


@pytest.fixture
def other_server() -> Iterator[LocalServer]:
    """A second plain HTTP server: another port on 127.0.0.1 is another origin."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    handle = LocalServer(port=httpd.server_address[1])
    httpd.seen = handle.seen
    for _ in _serve(httpd):
        yield handle


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Self-signed certificate for secure.test (it also serves as the only trusted CA)."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl command not available")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", key, "-out", cert, "-subj", "/CN=secure.test"),
            *("-addext", "subjectAltName=DNS:secure.test"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[SimpleNamespace]:
    """HTTPS server on 127.0.0.1 that records the SNI names it was offered."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: names.append(name)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.handle_error = lambda *args: None  # failed handshakes are expected in one test
    httpd.seen = []
    monkeypatch.setattr(outbound, "_CA_BUNDLE", certificate[0])
    for _ in _serve(httpd):
        yield SimpleNamespace(port=httpd.server_address[1], sni=names, seen=httpd.seen)


# ------------------------------------------------------------------------------------------ refusals


@pytest.mark.parametrize(("url", "reason"), REFUSED_URLS)
def test_refused_urls(send, guarded_network, url: str, reason: str) -> None:
    with pytest.raises(OutboundBlocked) as info:
        send(url)
    assert reason in info.value.reason
    assert info.value.url == url
    assert guarded_network.seen == []  # refused before any connection attempt


def test_reason_names_host_and_address() -> None:
    with pytest.raises(OutboundBlocked) as info:
        check_url("http://localhost/", allow_hosts=[])
    assert info.value.reason == (
        "Refusing to connect to 127.0.0.1 (loopback address) for host 'localhost'; "
        "add 'localhost' or 127.0.0.1 to the allow list to allow it."
    )


def test_one_bad_address_refuses_the_host(fake_dns) -> None:
    fake_dns.table["mixed.test"] = [[PUBLIC_IP, "10.0.0.5"]]
    with pytest.raises(OutboundBlocked, match=r"10\.0\.0\.5 \(private address\) for host 'mixed.test'"):
        check_url("https://mixed.test/", allow_hosts=[])


def test_check_url_returns_the_validated_addresses(fake_dns) -> None:
    fake_dns.table["public.test"] = [[PUBLIC_IP, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]]
    assert check_url(f"http://{PUBLIC_IP}/x", allow_hosts=[]) == [PUBLIC_IP]
    assert check_url("https://public.test/", allow_hosts=[]) == [
        PUBLIC_IP,
        "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    ]


def test_unresolvable_host_is_an_error_not_a_refusal(monkeypatch) -> None:
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(OutboundError, match="Could not resolve") as info:
        check_url("http://does-not-exist.invalid/", allow_hosts=[])
    assert not isinstance(info.value, OutboundBlocked)


def test_allow_list_by_name_ip_and_cidr(fake_dns) -> None:
    fake_dns.table["svc.test."] = [["10.1.1.1"]]
    assert check_url("http://SVC.Test./", allow_hosts=["svc.test"]) == ["10.1.1.1"]  # case, trailing dot
    assert check_url("http://LOCALHOST/", allow_hosts=["localhost"]) == ["127.0.0.1"]
    assert check_url("http://127.0.0.1:8000/", allow_hosts=["127.0.0.1"]) == ["127.0.0.1"]
    assert check_url("http://10.20.30.40/", allow_hosts=["10.0.0.0/8"]) == ["10.20.30.40"]
    assert check_url("http://[::1]/", allow_hosts=["[::1]"]) == ["::1"]
    assert check_url("http://127.0.0.1/", allow_hosts="127.0.0.1") == ["127.0.0.1"]  # bare string
    with pytest.raises(OutboundBlocked):  # a name entry does not cover other names for the same address
        check_url("http://127.0.0.1/", allow_hosts=["localhost"])
    with pytest.raises(OutboundBlocked):
        check_url("http://192.168.0.1/", allow_hosts=["10.0.0.0/8"])
    with pytest.raises(OutboundBlocked, match="scheme"):  # the allow list never opens other schemes
        check_url("ftp://127.0.0.1/", allow_hosts=["127.0.0.1"])


def test_default_allow_list_comes_from_django_settings(monkeypatch) -> None:
    import django.conf

    monkeypatch.setattr(django.conf, "settings", SimpleNamespace(INFORMER_OUTBOUND_ALLOW=["127.0.0.1"]))
    assert check_url("http://127.0.0.1/") == ["127.0.0.1"]
    monkeypatch.setattr(django.conf, "settings", SimpleNamespace())
    with pytest.raises(OutboundBlocked):
        check_url("http://127.0.0.1/")


def test_unconfigured_django_settings_allow_nothing(monkeypatch) -> None:
    from django.conf import LazySettings

    monkeypatch.delenv("DJANGO_SETTINGS_MODULE", raising=False)
    monkeypatch.setattr("django.conf.settings", LazySettings())
    with pytest.raises(OutboundBlocked, match="loopback"):
        check_url("http://127.0.0.1/")


def test_invalid_method_is_rejected() -> None:
    with pytest.raises(ValueError):
        outbound_request("GE T", "http://127.0.0.1/", allow_hosts=["127.0.0.1"])


# ------------------------------------------------------------------------------- against a local server

ALLOW = ["127.0.0.1"]


def test_get(server: LocalServer) -> None:
    response = outbound_request("GET", server.url("/hello"), headers={"Host": "evil.test"}, allow_hosts=ALLOW)
    assert (response.status, response.body, response.truncated) == (200, b"hello world", False)
    assert response.headers["X-Test"] == "yes"
    assert response.url == server.url("/hello")
    assert response.redirects == []
    assert 0 <= response.elapsed_ms < 5000
    assert server.seen[0].headers["Host"] == f"127.0.0.1:{server.port}"  # callers cannot spoof Host


@pytest.mark.parametrize("body", [bytes(range(256)) * 40, "héllo wörld ✓"])
def test_post_body_arrives_byte_for_byte(server: LocalServer, body: bytes | str) -> None:
    response = outbound_request("post", server.url("/echo"), body=body, allow_hosts=ALLOW)
    expected = body.encode() if isinstance(body, str) else body
    assert response.body == expected
    assert response.headers["X-Method"] == "POST"
    assert server.seen[0].body == expected


def test_large_response_is_capped_while_streaming(server: LocalServer, monkeypatch) -> None:
    read_sizes: list[int] = []
    real_read = urllib3.response.HTTPResponse.read

    def counting_read(self, *args, **kwargs):
        data = real_read(self, *args, **kwargs)
        read_sizes.append(len(data))
        return data

    monkeypatch.setattr(urllib3.response.HTTPResponse, "read", counting_read)
    response = outbound_request("GET", server.url("/big"), allow_hosts=ALLOW)
    assert len(response.body) == 65536
    assert response.truncated is True
    assert sum(read_sizes) <= 65536 + 1  # never pulled the remaining ~2 MiB


@pytest.mark.parametrize(("size", "cap", "truncated"), [(65536, 65536, False), (11, 10, True), (0, 0, False)])
def test_truncation_flag_at_the_edges(server: LocalServer, size: int, cap: int, truncated: bool) -> None:
    response = outbound_request("GET", server.url(f"/big?size={size}"), allow_hosts=ALLOW, max_bytes=cap)
    assert (len(response.body), response.truncated) == (min(size, cap), truncated)


def test_total_timeout_bounds_a_slowly_dripping_body(server: LocalServer) -> None:
    started = time.monotonic()
    with pytest.raises(OutboundError, match="total timeout") as info:
        outbound_request("GET", server.url("/slow"), allow_hosts=ALLOW, total_timeout=0.5)
    assert not isinstance(info.value, OutboundBlocked)
    assert time.monotonic() - started < 2.0  # each byte came in time; only the total deadline could stop it


def test_connection_refused_is_an_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OutboundError) as info:
        outbound_request("GET", f"http://127.0.0.1:{port}/", allow_hosts=ALLOW)
    assert not isinstance(info.value, OutboundBlocked)


def test_redirect_chain_is_followed_and_recorded(server: LocalServer) -> None:
    response = outbound_request("GET", server.url("/redirect/3"), allow_hosts=ALLOW)
    assert (response.status, response.body) == (200, b"done")
    assert response.redirects == [server.url(f"/redirect/{n}") for n in (2, 1, 0)]
    assert response.url == server.url("/redirect/0")


def test_relative_location_is_resolved_against_the_current_url(server: LocalServer) -> None:
    response = outbound_request("GET", server.url("/to?code=301&url=hello"), allow_hosts=ALLOW)
    assert response.body == b"hello world"
    assert response.url == server.url("/hello")


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://10.0.0.1/", "private"),
        ("http://[::1]:{port}/hello", "loopback"),
        ("http://127.0.0.2:{port}/hello", "loopback"),  # 127.0.0.1 is allowed, its neighbour is not
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("file:///etc/passwd", "scheme"),
    ],
)
def test_redirect_to_a_blocked_target_is_refused(server: LocalServer, location: str, reason: str) -> None:
    url = server.url("/to?code=302&url=" + location.format(port=server.port))
    with pytest.raises(OutboundBlocked) as info:
        outbound_request("GET", url, allow_hosts=ALLOW)
    assert reason in info.value.reason
    assert len(server.seen) == 1  # the first hop only


@pytest.mark.parametrize(
    ("code", "method", "expected_method", "keeps_body"),
    [
        (303, "POST", "GET", False),
        (303, "PUT", "GET", False),
        (302, "POST", "GET", False),
        (301, "PUT", "PUT", True),
        (307, "POST", "POST", True),
        (308, "PUT", "PUT", True),
    ],
)
def test_redirect_method_rewriting(server, code, method, expected_method, keeps_body) -> None:
    url = server.url(f"/to?code={code}&url=/echo")
    response = outbound_request(method, url, body=b"payload", headers={"Content-Type": "text/plain"}, allow_hosts=ALLOW)
    final = server.seen[-1]
    assert (final.method, final.path) == (expected_method, "/echo")
    assert final.body == (b"payload" if keeps_body else b"")
    assert ("Content-Type" in final.headers) is keeps_body
    assert response.redirects == [server.url("/echo")]


def test_too_many_redirects(server: LocalServer) -> None:
    with pytest.raises(OutboundError, match="Too many redirects") as info:
        outbound_request("GET", server.url("/loop"), allow_hosts=ALLOW, max_redirects=3)
    assert not isinstance(info.value, OutboundBlocked)
    assert len(server.seen) == 4
    with pytest.raises(OutboundError, match="Too many redirects"):
        outbound_request("GET", server.url("/redirect/1"), allow_hosts=ALLOW, max_redirects=0)


CONFIGURED = {"Authorization": "Bearer s3cret", "Cookie": "a=b", "X-Api-Key": "k3y", "X-Trace": "1"}


def test_cross_host_redirect_drops_every_configured_header(server: LocalServer, fake_dns) -> None:
    # given
    fake_dns.table["other.test"] = [["127.0.0.1"]]
    same = outbound_request("GET", server.url("/to?url=/hello"), headers=CONFIGURED, allow_hosts=ALLOW)
    assert same.status == 200
    assert {name: server.seen[1].headers.get(name) for name in CONFIGURED} == CONFIGURED

    # when
    other = server.url("/hello", host="other.test")
    response = outbound_request("GET", server.url(f"/to?url={other}"), headers=CONFIGURED, allow_hosts=["127.0.0.0/8"])

    # then
    assert response.url == other
    first, second = server.seen[2:]
    assert {name: first.headers.get(name) for name in CONFIGURED} == CONFIGURED
    assert set(CONFIGURED) & set(second.headers) == set()
    assert second.headers["Host"] == f"other.test:{server.port}"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_port_delivers_no_configured_header(server, other_server, code) -> None:
    # given
    target = other_server.url("/hello")

    # when
    response = outbound_request(
        "POST", server.url(f"/to?code={code}&url={target}"), headers=CONFIGURED, body=b"x", allow_hosts=ALLOW
    )

    # then
    assert (response.status, response.url) == (200, target)
    assert {name: server.seen[0].headers.get(name) for name in CONFIGURED} == CONFIGURED
    (delivered,) = other_server.seen
    assert set(CONFIGURED) & set(delivered.headers) == set()
    assert delivered.headers["Host"] == f"127.0.0.1:{other_server.port}"


def test_a_redirect_to_another_origin_drops_the_urls_userinfo(server, other_server) -> None:
    # given: the Location names the other origin with the first URL's userinfo
    first = f"http://user:pa55@127.0.0.1:{server.port}"
    target = f"http://user:pa55@127.0.0.1:{other_server.port}/hello"

    # when
    response = outbound_request("GET", f"{first}/to?url={target}", allow_hosts=ALLOW)

    # then
    assert server.seen[0].headers["Authorization"].startswith("Basic ")  # the named origin gets them
    (delivered,) = other_server.seen
    assert "Authorization" not in delivered.headers
    assert response.url == other_server.url("/hello")
    assert response.redirects == [other_server.url("/hello")]


def test_a_same_origin_redirect_keeps_the_configured_headers_and_userinfo(server) -> None:
    # when
    response = outbound_request(
        "GET", f"http://user:pa55@127.0.0.1:{server.port}/redirect/1", headers=CONFIGURED, allow_hosts=ALLOW
    )

    # then
    assert response.status == 200
    first, second = server.seen
    assert {name: second.headers.get(name) for name in ("Cookie", "X-Api-Key", "X-Trace")} == {
        "Cookie": "a=b",
        "X-Api-Key": "k3y",
        "X-Trace": "1",
    }
    assert second.headers["Authorization"] == first.headers["Authorization"]


def test_allow_by_cidr(server: LocalServer) -> None:
    response = outbound_request("GET", server.url("/hello"), allow_hosts=["127.0.0.0/8"])
    assert response.status == 200
    with pytest.raises(OutboundBlocked):
        outbound_request("GET", server.url("/hello"), allow_hosts=["10.0.0.0/8"])


def test_environment_proxies_are_ignored(server: LocalServer, monkeypatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://10.255.255.1:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert outbound_request("GET", server.url("/hello"), allow_hosts=ALLOW).status == 200


# ------------------------------------------------------------------------------------------- pinning


def test_dns_rebinding_cannot_reach_loopback(server: LocalServer, fake_dns, connects) -> None:
    # Validation sees a public address; any later lookup of the name would get 127.0.0.1.
    fake_dns.table["rebind.test"] = [[PUBLIC_IP], ["127.0.0.1"]]
    connects.refuse.add(PUBLIC_IP)  # stand-in for the real public host, which we never contact
    with pytest.raises(OutboundError):
        outbound_request("GET", f"http://rebind.test:{server.port}/hello", allow_hosts=[])
    assert fake_dns.calls == ["rebind.test"]  # resolved exactly once
    assert connects.seen == [(PUBLIC_IP, server.port)]  # only the validated address was dialled
    assert server.seen == []


def test_connection_goes_to_the_validated_address_with_the_original_host(server, fake_dns, connects) -> None:
    fake_dns.table["app.test"] = [["127.0.0.1"], ["10.9.9.9"]]  # a second lookup would go elsewhere
    response = outbound_request("GET", f"http://app.test:{server.port}/hello", allow_hosts=ALLOW)
    assert response.body == b"hello world"
    assert fake_dns.calls == ["app.test"]
    assert connects.seen == [("127.0.0.1", server.port)]
    assert server.seen[0].headers["Host"] == f"app.test:{server.port}"


def test_unreachable_address_falls_back_to_the_next_validated_one(server, fake_dns, connects) -> None:
    fake_dns.table["dual.test"] = [[PUBLIC_IP, "127.0.0.1"]]
    connects.refuse.add(PUBLIC_IP)
    response = outbound_request("GET", f"http://dual.test:{server.port}/hello", allow_hosts=["dual.test"])
    assert response.status == 200
    assert connects.seen == [(PUBLIC_IP, server.port), ("127.0.0.1", server.port)]


def test_https_pins_the_address_but_verifies_the_host_name(tls_server, fake_dns, connects) -> None:
    fake_dns.table["secure.test"] = [["127.0.0.1"]]
    fake_dns.table["wrong.test"] = [["127.0.0.1"]]
    response = outbound_request("GET", f"https://secure.test:{tls_server.port}/hello", allow_hosts=ALLOW)
    assert response.body == b"hello world"
    assert tls_server.sni == ["secure.test"]  # SNI carries the name although the socket went to the IP
    assert connects.seen == [("127.0.0.1", tls_server.port)]
    assert tls_server.seen[0].headers["Host"] == f"secure.test:{tls_server.port}"
    # Same address, but the certificate does not cover this name: verification must fail.
    with pytest.raises(OutboundError, match=r"(?i)certificate|hostname"):
        outbound_request("GET", f"https://wrong.test:{tls_server.port}/hello", allow_hosts=ALLOW)
    assert len(tls_server.seen) == 1
