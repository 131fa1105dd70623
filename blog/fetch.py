"""Fetching other sites' pages without letting them steer us: the one way the blog goes out.

Anything that fetches a URL someone else chose (a webmention's source, a page we link to and
its endpoint) comes through here, because such a URL can point anywhere: at the blog's own
admin on localhost, a database on the private network, a cloud metadata service on
169.254.169.254. So, for every request and every redirect:

- only http and https; at most MAX_REDIRECTS redirects, each one checked again like a new URL;
- the host name is resolved ONCE, every address it resolves to must be public (not private,
  loopback, link-local, multicast, reserved, unspecified, nor such an address wrapped in
  IPv6), and the connection is made to that very address, with the name sent as the Host
  header and TLS server name: a DNS answer that changes between our check and the connection
  (DNS rebinding) is never asked for, so it cannot slip a private address in;
- a connect timeout, a read timeout per read, and a deadline for the whole exchange enforced
  by closing the socket, so a server that answers a byte at a time cannot hold a worker;
- at most max_bytes of body, read as it streams, never more (refused, or kept truncated for
  callers that only need the start of a page); no compression, so the limit is on real bytes.

FETCH_ALLOW_PRIVATE_ADDRESSES switches the address rule off, for tests and for two blogs on
one development machine; nothing else does. No Flask here but limits_from_config().
"""

from __future__ import annotations

import codecs
import http.client
import ipaddress
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import urlencode, urljoin, urlsplit

MAX_REDIRECTS = 5
USER_AGENT = "FieldNotes/1.0 (Webmention; +https://www.w3.org/TR/webmention/)"
ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
CHUNK = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


@dataclass(frozen=True)
class Limits:
    """How far a fetch may go. The defaults are the spec's advice: 5 s, 1 MB, few redirects."""

    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    # The whole exchange, redirects included: a slow drip cannot outlast it.
    total_timeout: float = 20.0
    max_bytes: int = 1_000_000
    max_redirects: int = MAX_REDIRECTS
    # FETCH_ALLOW_PRIVATE_ADDRESSES: any address at all (tests, development on one machine).
    allow_private: bool = False
    # Addresses allowed although not public (never set from config: tests of the rule itself
    # use it to stand in a loopback server for "the internet" and prove the rest is refused).
    also_allowed: frozenset[IPAddress] = field(default_factory=frozenset)


def limits_from_config(config: Mapping) -> Limits:
    """Return the Limits the app's configuration (FETCH_*) asks for."""
    return Limits(
        connect_timeout=float(config["FETCH_CONNECT_TIMEOUT"]),
        read_timeout=float(config["FETCH_READ_TIMEOUT"]),
        total_timeout=float(config["FETCH_TOTAL_TIMEOUT"]),
        max_bytes=int(config["FETCH_MAX_BYTES"]),
        allow_private=bool(config["FETCH_ALLOW_PRIVATE_ADDRESSES"]),
    )


class FetchError(Exception):
    """A fetch that did not give a response; str() says why, plainly, for people."""

    # True when trying again later may work (a timeout, a refused connection, a DNS failure).
    transient = False


class Refused(FetchError):
    """The URL, or an address it leads to, is one we never fetch. Nothing was sent."""


class TooLarge(FetchError):
    """The body is larger than the limit; reading stopped there."""


class Unreachable(FetchError):
    """The server could not be reached or did not answer in time."""

    transient = True


@dataclass
class Response:
    """What a fetch got: the final URL (after redirects), the status, headers, the body."""

    url: str
    status: int
    headers: Message
    body: bytes
    truncated: bool = False
    redirects: list[str] = field(default_factory=list)

    @property
    def content_type(self) -> str:
        return (self.headers.get_content_type() or "").lower()

    @property
    def is_html(self) -> bool:
        return self.content_type in ("text/html", "application/xhtml+xml")

    @property
    def text(self) -> str:
        """The body as text: the charset the headers or the page declare, else UTF-8."""
        return self.body.decode(_charset(self.headers, self.body), errors="replace")

    def links(self) -> list[tuple[str, frozenset[str]]]:
        """Return the Link header's targets (absolute) with their rel values, in order."""
        found = []
        for value in self.headers.get_all("Link") or []:
            for target, rels in parse_link_header(value):
                found.append((urljoin(self.url, target), rels))
        return found


