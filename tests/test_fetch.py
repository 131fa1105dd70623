"""blog.fetch: what the blog refuses to fetch (SSRF), and the limits on what it does fetch.

Real servers on loopback stand in for the internet. Without FETCH_ALLOW_PRIVATE_ADDRESSES a
loopback server is itself a forbidden address, so the tests of the address rule let exactly one
loopback address through (Limits.also_allowed, never set from configuration) and prove that every
other non-public address is refused, before any connection: the servers there record no request.
"""

from __future__ import annotations

import ipaddress
import time

import pytest

from blog import fetch
from tests.helpers.sites import Site, drip, huge, silent

LOOPBACK = ipaddress.ip_address("127.0.0.1")
# The loopback test server stands in for a public site; everything else keeps the real rule.
AS_IF_PUBLIC = fetch.Limits(also_allowed=frozenset({LOOPBACK}), total_timeout=5)
OPEN = fetch.Limits(allow_private=True, total_timeout=5)


@pytest.fixture
def site():
    with Site() as s:
        yield s


@pytest.fixture
def other():
    """A second server on another loopback address (127.0.0.2): "the private network"."""
    with Site("127.0.0.2") as s:
        yield s


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "100.64.0.1",  # carrier-grade NAT
        "169.254.169.254",  # the cloud metadata service
        "0.0.0.0",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "192.0.2.1",  # documentation
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",  # IPv4-mapped loopback
        "::ffff:10.0.0.1",
        "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
        "2002:a00:1::1",  # 6to4 wrapping 10.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 wrapping 169.254.169.254
        "2001::1",  # Teredo
        "2001:db8::1",  # documentation
    ],
)
def test_non_public_addresses_are_refused(address):
    ip = ipaddress.ip_address(address)
    assert not fetch.is_public(ip)
    with pytest.raises(fetch.Refused, match="not a public internet address"):
        fetch.checked_address(address, 80, fetch.Limits(), fetch.system_resolver)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address):
    assert fetch.is_public(ipaddress.ip_address(address))
    assert fetch.checked_address(address, 443, fetch.Limits(), fetch.system_resolver) == address


def test_loopback_is_never_fetched_without_the_flag(site):
    site.page("/", "<p>the admin on localhost</p>")
    for url in (site.url + "/", f"http://localhost:{site.port}/", f"http://[::1]:{site.port}/"):
        with pytest.raises(fetch.Refused):
            fetch.fetch(url, fetch.Limits())
    assert site.seen == []  # refused before connecting: nothing reached the server
    # The flag (tests, a development machine) lets it through.
    assert fetch.fetch(site.url + "/", OPEN).status == 200


def test_only_http_and_https(site):
    for url in ("ftp://example.org/x", "file:///etc/passwd", "gopher://x/", "javascript:alert(1)"):
        with pytest.raises(fetch.Refused, match="only http and https"):
            fetch.fetch(url, OPEN)
    with pytest.raises(fetch.Refused, match="user name or password"):
        fetch.fetch(f"http://user:secret@127.0.0.1:{site.port}/", OPEN)
    assert site.seen == []


def test_a_redirect_into_a_private_address_is_refused(site, other):
    """Each hop is checked like a new URL: the public site may not send us inward."""
    other.page("/secret", "<p>internal</p>")
    site.page("/hop1", status=302, headers={"Location": "/hop2"})
    site.page("/hop2", status=301, headers={"Location": other.url + "/secret"})
    site.page("/meta", status=307, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    site.page("/v6", status=308, headers={"Location": f"http://[::1]:{site.port}/hop1"})
    with pytest.raises(fetch.Refused, match=r"127\.0\.0\.2 is not a public"):
        fetch.fetch(site.url + "/hop1", AS_IF_PUBLIC)
    for path in ("/meta", "/v6"):
        with pytest.raises(fetch.Refused, match="not a public internet address"):
            fetch.fetch(site.url + path, AS_IF_PUBLIC)
    assert other.seen == []
    assert site.hits("/hop1") == 1 and site.hits("/hop2") == 1
    # The same chain with the flag: followed to the end (that is all the flag changes).
    response = fetch.fetch(site.url + "/hop1", OPEN)
    assert response.status == 200 and response.url == other.url + "/secret"
    assert response.redirects == [site.url + "/hop1", site.url + "/hop2"]


def test_redirects_are_bounded(site):
    for n in range(10):
        site.page(f"/r{n}", status=302, headers={"Location": f"/r{n + 1}"})
    site.page("/r10", "<p>end</p>")
    with pytest.raises(fetch.Refused, match="more than 5 redirects"):
        fetch.fetch(site.url + "/r0", OPEN)
    assert site.hits("/r6") == 0
    assert fetch.fetch(site.url + "/r5", OPEN).url == site.url + "/r10"  # exactly 5: fine


def test_the_address_checked_is_the_address_connected_to(site):
    """DNS rebinding: the name is resolved once, and that address is the one we connect to."""
    site.page("/", "<p>hello</p>")
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]])
    asked = []

    def rebinding(host, port):
        asked.append(host)
        return next(answers)

    response = fetch.fetch(f"http://rebind.test:{site.port}/", AS_IF_PUBLIC, resolver=rebinding)
    assert response.status == 200 and asked == ["rebind.test"]
    # The request reached the checked address, naming the host as the URL did.
    assert site.seen[-1].headers["Host"] == f"rebind.test:{site.port}"
    # A name with a private address among its answers is refused outright.
    with pytest.raises(fetch.Refused, match=r"rebind\.test \(10\.0\.0\.1\)"):
        fetch.fetch(
            f"http://rebind.test:{site.port}/",
            AS_IF_PUBLIC,
            resolver=lambda host, port: ["127.0.0.1", "10.0.0.1"],
        )
    assert len(site.seen) == 1


