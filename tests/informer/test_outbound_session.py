"""OutboundSession: guarded requests that keep their connection, pinned to the address checked at the first."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from informer.outbound import OutboundBlocked, OutboundError, OutboundSession, outbound_stream
from tests.informer.test_outbound import (  # noqa: F401 - fixtures used by name
    REFUSED_URLS,
    connects,
    fake_dns,
    guarded_network,
)

ALLOW = ["127.0.0.1"]


@dataclass
class KeepAliveServer:
    """An HTTP/1.1 server on 127.0.0.1 that keeps connections open; which connection served each request."""

    port: int
    served: list[tuple[str, int]] = field(default_factory=list)  # (path, client port)
    cookies: list[str] = field(default_factory=list)  # the Cookie header of each request ("" for none)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    @property
    def connections(self) -> int:
        return len({port for _, port in self.served})


class KeepAliveHandler(BaseHTTPRequestHandler):
    """Routes: /file (100 bytes), /close (answers, then closes the connection), /cookie, /slow, /big."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        state: KeepAliveServer = self.server.state  # type: ignore[attr-defined]
        state.served.append((self.path, self.client_address[1]))
        state.cookies.append(self.headers.get("Cookie", ""))
        try:
            if self.path == "/slow":  # every byte arrives quickly, the whole body never does in time
                self.send_response(200)
                self.send_header("Content-Length", "100")
                self.end_headers()
                for _ in range(100):
                    self.wfile.write(b".")
                    self.wfile.flush()
                    time.sleep(0.05)
                return
            body = b"x" * (300_000 if self.path == "/big" else 100)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            if self.path == "/cookie":
                self.send_header("Set-Cookie", "session=abc; Path=/")
            if self.path == "/close":
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def server() -> Iterator[KeepAliveServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), KeepAliveHandler)
    httpd.daemon_threads = True
    state = KeepAliveServer(port=httpd.server_address[1])
    httpd.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def fetch(session: OutboundSession, url: str) -> bytes:
    with session.stream("GET", url) as response:
        assert response.status == 200
        return b"".join(response.chunks())


def test_many_requests_share_one_connection(server: KeepAliveServer) -> None:
    # when
    with OutboundSession(allow_hosts=ALLOW) as session:
        bodies = [fetch(session, server.url("/file")) for _ in range(20)]

    # then
    assert bodies == [b"x" * 100] * 20
    assert len(server.served) == 20 and server.connections == 1


def test_an_answer_left_unread_does_not_lose_a_short_connection(server: KeepAliveServer) -> None:
    with OutboundSession(allow_hosts=ALLOW) as session:
        for _ in range(5):
            with session.stream("GET", server.url("/file")) as response:
                assert response.status == 200  # the body is never read by the caller
        with session.stream("GET", server.url("/big")) as response:
            assert response.status == 200  # a long one is not read to its end: its connection is closed
        assert fetch(session, server.url("/file")) == b"x" * 100

    assert server.connections == 2


def test_one_shot_streams_each_open_and_close_their_own_connection(server: KeepAliveServer) -> None:
    for _ in range(3):
        with outbound_stream("GET", server.url("/file"), allow_hosts=ALLOW) as response:
            assert b"".join(response.chunks()) == b"x" * 100

    assert server.connections == 3


def test_a_connection_the_server_closed_is_replaced_by_one_to_the_same_address(
    server: KeepAliveServer,
    fake_dns: SimpleNamespace,  # noqa: F811 - the imported fixture
    connects: SimpleNamespace,  # noqa: F811
) -> None:
    # given a name that resolves to the allowed loopback address first and to a private one afterwards
    fake_dns.table["files.example.test"] = [["127.0.0.1"], ["10.1.2.3"]]

    # when the server closes the connection between requests
    with OutboundSession(allow_hosts=ALLOW) as session:
        for path in ("/file", "/close", "/file", "/file"):
            assert fetch(session, server.url(path, host="files.example.test")) == b"x" * 100

    # then the name was resolved (and checked) once; both connections went to the address checked then
    assert fake_dns.calls == ["files.example.test"]
    assert connects.seen == [("127.0.0.1", server.port)] * 2
    assert server.connections == 2


def test_every_origin_is_checked_at_its_first_request(
    server: KeepAliveServer,
    connects: SimpleNamespace,  # noqa: F811 - the imported fixture
) -> None:
    with OutboundSession(allow_hosts=ALLOW) as session:
        assert fetch(session, server.url("/file")) == b"x" * 100
        # then a refused host on the same session is refused before any connection
        with pytest.raises(OutboundBlocked) as refused, session.stream("GET", "http://10.0.0.1/file"):
            pass

    assert "private address" in refused.value.reason
    assert connects.seen == [("127.0.0.1", server.port)]


@pytest.mark.parametrize(("url", "words"), REFUSED_URLS)
def test_refused_urls_are_refused_without_connecting(
    guarded_network: SimpleNamespace,  # noqa: F811 - the imported fixture
    url: str,
    words: str,
) -> None:
    with OutboundSession() as session, pytest.raises(OutboundBlocked) as refused, session.stream("GET", url):
        pass
    assert words in refused.value.reason
    assert guarded_network.seen == []


def test_cookies_the_server_sets_are_not_sent_back(server: KeepAliveServer) -> None:
    with OutboundSession(allow_hosts=ALLOW) as session:
        fetch(session, server.url("/cookie"))
        fetch(session, server.url("/file"))

    assert server.cookies == ["", ""]


def test_the_total_timeout_cuts_a_kept_connection(server: KeepAliveServer) -> None:
    with OutboundSession(allow_hosts=ALLOW) as session:
        assert fetch(session, server.url("/file")) == b"x" * 100  # the connection is open and idle now
        started = time.monotonic()
        slow = server.url("/slow")
        with (
            pytest.raises(OutboundError, match="total timeout"),
            session.stream("GET", slow, total_timeout=0.5) as body,
        ):
            b"".join(body.chunks())
        assert time.monotonic() - started < 2.0  # each byte came in time; only the deadline could stop it
        # and the session goes on, over a new connection
        assert fetch(session, server.url("/file")) == b"x" * 100

    assert server.connections == 2


def test_a_session_makes_one_request_at_a_time_and_none_once_closed(server: KeepAliveServer) -> None:
    session = OutboundSession(allow_hosts=ALLOW)
    url = server.url("/file")
    busy = pytest.raises(RuntimeError, match="one request at a time")
    with session.stream("GET", url), busy, session.stream("GET", url):
        pass
    session.close()

    with pytest.raises(RuntimeError, match="closed"), session.stream("GET", server.url("/file")):
        pass
    assert len(server.served) == 1