# --- Addresses -------------------------------------------------------------------------------


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 one carries (mapped, 6to4, NAT64, compatible), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in ipaddress.ip_network("::/96"):  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Return True for an address on the public internet, False for anything else.

    Refused: private (10/8, 172.16/12, 192.168/16, fc00::/7), shared (100.64/10), loopback,
    link-local (169.254/16, fe80::/10: the cloud metadata service), multicast, reserved,
    unspecified (0.0.0.0, ::), documentation ranges, and any IPv6 address that wraps one of
    those in IPv4 (::ffff:127.0.0.1, 6to4, NAT64).
    """
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None and inner != ipaddress.IPv4Address(0):
            return is_public(inner)
        if ip.teredo is not None:
            return False  # a tunnel to anywhere
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve host with the system's resolver; return its addresses as text."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise Unreachable(f"the name {host} could not be resolved ({error})") from None
    return [info[4][0] for info in infos]


def checked_address(host: str, port: int, limits: Limits, resolver: Resolver) -> str:
    """Resolve host once and return the address to connect to, refusing non-public ones.

    Every address the name has must be allowed, not just the first: a name that lists a
    public and a private address is refused rather than tried in turn.
    """
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    addresses = [str(literal)] if literal is not None else resolver(host, port)
    if not addresses:
        raise Unreachable(f"the name {host} has no address")
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
        if not (limits.allow_private or ip in limits.also_allowed or is_public(ip)):
            where = host if literal is not None else f"{host} ({ip})"
            raise Refused(f"{where} is not a public internet address: not fetched")
    return addresses[0]


# --- Connections to the checked address --------------------------------------------------------


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to a given address, naming the host only in the Host header."""

    def __init__(self, host: str, port: int, address: str, limits: Limits) -> None:
        super().__init__(host, port, timeout=limits.connect_timeout)
        self.address = address
        self.read_timeout = limits.read_timeout

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        sock.settimeout(self.read_timeout)
        return sock

    def connect(self) -> None:
        self.sock = self._open()


class _PinnedHTTPS(_PinnedHTTP):
    """The same over TLS: the certificate is checked against the host name (SNI), as usual."""

    default_port = 443

    def __init__(self, host: str, port: int, address: str, limits: Limits) -> None:
        super().__init__(host, port, address, limits)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        self.sock = self.context.wrap_socket(self._open(), server_hostname=self.host)