def test_a_huge_page_is_refused_or_cut(site):
    limits = fetch.Limits(allow_private=True, max_bytes=100_000, total_timeout=5)
    site.route("/declared", huge(3_000_000))
    site.route("/undeclared", huge(3_000_000, declare=False))
    with pytest.raises(fetch.TooLarge, match="3,000,000 declared"):
        fetch.fetch(site.url + "/declared", limits)
    with pytest.raises(fetch.TooLarge, match="stopped reading"):
        fetch.fetch(site.url + "/undeclared", limits)
    cut = fetch.fetch(site.url + "/undeclared", limits, keep_truncated=True)
    assert cut.truncated and len(cut.body) == 100_000


def test_a_slow_page_cannot_hold_the_fetch(site):
    """A byte every 0.1 s never trips the read timeout; the deadline for the whole ends it."""
    site.route("/drip", drip(chunks=200, every=0.1))
    site.route("/silent", silent(3))
    limits = fetch.Limits(allow_private=True, read_timeout=1, total_timeout=1.5)
    started = time.monotonic()
    with pytest.raises(fetch.Unreachable, match="within 1.5 seconds"):
        fetch.fetch(site.url + "/drip", limits)
    assert time.monotonic() - started < 3
    started = time.monotonic()
    quick = fetch.Limits(allow_private=True, read_timeout=0.5, total_timeout=5)
    with pytest.raises(fetch.Unreachable, match="did not answer in time"):
        fetch.fetch(site.url + "/silent", quick)
    assert time.monotonic() - started < 2


def test_unreachable_hosts_are_transient(site):
    port = site.port
    site.close()
    with pytest.raises(fetch.Unreachable) as refused:
        fetch.fetch(f"http://127.0.0.1:{port}/", OPEN)
    assert refused.value.transient
    with pytest.raises(fetch.Unreachable, match="could not be resolved"):
        fetch.fetch("http://no-such-host.invalid/", OPEN)


def test_posting_a_form_does_not_follow_redirects(site):
    site.page("/endpoint", "", status=302, headers={"Location": "/elsewhere"})
    response = fetch.fetch(site.url + "/endpoint", OPEN, method="POST", form={"a": "1 2"})
    assert response.status == 302 and site.hits("/elsewhere") == 0
    (posted,) = site.posts_to("/endpoint")
    assert posted.form == {"a": "1 2"}
    assert posted.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Webmention" in posted.headers["User-Agent"]


@pytest.mark.parametrize(
    "header, expected",
    [
        ("</a>; rel=webmention", [("/a", {"webmention"})]),
        ('<http://x/a>; rel="webmention"', [("http://x/a", {"webmention"})]),
        ('<x>; rel="webmention somethingelse"', [("x", {"webmention", "somethingelse"})]),
        ('<e>; rel="other", <w>; rel="webmention"', [("e", {"other"}), ("w", {"webmention"})]),
        ("<a,b>; rel=WebMention; title=x", [("a,b", {"webmention"})]),
        ('<a>; title="a, b"; rel=next, <c>', [("a", {"next"}), ("c", set())]),
    ],
)
def test_link_headers(header, expected):
    assert [(t, set(r)) for t, r in fetch.parse_link_header(header)] == expected


def test_text_uses_the_declared_charset(site):
    site.page(
        "/latin",
        "<p>café</p>".encode("latin-1"),
        headers={"Content-Type": "text/html; charset=iso-8859-1"},
    )
    site.page(
        "/meta",
        '<meta charset="windows-1252"><p>café</p>'.encode("cp1252"),
        headers={"Content-Type": "text/html"},
    )
    site.page(
        "/bogus", "<p>café</p>".encode(), headers={"Content-Type": "text/html; charset=rot13"}
    )
    for path in ("/latin", "/meta", "/bogus"):
        assert "café" in fetch.fetch(site.url + path, OPEN).text
