"""The one guarded path for outbound HTTP requests made on a user's behalf (SSRF protection)."""

from __future__ import annotations

import contextlib
import heapq
import ipaddress
import itertools
import os
import socket
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from http.cookiejar import DefaultCookiePolicy
from typing import IO, Any, Protocol
from urllib.parse import urljoin, urlsplit, urlunsplit

import idna
import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 16384
# Passed to requests as ``verify``: True means requests' bundled CAs; tests point it at a throwaway CA.
_CA_BUNDLE: str | bool = True
_BLOCKED_NAMES = {"metadata.google.internal": "cloud metadata service"}
_METADATA = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_BROADCAST = ipaddress.IPv4Address("255.255.255.255")
_PRIVATE = tuple(map(ipaddress.ip_network, ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_V4_COMPATIBLE = ipaddress.ip_network("::/96")
_SESSION_HEADERS = {"User-Agent": "informer-jobs", "Accept": "*/*", "Accept-Encoding": "identity"}
# What is left unread of an answer is read (so that its connection serves the next request) only up to this.
_DRAIN = 65536
# The setting whose entries lift a refusal of a host or an address; refusals name it so that whoever reads
# one in a run's error knows what an operator would change.
ALLOW_SETTING = "INFORMER_OUTBOUND_ALLOW"


class OutboundError(Exception):
    """A network failure, timeout or redirect loop while talking to a remote host."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class OutboundBlocked(OutboundError):
    """The outbound policy refused the request before any connection was made."""

    def __init__(self, reason: str, *, url: str) -> None:
        super().__init__(reason, url=url)
        self.reason = reason


@dataclass(frozen=True)
class OutboundResponse:
    """Final response of a guarded request; ``redirects`` lists every Location followed, in order."""

    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    url: str
    elapsed_ms: int
    redirects: list[str]


@dataclass(frozen=True)
class _Target:
    """A validated URL, its origin and the addresses it may be reached at."""

    url: str
    scheme: str
    host: str
    port: int
    ips: tuple[str, ...]

    @property
    def origin(self) -> tuple[str, str, int]:
        """Scheme, host and port: what credentials are scoped to."""
        return self.scheme, self.host, self.port

    @property
    def host_header(self) -> str:
        """Host header value as a browser would send it for this origin."""
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == _DEFAULT_PORTS[self.scheme] else f"{name}:{self.port}"


@dataclass(frozen=True)
class _AllowList:
    """Parsed allow list: exact host names and IP networks, and what a refusal calls the list."""

    names: frozenset[str]
    networks: tuple[IPNetwork, ...]
    label: str = "the allow list"

    @classmethod
    def parse(cls, entries: Iterable[str] | None) -> _AllowList:
        """Split entries into networks (IPs/CIDRs) and host names; None means the Django setting."""
        label = "the allow list"
        if entries is None:
            entries = _settings_allow()
            label = ALLOW_SETTING
        if isinstance(entries, str):  # a bare string would otherwise be iterated character by character
            entries = [entries]
        names: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            entry = str(raw).strip().lower()
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                names.add(entry.rstrip("."))
        return cls(frozenset(names), tuple(networks), label)

    def permits(self, ip: IPAddress) -> bool:
        """Whether an IP/CIDR entry covers ``ip`` (or the IPv4 address embedded in it)."""
        candidates = [ip]
        if isinstance(ip, ipaddress.IPv6Address) and (v4 := _embedded_v4(ip)) is not None:
            candidates.append(v4)
        return any(c in net for c in candidates for net in self.networks)


def _settings_allow() -> list[str]:
    """INFORMER_OUTBOUND_ALLOW from Django settings, or nothing when Django is absent or unconfigured."""
    try:
        from django.conf import settings
        from django.core.exceptions import ImproperlyConfigured
    except ImportError:
        return []
    try:
        value = getattr(settings, ALLOW_SETTING, None) or []
    except ImproperlyConfigured:
        return []
    return [value] if isinstance(value, str) else list(value)


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """IPv4 address carried inside an IPv4-mapped/compatible, 6to4 or NAT64 IPv6 address."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or (ip in _V4_COMPATIBLE and int(ip) > 1):  # ::/96 minus :: and ::1
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _category(ip: IPAddress) -> str | None:
    """Why ``ip`` must not be contacted, or None for a public address."""
    if ip in _METADATA:
        return "cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address) and (v4 := _embedded_v4(ip)) is not None:
        inner = _category(v4)
        return f"{inner} {v4} embedded in IPv6" if inner else None
    checks = (  # most specific first, so the reason names the narrowest category
        ("unspecified address", ip.is_unspecified or ip in _THIS_NETWORK),
        ("loopback address", ip.is_loopback),
        ("link-local address", ip.is_link_local),
        ("multicast address", ip.is_multicast),
        ("broadcast address", ip == _BROADCAST),
        ("shared address space (carrier-grade NAT) address", ip in _SHARED),
        ("private address", any(ip in net for net in _PRIVATE)),
        ("reserved address", ip.is_reserved),
        # Documentation, benchmarking, site-local and other special-purpose ranges.
        ("non-public address", not ip.is_global),
    )
    return next((label for label, hit in checks if hit), None)


def _lookup(host: str, port: int, url: str) -> list[IPAddress]:
    """Resolve ``host`` once; IP literals skip the resolver."""
    with contextlib.suppress(ValueError):
        return [ipaddress.ip_address(host)]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise OutboundError(f"Could not resolve host {host!r}: {exc}.", url=url) from None
    families = (socket.AF_INET, socket.AF_INET6)
    ips = list(dict.fromkeys(ipaddress.ip_address(i[4][0]) for i in infos if i[0] in families))
    if not ips:
        raise OutboundError(f"Host {host!r} has no IP addresses.", url=url)
    return ips


def _resolve(url: str, allow: _AllowList) -> _Target:
    """Validate scheme and host, resolve, and check every address against the policy."""
    return _checked(url, *_parse(url, allow), allow)


def _parse(url: str, allow: _AllowList) -> tuple[str, str, str, int]:
    """Scheme, ASCII host, host as compared with the lists, and port of ``url``; OutboundBlocked before any lookup."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundBlocked(f"Refusing malformed URL {url!r}: {exc}.", url=url) from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        shown = repr(scheme) if scheme else "(none)"
        raise OutboundBlocked(f"Refusing URL {url!r}: scheme {shown} is not allowed, only http(s).", url=url)
    host = parts.hostname or ""
    try:  # resolve and send the same ASCII form requests will put on the wire
        host = host if host.isascii() else idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise OutboundBlocked(f"Refusing URL {url!r}: invalid host name.", url=url) from None
    key = host.rstrip(".")
    if not key:
        raise OutboundBlocked(f"Refusing URL {url!r}: it has no host.", url=url)
    by_name = key in allow.names
    if not by_name and key in _BLOCKED_NAMES:
        lift = f"add {key!r} to {allow.label} to allow it"
        raise OutboundBlocked(f"Refusing to connect to host {key!r} ({_BLOCKED_NAMES[key]}); {lift}.", url=url)
    return scheme, host, key, port or _DEFAULT_PORTS[scheme]


def _checked(url: str, scheme: str, host: str, key: str, port: int, allow: _AllowList) -> _Target:
    """Resolve ``host`` and check every address it has against the policy."""
    by_name = key in allow.names
    ips = _lookup(host, port, url)
    for ip in ips:  # one bad address refuses the host: the resolver could hand out any of them
        if not by_name and not allow.permits(ip) and (category := _category(ip)):
            # Either entry lifts it: the host name (every address it resolves to) or the address itself.
            entries = str(ip) if key == str(ip) else f"{key!r} or {ip}"
            lift = f"add {entries} to {allow.label} to allow it"
            raise OutboundBlocked(f"Refusing to connect to {ip} ({category}) for host {key!r}; {lift}.", url=url)
    return _Target(url, scheme, host, port, tuple(str(ip) for ip in ips))


def check_url(url: str, *, allow_hosts: Iterable[str] | None = None) -> list[str]:
    """Validate scheme and host of ``url`` and return its validated IPs; raise OutboundBlocked."""
    return list(_resolve(url, _AllowList.parse(allow_hosts)).ips)


def check_host(host: str, port: int, *, allow_hosts: Iterable[str], allow_setting: str) -> list[str]:
    """Resolve ``host`` and check its addresses as for a URL; refusals name ``allow_setting``. Raise OutboundBlocked."""
    # Non-HTTP clients (datasource connections) go through the same policy as a URL to that host and port.
    allow = replace(_AllowList.parse(allow_hosts), label=allow_setting)
    name = f"[{host}]" if ":" in host else host
    return list(_resolve(f"http://{name}:{port}/", allow).ips)


class _Tracker(Protocol):
    """What a connection hands its sockets to: the call they serve, or the session origin that knows it."""

    def track(self, sock: socket.socket) -> None: ...


class _Watchdog:
    """The thread that cuts the sockets of calls whose total deadline has passed, started when first needed.

    One thread for the whole process rather than a timer thread per call: a client that makes a thousand
    requests in a row (a library sync) would otherwise start and stop a thousand threads. Calls that end
    before their deadline (nearly all) are dropped from the queue when they reach its head, or in a sweep
    once they outnumber the live ones. A forked child starts its own thread at its first call.
    """

    def __init__(self) -> None:
        self._reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._wakeup = threading.Condition(threading.Lock())
        self._due: list[tuple[float, int, _Call]] = []
        self._order = itertools.count()
        self._swept = 0  # size of the queue after the last sweep
        self._thread: threading.Thread | None = None

    def watch(self, call: _Call) -> None:
        """Cut ``call``'s sockets at its deadline unless it has ended by then."""
        with self._wakeup:
            if len(self._due) >= 2 * self._swept + 64:
                self._due = [item for item in self._due if not item[2].done]
                heapq.heapify(self._due)
                self._swept = len(self._due)
            heapq.heappush(self._due, (call.expires_at, next(self._order), call))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="outbound-deadlines", daemon=True)
                self._thread.start()
            elif self._due[0][2] is call:
                self._wakeup.notify()

    def _run(self) -> None:
        with self._wakeup:
            while True:
                while self._due and self._due[0][2].done:
                    heapq.heappop(self._due)
                if not self._due:
                    self._wakeup.wait()
                    continue
                left = self._due[0][0] - time.monotonic()
                if left > 0:
                    self._wakeup.wait(left)
                    continue
                heapq.heappop(self._due)[2].fire()


class _Call:
    """Limits of one outbound request, whose sockets the watchdog cuts at the deadline."""

    def __init__(self, total_timeout: float, connect_timeout: float, max_bytes: int) -> None:
        self.expires_at = time.monotonic() + total_timeout
        self.connect_timeout = connect_timeout
        self.max_bytes = max_bytes
        self.fired = False
        self.done = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        # Socket timeouts only bound each recv(); a server dripping bytes would never trip them.
        _WATCHDOG.watch(self)

    def remaining(self) -> float:
        """Seconds left before the total deadline, never negative."""
        return max(self.expires_at - time.monotonic(), 0.0)

    def track(self, sock: socket.socket) -> None:
        """Register a socket to be cut when the deadline passes."""
        with self._lock:
            if self.done:
                return
            self._sockets.append(sock)
            if self.fired:
                self._cut(sock)

    def cancel(self) -> None:
        """Stop watching once the call is over (its sockets may serve the next call of a session)."""
        with self._lock:
            self.done = True
            self._sockets.clear()

    def fire(self) -> None:
        """The deadline has passed: cut every socket of the call (a blocked recv() returns at once)."""
        with self._lock:
            if self.done:
                return
            self.fired = True
            for sock in self._sockets:
                self._cut(sock)

    @staticmethod
    def _cut(sock: socket.socket) -> None:
        # The base-class shutdown works on TLS sockets too and makes a blocked recv() return at once.
        with contextlib.suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def exchange(
        self, target: _Target, ip: str, method: str, headers: Mapping[str, str], body: bytes | None
    ) -> tuple[int, dict[str, str], bytes, bool]:
        """One request/response over a connection pinned to ``ip``; bodies of redirects are not read."""
        with requests.Session() as session:
            session.trust_env = False  # environment proxies and .netrc would bypass the pinning
            session.headers = CaseInsensitiveDict(_SESSION_HEADERS)
            adapter = _PinnedAdapter(target, ip, self)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            request = requests.Request(method, target.url, headers=dict(headers), data=body)
            left = max(self.remaining(), 0.001)
            timeout = (min(self.connect_timeout, left), left)
            options = {"stream": True, "allow_redirects": False, "timeout": timeout, "verify": _CA_BUNDLE}
            with session.send(session.prepare_request(request), **options) as resp:
                if resp.status_code in _REDIRECT_CODES and resp.headers.get("Location"):
                    return resp.status_code, dict(resp.headers), b"", False
                chunks: list[bytes] = []
                size, cap = 0, self.max_bytes
                while size <= cap:  # stop one byte past the cap: enough to know that more existed
                    chunk = resp.raw.read(min(_CHUNK, cap + 1 - size), decode_content=False)
                    if not chunk:
                        break
                    chunks.append(chunk)
                    size += len(chunk)
                if self.fired:  # a cut socket looks like a clean EOF for close-delimited bodies
                    raise TimeoutError("total timeout reached while reading the body")
                return resp.status_code, dict(resp.headers), b"".join(chunks)[:cap], size > cap


class _TrackedMixin:
    """Connection that hands its sockets to the deadline watchdog of the call they serve."""

    def __init__(self, *args: Any, call: _Tracker, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._call = call

    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()  # type: ignore[misc]
        self._call.track(sock)  # the raw socket, so that a stalled TLS handshake is cut as well
        return sock

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self._call.track(self.sock)  # type: ignore[attr-defined]

    def request(self, *args: Any, **kwargs: Any) -> None:
        sock = self.sock  # type: ignore[attr-defined]
        if sock is not None:  # a kept-alive connection: its socket now serves this call
            self._call.track(sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _TrackedHTTPConnection(_TrackedMixin, HTTPConnection):
    """Plain HTTP connection bounded by the call's deadline."""


class _TrackedHTTPSConnection(_TrackedMixin, HTTPSConnection):
    """HTTPS connection bounded by the call's deadline."""


class _PinnedAdapter(HTTPAdapter):
    """Adapter whose single pool connects to one validated IP while speaking to the original host."""

    def __init__(self, target: _Target, ip: str, call: _Tracker) -> None:
        super().__init__(max_retries=0)
        self._target = target
        if target.scheme == "https":
            # SNI and certificate checks use the host name even though the socket goes to ``ip``.
            self._pool: HTTPConnectionPool = HTTPSConnectionPool(
                ip, target.port, maxsize=1, server_hostname=target.host.rstrip("."), call=call
            )
            self._pool.ConnectionCls = _TrackedHTTPSConnection
        else:
            self._pool = HTTPConnectionPool(ip, target.port, maxsize=1, call=call)
            self._pool.ConnectionCls = _TrackedHTTPConnection

    def get_connection_with_tls_context(self, request: Any, *args: Any, **kwargs: Any) -> HTTPConnectionPool:
        """Return the pinned pool, after checking that requests parsed the URL the way we did."""
        parts = urlsplit(request.url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        if (parts.scheme, parts.hostname, port) != self._target.origin:
            raise OutboundBlocked(f"Refusing ambiguous URL {request.url!r}.", url=request.url)
        return self._pool

    def close(self) -> None:
        """Close the pinned pool too."""
        super().close()
        self._pool.close()


def _without_userinfo(url: str) -> str:
    """``url`` without ``user:password@``, which requests would otherwise turn into Basic credentials."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _connect_failed(exc: requests.ConnectionError) -> bool:
    """Whether the error happened while opening the TCP connection, i.e. before anything was sent."""
    return isinstance(getattr(exc.args[0] if exc.args else None, "reason", None), ConnectTimeoutError)


def _request_failed(exc: BaseException, url: str, call: _Call, total_timeout: float) -> OutboundError:
    """The OutboundError of a request to ``url`` that the transport failed: the total timeout, if it ran out."""
    if call.fired or call.remaining() <= 0:
        return OutboundError(f"Request to {url} exceeded the total timeout of {total_timeout:g} s.", url=url)
    return OutboundError(f"Request to {url} failed: {exc}", url=url)


def outbound_request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    allow_hosts: Iterable[str] | None = None,
    connect_timeout: float = 5.0,
    total_timeout: float = 30.0,
    max_bytes: int = 65536,
    max_redirects: int = 5,
) -> OutboundResponse:
    """Send a request through the outbound policy, following redirects manually and re-checking each hop."""
    method = method.upper()
    if not (method.isascii() and method.isalpha()) or max_bytes < 0 or max_redirects < 0:
        raise ValueError("Invalid method, max_bytes or max_redirects.")
    allow = _AllowList.parse(allow_hosts)
    data = body.encode() if isinstance(body, str) else body
    sent_headers = CaseInsensitiveDict(headers or {})
    redirects: list[str] = []
    started = time.monotonic()
    call = _Call(total_timeout, connect_timeout, max_bytes)
    target: _Target | None = None
    try:
        target = _resolve(url, allow)
        while True:
            sent_headers["Host"] = target.host_header  # the socket goes to an IP; the server needs the name
            for index, ip in enumerate(target.ips):
                try:
                    status, got, content, truncated = call.exchange(target, ip, method, sent_headers, data)
                    break
                except requests.ConnectionError as exc:
                    # Move on to the next validated address only if this one could not be reached at all.
                    if index + 1 == len(target.ips) or not _connect_failed(exc) or call.fired:
                        raise
            if status not in _REDIRECT_CODES or not got.get("Location"):
                elapsed = int((time.monotonic() - started) * 1000)
                return OutboundResponse(status, got, content, truncated, target.url, elapsed, redirects)
            if len(redirects) >= max_redirects:
                raise OutboundError(f"Too many redirects (more than {max_redirects}).", url=target.url)
            next_target = _resolve(urljoin(target.url, got["Location"].strip()), allow)  # full policy again
            # Browser (Fetch standard) semantics: 303 turns anything but GET/HEAD into a bodiless GET,
            # 301/302 do so for POST only; 307/308 keep the method and the body.
            if (status == 303 and method != "HEAD") or (status in {301, 302} and method == "POST"):
                method, data = "GET", None
                for name in ("Content-Type", "Content-Length", "Transfer-Encoding"):
                    sent_headers.pop(name, None)
            if next_target.origin != target.origin:
                # Whatever the caller configured (an API key, a signature, a cookie) and the URL's
                # userinfo were meant for the origin it named: another origin gets none of them.
                sent_headers = CaseInsensitiveDict()
                next_target = replace(next_target, url=_without_userinfo(next_target.url))
            redirects.append(next_target.url)
            target = next_target
    except OutboundError:
        raise
    except (requests.RequestException, Urllib3Error, OSError) as exc:
        raise _request_failed(exc, target.url if target else url, call, total_timeout) from exc
    finally:
        call.cancel()


@dataclass
class OutboundStream:
    """An open response of ``outbound_stream``: status and headers at once, the body as it arrives."""

    status: int
    headers: CaseInsensitiveDict[str]
    url: str
    _response: requests.Response
    _call: _Call

    def chunks(self, size: int = 65536) -> Iterator[bytes]:
        """The body in chunks of at most ``size`` bytes; OutboundError if it breaks off or the deadline passes."""
        try:
            while chunk := self._response.raw.read(size, decode_content=False):
                yield chunk
        except (requests.RequestException, Urllib3Error, OSError) as exc:
            raise self._failed(exc) from exc
        if self._call.fired:  # a cut socket looks like a clean EOF for close-delimited bodies
            raise self._failed(TimeoutError())

    def read(self, max_bytes: int) -> bytes:
        """The whole body; OutboundError if it is longer than ``max_bytes``."""
        chunks: list[bytes] = []
        size = 0
        for chunk in self.chunks():
            size += len(chunk)
            if size > max_bytes:
                raise OutboundError(f"The answer of {self.url} is larger than {max_bytes} bytes.", url=self.url)
            chunks.append(chunk)
        return b"".join(chunks)

    def _failed(self, exc: BaseException) -> OutboundError:
        if self._call.fired or self._call.remaining() <= 0:
            return OutboundError(f"Reading the answer of {self.url} exceeded the total timeout.", url=self.url)
        return OutboundError(f"The answer of {self.url} broke off: {exc}", url=self.url)


def _release(response: requests.Response, call: _Call) -> None:
    """Read the rest of a short answer, so that its connection can serve the next request; then close it.

    Only an answer whose Content-Length says it is short is read to its end (a long or open-ended one would
    hold the caller up); any other loses its connection, as it did before connections were kept.
    """
    length = response.headers.get("Content-Length", "")
    if not call.fired and length.isdigit() and int(length) <= _DRAIN:
        with contextlib.suppress(requests.RequestException, Urllib3Error, OSError):
            while response.raw.read(_CHUNK, decode_content=False):
                pass
    response.close()


def _blocked_cookies() -> DefaultCookiePolicy:
    # A cookie a server sets is not sent back: each request carries only what its caller gives it.
    return DefaultCookiePolicy(allowed_domains=[])


class _Origin:
    """One origin of a session: its checked target, the address its connections go to, and their pool."""

    def __init__(self, target: _Target) -> None:
        self.target = target
        self.index = 0  # of the address in ``target.ips`` the connections go to
        self.call: _Call | None = None  # the request in progress
        self._http: requests.Session | None = None

    def track(self, sock: socket.socket) -> None:
        """A socket of this origin's pool serves the request in progress: its deadline cuts it."""
        call = self.call
        if call is not None:
            call.track(sock)

    def http(self) -> requests.Session:
        """The requests session whose one pool connects to the pinned address."""
        if self._http is None:
            http = requests.Session()
            http.trust_env = False  # environment proxies and .netrc would bypass the pinning
            http.headers = CaseInsensitiveDict(_SESSION_HEADERS)
            http.cookies.set_policy(_blocked_cookies())
            adapter = _PinnedAdapter(self.target, self.target.ips[self.index], self)
            http.mount("http://", adapter)
            http.mount("https://", adapter)
            self._http = http
        return self._http

    def next_address(self) -> None:
        """The pinned address could not be reached: the next checked one, with a pool of its own."""
        self.close()
        self.index = (self.index + 1) % len(self.target.ips)

    def close(self) -> None:
        """Close the pool's connections."""
        if self._http is not None:
            self._http.close()
            self._http = None


def _close_origins(origins: dict[tuple[str, str, int], _Origin]) -> None:
    for origin in list(origins.values()):
        origin.close()
    origins.clear()


class OutboundSession:
    """Requests through the outbound policy that keep their connection: for a client making many in a row.

    Each origin (scheme, host, port) is resolved and checked by the policy once, at its first request;
    every connection to it goes to the address checked then, for as long as the session lives. One
    connection per origin is kept alive between requests (a WebDAV sync's thousand GETs make one TCP
    connection, not a thousand); a new one, when the server closed it, goes to the same checked address.
    When that address cannot be reached at all, the next checked one is tried, as ``outbound_stream`` does.

    Each request has its own limits (connect, read and total timeouts, the total enforced by the watchdog
    on whatever socket serves it), is not redirected (the caller sees the 3xx) and carries only the
    headers its caller gives: cookies the server sets are not kept. A session makes one request at a time
    (RuntimeError otherwise) and is for one thread; ``close`` (or leaving its ``with`` block, or dropping
    it) closes its connections.
    """

    def __init__(
        self, *, allow_hosts: Iterable[str] | None = None, connect_timeout: float = 5.0, read_timeout: float = 30.0
    ) -> None:
        self._allow = _AllowList.parse(allow_hosts)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._origins: dict[tuple[str, str, int], _Origin] = {}
        self._busy = False
        self._closed = False
        self._finalizer = weakref.finalize(self, _close_origins, self._origins)

    def __enter__(self) -> OutboundSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection; the session makes no more requests."""
        self._closed = True
        self._finalizer()

    def _origin(self, url: str) -> tuple[_Origin, _Target]:
        """The origin of ``url`` (checked by the policy at its first request) and the target to send to."""
        scheme, host, key, port = _parse(url, self._allow)  # every URL is parsed and its host name checked
        origin = self._origins.get((scheme, host, port))
        if origin is None:
            origin = _Origin(_checked(url, scheme, host, key, port, self._allow))
            self._origins[origin.target.origin] = origin
        return origin, replace(origin.target, url=url)

    def _send(
        self,
        origin: _Origin,
        target: _Target,
        method: str,
        headers: Mapping[str, str],
        body: bytes | IO[bytes] | None,
        call: _Call,
    ) -> requests.Response:
        for attempt in range(len(target.ips)):
            http = origin.http()
            request = requests.Request(method, target.url, headers=dict(headers), data=body)
            left = max(call.remaining(), 0.001)
            timeout = (min(self._connect_timeout, left), min(self._read_timeout, left))
            options = {"stream": True, "allow_redirects": False, "timeout": timeout, "verify": _CA_BUNDLE}
            try:
                return http.send(http.prepare_request(request), **options)
            except requests.ConnectionError as exc:
                # Move on to the next validated address only if this one could not be reached at all.
                if attempt + 1 == len(target.ips) or not _connect_failed(exc) or call.fired:
                    raise
                origin.next_address()
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    @contextlib.contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | IO[bytes] | None = None,
        total_timeout: float = 3600.0,
    ) -> Iterator[OutboundStream]:
        """One request, as ``outbound_stream`` makes it, over the session's connection to the URL's origin."""
        method = method.upper()
        if not (method.isascii() and method.isalpha()):
            raise ValueError("Invalid method.")
        if self._closed:
            raise RuntimeError("The outbound session is closed.")
        if self._busy:
            raise RuntimeError("An outbound session makes one request at a time.")
        self._busy = True
        call = _Call(total_timeout, self._connect_timeout, 0)
        origin: _Origin | None = None
        target: _Target | None = None
        try:
            try:
                origin, target = self._origin(url)
                origin.call = call
                sent_headers = CaseInsensitiveDict(headers or {})
                sent_headers["Host"] = target.host_header
                response = self._send(origin, target, method, sent_headers, body, call)
            except OutboundError:
                raise
            except (requests.RequestException, Urllib3Error, OSError) as exc:
                raise _request_failed(exc, target.url if target else url, call, total_timeout) from exc
            try:
                yield OutboundStream(response.status_code, response.headers, target.url, response, call)
            finally:
                _release(response, call)
        finally:
            if origin is not None:
                origin.call = None
            call.cancel()
            self._busy = False


@contextlib.contextmanager
def outbound_stream(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | IO[bytes] | None = None,
    allow_hosts: Iterable[str] | None = None,
    connect_timeout: float = 5.0,
    read_timeout: float = 30.0,
    total_timeout: float = 3600.0,
) -> Iterator[OutboundStream]:
    """One request through the outbound policy, pinned to the checked address, its bodies streamed both ways.

    For clients that move files (WebDAV): any method, a request body read from a file as it is sent, the
    answer read chunk by chunk. Redirects are not followed, the caller sees the 3xx. A client making many
    requests keeps its connection with an ``OutboundSession`` instead; this is a session of one request.
    """
    with (
        OutboundSession(allow_hosts=allow_hosts, connect_timeout=connect_timeout, read_timeout=read_timeout) as session,
        session.stream(method, url, headers=headers, body=body, total_timeout=total_timeout) as response,
    ):
        yield response


_WATCHDOG = _Watchdog()
