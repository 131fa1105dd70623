"""Endpoint discovery and sending, against webmention.rocks' 23 discovery tests, served locally.

Each page below reproduces one test of aaronpk/webmention.rocks (lib/Rocks/DiscoveryTestData.php):
its Link headers (names, quoting, several values) and its HTML (<link>/<a>, relative and
absolute, in comments, escaped, without href...). A webmention is sent to each the way a post's
job does (blog.webmention.send.deliver), and the server records where it arrived: the right
endpoint, with its query string kept, and never an ".../error" one.
"""

from __future__ import annotations

import pytest

from blog import fetch
from blog.webmention.discovery import find_endpoint
from blog.webmention.models import SendState
from blog.webmention.send import deliver
from tests.helpers.sites import Site

LIMITS = fetch.Limits(allow_private=True, total_timeout=5)
SOURCE = "https://sender.example/post"


def page(link_tag: str = "", body: str = "") -> str:
    """A page laid out like webmention.rocks': <link> tags in <head>, the text in an h-entry."""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Webmention Rocks!</title>
<link href="/assets/style.css" rel="stylesheet">
{link_tag}
</head><body><div class="post-container h-entry">
<div class="e-content">{body}</div>
</div></body></html>"""


def rocks(base: str) -> dict[int, dict]:
    """The 23 tests: headers, HTML, and the endpoint path the webmention must reach."""
    return {
        1: {"headers": [("Link", "</test/1/webmention>; rel=webmention")]},
        2: {"headers": [("Link", f"<{base}/test/2/webmention>; rel=webmention")]},
        3: {"link": '<link rel="webmention" href="/test/3/webmention">'},
        4: {"link": f'<link href="{base}/test/4/webmention" rel="webmention">'},
        5: {"body": 'Its <a rel="webmention" href="/test/5/webmention">endpoint</a>.'},
        6: {"body": f'Its <a href="{base}/test/6/webmention" rel="webmention">endpoint</a>.'},
        7: {"headers": [("LinK", f"<{base}/test/7/webmention>; rel=webmention")]},
        8: {"headers": [("Link", f'<{base}/test/8/webmention>; rel="webmention"')]},
        9: {"link": f'<link rel="webmention somethingelse" href="{base}/test/9/webmention">'},
        10: {"headers": [("Link", f'<{base}/test/10/webmention>; rel="webmention somethingelse"')]},
        11: {
            "headers": [("Link", '</test/11/webmention>; rel="webmention"')],
            "link": '<link rel="webmention" href="/test/11/webmention/error">',
            "body": 'And an <a href="/test/11/webmention/error" rel="webmention">a tag</a>.',
        },
        12: {
            "link": '<link rel="not-webmention" href="/test/12/webmention/error">',
            "body": 'A <a href="/test/12/webmention" rel="webmention">correct endpoint</a>.',
        },
        13: {
            "body": 'A comment <!-- <a href="/test/13/webmention/error" rel="webmention"></a> -->'
            ' and a <a href="/test/13/webmention" rel="webmention">correct endpoint</a>.'
        },
        14: {
            "body": '<code>&lt;a href="/test/14/webmention/error" rel="webmention"&gt;&lt;/a&gt;'
            '</code> and a <a href="/test/14/webmention" rel="webmention">correct endpoint</a>.'
        },
        15: {"link": '<link rel="webmention" href="">', "endpoint": "/test/15"},
        16: {
            "body": 'An <a href="/test/16/webmention" rel="webmention">a tag</a>, then'
            ' <link rel="webmention" href="/test/16/webmention/error">.'
        },
        17: {
            "body": 'A <link rel="webmention" href="/test/17/webmention"> tag, then an'
            ' <a href="/test/17/webmention/error" rel="webmention">a tag</a>.'
        },
        18: {
            "headers": [
                ("Link", f'<{base}/test/18/webmention/error>; rel="other"'),
                ("Link", f'<{base}/test/18/webmention>; rel="webmention"'),
            ]
        },
        19: {
            "headers": [
                (
                    "Link",
                    f'<{base}/test/19/webmention/error>; rel="other", '
                    f'<{base}/test/19/webmention>; rel="webmention"',
                )
            ]
        },
        20: {
            "body": 'A <link rel="webmention"> without href, and'
            ' <a href="/test/20/webmention" rel="webmention">this endpoint</a>.'
        },
        21: {
            "link": '<link rel="webmention" href="/test/21/webmention?query=yes">',
            "endpoint": "/test/21/webmention?query=yes",
        },
        22: {"link": '<link rel="webmention" href="22/webmention">'},
        # 23: the target redirects; the endpoint is relative to the page it lands on.
        23: {"target": "/test/23/page", "endpoint": "/test/23/page/webmention-endpoint/k2"},
    }


@pytest.fixture
def rocks_site():
    with Site() as site:
        for number, test in rocks(site.url).items():
            endpoint = test.get("endpoint", f"/test/{number}/webmention")
            if number == 22:
                path = (
                    "/test/22"  # "22/webmention" resolves against /test/22 to /test/22/webmention
                )
            else:
                path = f"/test/{number}"
            if number == 23:
                site.page("/test/23/page", status=302, headers={"Location": "page/k1"})
                site.page(
                    "/test/23/page/k1",
                    '<div class="h-entry"><a rel="webmention" href="webmention-endpoint/k2">'
                    "webmention endpoint</a></div>",
                    headers=[("Link", "<webmention-endpoint/k2>; rel=webmention")],
                )
            else:
                site.page(
                    path, page(test.get("link", ""), test.get("body", "")), 200, test.get("headers")
                )
            if number != 15:
                site.page(endpoint.split("?")[0], "Accepted", 202, {"Content-Type": "text/plain"})
            site.page(
                f"/test/{number}/webmention/error",
                "Wrong endpoint",
                400,
                {"Content-Type": "text/plain"},
            )
        # Test 15's page is its own endpoint: it takes the POST too (the server answers 200).
        yield site


@pytest.mark.parametrize("number", range(1, 24))
def test_discovery_finds_the_first_endpoint(rocks_site, number):
    test = rocks(rocks_site.url)[number]
    target = rocks_site.url + test.get("target", f"/test/{number}")
    expected = rocks_site.url + test.get("endpoint", f"/test/{number}/webmention")
    assert find_endpoint(fetch.fetch(target, LIMITS)) == expected
    delivery = deliver(SOURCE, target, LIMITS)
    assert delivery.state == SendState.SENT, delivery
    assert delivery.endpoint == expected
    path = test.get("endpoint", f"/test/{number}/webmention")
    (sent,) = rocks_site.posts_to(path)
    # Query parameters stay in the URL, never in the body (test 21).
    assert sent.form == {"source": SOURCE, "target": target}
    assert rocks_site.posts_to(f"/test/{number}/webmention/error") == []
    assert sum(1 for s in rocks_site.seen if s.method == "POST") == 1


def test_a_page_without_endpoint_and_other_answers():
    with Site() as site:
        quiet = site.page("/quiet", page(body='<a rel="nofollow" href="/x">no endpoint</a>'))
        site.page("/json", '{"a": 1}', headers={"Content-Type": "application/json"})
        gone = site.page("/gone", "gone", 404, {"Content-Type": "text/plain"})
        refuses = site.page("/refuses", page('<link rel="webmention" href="/wm">'))
        site.page("/wm", "source does not exist", 400, {"Content-Type": "text/plain"})
        html_error = site.page("/html-error", page('<link rel="webmention" href="/wm2">'))
        site.page("/wm2", "<script>alert(1)</script>", 400)
        assert deliver(SOURCE, quiet, LIMITS).state == SendState.NO_ENDPOINT
        assert deliver(SOURCE, site.url + "/json", LIMITS).state == SendState.NO_ENDPOINT
        assert deliver(SOURCE, gone, LIMITS).result == "the page answered 404"
        refused = deliver(SOURCE, refuses, LIMITS)
        assert refused.state == SendState.FAILED and refused.http_status == 400
        assert refused.result == "its endpoint answered 400 Bad Request: source does not exist"
        # An HTML answer is not quoted back into the editor.
        assert deliver(SOURCE, html_error, LIMITS).result == "its endpoint answered 400 Bad Request"


def test_an_endpoint_on_a_private_address_is_never_posted_to():
    """W3C Webmention 4.3: a page may announce http://127.0.0.1/... to make us post to ourselves."""
    with Site() as site, Site("127.0.0.2") as inside:
        inside.page("/admin/delete", "done", 200)
        target = site.page(
            "/post", page(f'<link rel="webmention" href="{inside.url}/admin/delete">')
        )
        as_if_public = fetch.Limits(
            also_allowed=frozenset({fetch.ipaddress.ip_address("127.0.0.1")})
        )
        delivery = deliver(SOURCE, target, as_if_public)
        assert delivery.state == SendState.FAILED
        assert "not a public internet address" in delivery.result
        assert inside.seen == []
