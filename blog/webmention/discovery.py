"""Finding a page's Webmention endpoint (W3C Webmention 3.1.2), as webmention.rocks tests it.

The first Link header with rel webmention wins; then the first <link> or <a> element with rel
webmention and an href, in document order (HTML only, parsed as HTML: a tag in a comment or in
escaped text is not a tag). rel is a list of words matched exactly (not "not-webmention"), in
any case. The endpoint is resolved against the page's final URL after redirects; an empty href
is the page itself; its query string is kept as it is.
"""

from __future__ import annotations

from urllib.parse import urljoin

from blog.fetch import Response
from blog.webmention.parse import html_document


def endpoint_in_headers(response: Response) -> str | None:
    """Return the endpoint the Link headers announce (absolute), if any."""
    for target, rels in response.links():
        if "webmention" in rels:
            return target
    return None


def endpoint_in_html(html: str | bytes, base_url: str) -> str | None:
    """Return the first <link>/<a rel="webmention" href> of a page, resolved, if any."""
    document = html_document(html)
    if document is None:
        return None
    for element in document.iter("link", "a"):
        rels = (element.get("rel") or "").lower().split()
        if "webmention" in rels and element.get("href") is not None:
            return urljoin(base_url, element.get("href").strip())
    return None


def find_endpoint(response: Response) -> str | None:
    """Return the endpoint of a fetched page: its Link header first, then its HTML."""
    found = endpoint_in_headers(response)
    if found is not None:
        return found
    if response.is_html:
        return endpoint_in_html(response.body, response.url)
    return None
