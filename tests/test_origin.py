"""The cross-origin check of the public forms (blog/origin.py), rule by rule.

Sec-Fetch-Site first, then Origin, then Referer; a request with none of them passes (a program,
or a browser from before 2020: SECURITY.md says why that holds).
"""

from __future__ import annotations

import pytest

from blog.origin import cross_origin

SITE = "http://blog.test"


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        # Fetch Metadata decides when the browser sends it.
        ({"Sec-Fetch-Site": "same-origin"}, False),
        ({"Sec-Fetch-Site": "none"}, False),  # typed or bookmarked: a person's own act
        ({"Sec-Fetch-Site": "same-site"}, True),  # a sibling subdomain is another origin
        ({"Sec-Fetch-Site": "cross-site"}, True),
        ({"Sec-Fetch-Site": "cross-site", "Origin": SITE}, True),  # the header wins
        ({"Sec-Fetch-Site": "same-origin", "Origin": "https://evil.example"}, False),
        # An unknown value is ignored (forward compatibility); the Origin decides.
        ({"Sec-Fetch-Site": "later-value", "Origin": SITE}, False),
        ({"Sec-Fetch-Site": "later-value", "Origin": "https://evil.example"}, True),
        # No Fetch Metadata: the Origin must be ours.
        ({"Origin": SITE}, False),
        ({"Origin": "https://blog.test"}, False),  # TLS ended at a proxy that did not say so
        ({"Origin": "http://blog.test:8080"}, True),  # another port: another origin
        ({"Origin": "https://evil.example"}, True),
        ({"Origin": "null"}, True),  # an opaque origin: a sandboxed frame, a data: page
        ({"Origin": "http://blog.test.evil.example"}, True),
        ({"Origin": "http://evil.example/?http://blog.test"}, True),
        # No Origin either: the Referer's origin must be ours.
        ({"Referer": SITE + "/2026/11/a-post/"}, False),
        ({"Referer": "https://evil.example/" + SITE}, True),
        ({"Referer": "not a url at all"}, True),
        ({"Referer": "http://[broken/"}, True),
        # Nothing at all: not a browser, or a very old one.
        ({}, False),
    ],
)
def test_the_rules(app, headers, refused):
    with app.test_request_context("/x/", method="POST", base_url=SITE, headers=headers):
        assert (cross_origin() is not None) is refused


def test_an_http_page_posting_to_https_is_refused(app):
    """A page of ours over plain HTTP (a network in between could have changed it) may not
    post to the site over HTTPS."""
    secure = "https://blog.test"
    with app.test_request_context("/x/", method="POST", base_url=secure, headers={"Origin": SITE}):
        assert cross_origin() is not None
    with app.test_request_context(
        "/x/", method="POST", base_url=secure, headers={"Origin": secure}
    ):
        assert cross_origin() is None


def test_safe_methods_are_never_refused(app):
    for method in ("GET", "HEAD", "OPTIONS"):
        with app.test_request_context(
            "/x/", method=method, base_url=SITE, headers={"Sec-Fetch-Site": "cross-site"}
        ):
            assert cross_origin() is None