class _Deadline:
    """Close a connection's socket when the exchange's time is up: a blocked read then ends."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.expired = False
        self._connection = connection
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        self.expired = True
        sock = self._connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()


# --- Fetching --------------------------------------------------------------------------------


def check_url(url: str) -> tuple[str, str, int, str]:
    """Return (scheme, host, port, path with query) of an http(s) URL, or raise Refused."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise Refused(f"{url!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused(f"only http and https addresses are fetched, not {scheme or 'this'}")
    host = parts.hostname or ""
    if not host:
        raise Refused(f"{url!r} names no host")
    if parts.username is not None or parts.password is not None:
        raise Refused("addresses with a user name or password are not fetched")
    try:
        host.encode("idna")
    except UnicodeError:
        raise Refused(f"{host!r} is not a valid host name") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return scheme, host, port or (443 if scheme == "https" else 80), path


def fetch(
    url: str,
    limits: Limits,
    *,
    method: str = "GET",
    form: Mapping[str, str] | None = None,
    accept: str = ACCEPT_HTML,
    follow_redirects: bool = True,
    keep_truncated: bool = False,
    resolver: Resolver = system_resolver,
) -> Response:
    """Fetch url within limits; return the response, whatever its status.

    form is sent url-encoded (a POST); a POST's redirect is returned, not followed.
    keep_truncated returns the first max_bytes of a larger body (truncated=True) instead of
    raising TooLarge. Raises Refused, TooLarge or Unreachable (FetchError) otherwise.
    """
    started = time.monotonic()
    redirects: list[str] = []
    body = urlencode(dict(form)).encode() if form is not None else None
    while True:
        remaining = limits.total_timeout - (time.monotonic() - started)
        if remaining <= 0:
            raise Unreachable(f"no answer within {limits.total_timeout:g} seconds")
        response = _exchange(url, limits, method, body, accept, keep_truncated, resolver, remaining)
        response.redirects = redirects
        location = response.headers.get("Location")
        if not (follow_redirects and method == "GET" and response.status in REDIRECTS and location):
            return response
        if len(redirects) >= limits.max_redirects:
            raise Refused(f"more than {limits.max_redirects} redirects (stopped at {url})")
        redirects.append(url)
        url = urljoin(url, location.strip())


def _exchange(
    url: str,
    limits: Limits,
    method: str,
    body: bytes | None,
    accept: str,
    keep_truncated: bool,
    resolver: Resolver,
    seconds: float,
) -> Response:
    """One request and its response, to the checked address of url's host."""
    scheme, host, port, path = check_url(url)
    address = checked_address(host, port, limits, resolver)
    kind = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = kind(host, port, address, limits)
    headers = {"User-Agent": USER_AGENT, "Accept": accept, "Accept-Encoding": "identity"}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    deadline = _Deadline(connection, seconds)
    try:
        with deadline:
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            data, truncated = _read(answer, limits.max_bytes, keep_truncated)
        if deadline.expired:  # the socket was closed under a slow read: the body is cut short
            raise Unreachable(f"no full answer within {limits.total_timeout:g} seconds")
        return Response(url, answer.status, answer.msg, data, truncated)
    except FetchError:
        raise
    except (OSError, http.client.HTTPException) as error:
        if deadline.expired:
            raise Unreachable(f"no full answer within {limits.total_timeout:g} seconds") from None
        if isinstance(error, TimeoutError | socket.timeout):
            raise Unreachable(f"{host} did not answer in time") from None
        if isinstance(error, ssl.SSLError):
            raise Unreachable(f"{host}: TLS failed ({error.reason or error})") from None
        raise Unreachable(f"{host}: {error.__class__.__name__}: {error}") from None
    finally:
        connection.close()


def _read(
    answer: http.client.HTTPResponse, max_bytes: int, keep_truncated: bool
) -> tuple[bytes, bool]:
    """Read at most max_bytes of the body as it arrives; say whether there was more."""
    declared = answer.getheader("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > max_bytes and not keep_truncated:
        raise TooLarge(f"larger than {max_bytes:,} bytes ({int(declared):,} declared)")
    chunks: list[bytes] = []
    size = 0
    while True:
        # read1: what one receive gives, so a slow sender is noticed between chunks too.
        chunk = answer.read1(CHUNK)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            if not keep_truncated:
                raise TooLarge(f"larger than {max_bytes:,} bytes: stopped reading")
            return b"".join(chunks)[:max_bytes], True


# --- Headers and encodings --------------------------------------------------------------------

_LINK_PARAM_NAME = re.compile(r"\s*([^=;,\s]*)\s*")
_LINK_TOKEN = re.compile(r"[^;,]*")


def parse_link_header(value: str) -> Iterator[tuple[str, frozenset[str]]]:
    """Yield (target, rel values) from one Link header value (RFC 8288), in order.

    Handles several links in one header separated by commas (also inside quoted parameters),
    quoted and unquoted rel, several rel values in one ("webmention somethingelse"), any case.
    """
    i, n = 0, len(value)
    while i < n:
        start = value.find("<", i)
        end = value.find(">", start + 1)
        if start < 0 or end < 0:
            return
        target, i = value[start + 1 : end], end + 1
        rels: frozenset[str] | None = None
        while i < n:
            while i < n and value[i] in " \t":
                i += 1
            if i >= n or value[i] == ",":
                i += 1
                break
            if value[i] != ";":  # not a parameter: skip to the next one
                i = _LINK_TOKEN.match(value, i).end() or i + 1
                continue
            match = _LINK_PARAM_NAME.match(value, i + 1)
            name, i = match.group(1).lower(), match.end()
            param = ""
            if i < n and value[i] == "=":
                i += 1
                while i < n and value[i] in " \t":
                    i += 1
                if i < n and value[i] == '"':
                    close = value.find('"', i + 1)
                    close = n if close < 0 else close
                    param, i = value[i + 1 : close], close + 1
                else:
                    token = _LINK_TOKEN.match(value, i)
                    param, i = token.group(0).strip(), token.end()
            if name == "rel" and rels is None:  # the first rel counts (RFC 8288 3.3)
                rels = frozenset(param.lower().split())
        yield target.strip(), rels or frozenset()


_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE)


def _charset(headers: Message, body: bytes) -> str:
    """Return the encoding to decode a body with: the header's, the page's <meta>, else UTF-8."""
    candidates = [headers.get_content_charset()]
    meta = _META_CHARSET.search(body[:2048])
    if meta:
        candidates.append(meta.group(1).decode("ascii"))
    for name in candidates:
        if not name:
            continue
        try:
            info = codecs.lookup(name)
        except LookupError:
            continue
        if getattr(info, "_is_text_encoding", True):  # not rot13, base64 and the like
            return info.name
    return "utf-8"
