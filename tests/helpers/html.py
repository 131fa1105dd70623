"""Reading pages as a browser does: one parser, text, form fields, tokens and field errors."""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
import warnings

import html5lib
from html5lib.constants import DataLossWarning
from html5lib.treebuilders import etree_lxml
from lxml import etree

# Characters an lxml tree cannot hold (XML 1.0 forbids them) but a browser keeps in text,
# attribute values and comments, typed or from a character reference (&#1;): they are stored
# as U+FFFD (a form feed as a space) once the tokenizer has read them, so the tree keeps the
# shape a browser builds.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _xml_safe(data: str) -> str:
    return _NOT_XML.sub("\ufffd", data).replace("\x0c", " ")


class _TreeBuilder(etree_lxml.TreeBuilder):
    """html5lib's lxml tree builder, storing what XML cannot hold as _xml_safe() says."""

    def __init__(self, namespaceHTMLElements, fullTree=False):
        super().__init__(namespaceHTMLElements, fullTree)
        element, comment = self.elementClass, self.commentClass

        class Element(element):
            def insertText(self, data, insertBefore=None):
                super().insertText(_xml_safe(data), insertBefore)

            def _set_attributes(self, value):
                element.attributes.fset(self, {k: _xml_safe(v) for k, v in value.items()})

            attributes = property(element.attributes.fget, _set_attributes)

        class Comment(comment):
            def __init__(self, data):
                super().__init__(_xml_safe(data))

        self.elementClass, self.commentClass = Element, Comment


# One parser per thread, reused: building one (and its tree builder's classes) costs more than
# parsing a short fragment; parse() resets it.
_parsers = threading.local()


def _parser() -> html5lib.HTMLParser:
    if not hasattr(_parsers, "parser"):
        _parsers.parser = html5lib.HTMLParser(tree=_TreeBuilder, namespaceHTMLElements=False)
    return _parsers.parser


def parse(source, container: str | None = None) -> etree._Element:
    """Parse a response, bytes or text as a browser would (html5lib) into an lxml tree.

    A page, or a fragment htmx swaps in, is parsed as a document: the <html> element comes
    back, and XPath works without namespaces:
    parse(response).xpath("//form[@id='comment-form']//input/@name").
    With container (e.g. "div"), source is parsed as a browser parses HTML set as that
    element's content (innerHTML), and that element comes back holding it.
    An already parsed tree passes through.
    """
    if isinstance(source, etree._Element):
        return source
    if hasattr(source, "get_data"):
        source = source.get_data(as_text=True)  # decoded as its Content-Type says
    # Bytes come from the blog, which serves UTF-8 (a fragment has no <meta charset>).
    encoding = {"transport_encoding": "utf-8"} if isinstance(source, bytes) else {}
    parser = _parser()
    with warnings.catch_warnings():
        # lxml cannot hold some names a browser accepts (an attribute called on"click): html5lib
        # renames them and warns. The renamed attribute is still there for a check to see.
        warnings.simplefilter("ignore", DataLossWarning)
        if container is None:
            return parser.parse(source, **encoding).getroot()
        nodes = parser.parseFragment(source, container=container, **encoding)
    root = etree.Element(container)
    if nodes and isinstance(nodes[0], str):
        root.text = nodes.pop(0)
    for node in nodes:
        if isinstance(node, str):  # text after the last element
            last = root[-1] if len(root) else None
            if last is None:
                root.text = (root.text or "") + node
            else:
                last.tail = (last.tail or "") + node
        else:
            root.append(node)
    return root


def text(element) -> str:
    """Return the visible text of an element with whitespace collapsed."""
    return " ".join("".join(element.itertext()).split())


def main_text(source) -> str:
    """Return the text a reader sees in a page's <main> ("" when it has none)."""
    main = parse(source).find(".//main")
    return text(main) if main is not None else ""


def csrf_token(client, url: str = "/login") -> str:
    """Return this client's CSRF token as the page at url gives it: its first form's field,
    or, on a page without a form that posts, the header htmx sends (<body data-hx-headers>)."""
    tree = parse(client.get(url))
    values = tree.xpath("//input[@name='csrf_token']/@value")
    if values:
        return values[0]
    headers = tree.xpath("//body/@data-hx-headers")
    assert headers, f"no CSRF token on {url}"
    return json.loads(headers[0])["X-CSRFToken"]


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
