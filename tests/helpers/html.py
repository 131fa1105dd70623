"""Reading pages as a browser does: one parser, text, form fields, tokens and field errors."""

from __future__ import annotations

import urllib.parse

import html5lib
from lxml import etree


def parse(source) -> etree._Element:
    """Parse a response, bytes or text as a browser would (html5lib) into an lxml tree.

    A fragment is parsed into <html><body> like any page; XPath works without namespaces:
    parse(response).xpath("//form[@id='comment-form']//input/@name").
    """
    if hasattr(source, "get_data"):
        source = source.get_data()
    return html5lib.parse(source, treebuilder="lxml", namespaceHTMLElements=False).getroot()


def text(element) -> str:
    """Return the visible text of an element with whitespace collapsed."""
    return " ".join("".join(element.itertext()).split())


def csrf_token(client, url: str = "/login") -> str:
    """Return this client's CSRF token, read from the first form on url."""
    values = parse(client.get(url)).xpath("//input[@name='csrf_token']/@value")
    assert values, f"no CSRF field on {url}"
    return values[0]


def errors_by_field(source) -> dict[str, str]:
    """Map field ids to the error message shown next to them."""
    return {
        p.get("id").removesuffix("-error"): text(p)
        for p in parse(source).xpath("//p[contains(@class, 'error')][@id]")
        if p.get("id").endswith("-error")
    }


def form_fields(source, base_url: str, xpath: str) -> tuple[str, list[tuple[str, str]]]:
    """Return a form's absolute action and the fields a browser would submit as they are:
    every input (hidden ones included, empty ones empty), checked boxes only, no buttons."""
    (form,) = parse(source).xpath(xpath)
    fields = []
    for element in form.xpath(".//input | .//textarea | .//select"):
        name = element.get("name")
        kind = (element.get("type") or "text").lower()
        if not name or kind in ("submit", "button", "image", "reset", "file"):
            continue
        if kind in ("checkbox", "radio"):
            if element.get("checked") is not None:
                fields.append((name, element.get("value") or "on"))
        elif element.tag == "textarea":
            fields.append((name, element.text or ""))
        elif element.tag == "select":
            options = element.xpath(".//option[@selected]") or element.xpath(".//option")
            fields.append((name, options[0].get("value", options[0].text or "") if options else ""))
        else:
            fields.append((name, element.get("value") or ""))
    return urllib.parse.urljoin(base_url, form.get("action")), fields
