"""What a source page says about our post: does it link to it, and as what (reply, like...)?

Pure functions over HTML (no Flask, no database), so the hostile cases are easy to test:
- links_to(): the page links to the target (an <a>/<link>/<area> href, an <img>/<video>/
  <audio>/<source> src, or a microformats URL property), after resolving relative URLs;
- read_mention(): mf2py reads the page's primary h-entry (W3C Webmention 3.2.4: its first
  h-entry) for the kind (in-reply-to, like-of, repost-of, else a mention), the author (its
  h-card: name, url, photo), the text, where it was written and when;
- comment_text(): the entry's HTML made into a comment as a reader would type it (the tags
  comments allow, the rest as text), cut to a length at a word, then sanitized by the comment
  policy like any comment (blog.sanitize.clean_comment).

Everything read here is the sender's to choose: names are cut to the columns, URLs must be
http(s) (a javascript: author URL becomes no link), dates in the future become now.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from blog.sanitize import COMMENT_TAGS
from blog.webmention.models import MentionKind

# Elements whose URL attributes count as a link to the target (W3C Webmention 3.2.2).
LINK_ATTRIBUTES = {
    "a": "href",
    "link": "href",
    "area": "href",
    "img": "src",
    "video": "src",
    "audio": "src",
    "source": "src",
}
KIND_PROPERTIES = (
    ("in-reply-to", MentionKind.REPLY),
    ("like-of", MentionKind.LIKE),
    ("repost-of", MentionKind.REPOST),
)
SUMMARY_CHARS = 280
NAME_CHARS = 100
AUTHOR_URL_CHARS = 500
URL_CHARS = 2000


# --- URLs ------------------------------------------------------------------------------------


def normalize(url: str) -> str:
    """Return url as compared: scheme and host lower-cased, default port and fragment dropped."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if port and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, parts.path or "/", parts.query, ""))


def web_url(value: Any, limit: int = URL_CHARS) -> str:
    """Return value if it is an absolute http(s) URL that fits in limit, else ""."""
    if not isinstance(value, str):
        return ""
    value = value.strip()
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or len(value) > limit:
        return ""
    if any(ch.isspace() or ord(ch) < 32 for ch in value):
        return ""
    return value


def site_name(url: str) -> str:
    """Return the host of url as people name a site: "mastodon.social", not "www."."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


# --- Does the source link to the target? -------------------------------------------------------


def html_document(html: str | bytes) -> etree._Element | None:
    """Parse a whole page as HTML (a browser's reading); None when it is empty or unreadable."""
    if not html or not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def links_to(html: str | bytes, base_url: str, target: str) -> bool:
    """Return True when the page links to target (fragments and default ports aside)."""
    wanted = normalize(target)
    document = html_document(html)
    if document is None:
        return False
    base = base_url
    for element in document.iter("base"):
        if element.get("href"):
            base = urljoin(base_url, element.get("href").strip())
        break
    for tag, attribute in LINK_ATTRIBUTES.items():
        for element in document.iter(tag):
            value = element.get(attribute)
            if value is not None and normalize(urljoin(base, value.strip())) == wanted:
                return True
    return False


# --- Microformats ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Mention:
    """What the source's primary h-entry says, cleaned and cut to size."""

    kind: str
    author_name: str
    author_url: str
    author_photo: str
    url: str  # where it was written (its u-url), else the source
    summary: str  # plain text: the name, or the start of the text
    body: str  # a reply's text as a comment (the comment policy makes the HTML)
    links: int  # links in its text other than to the target (the discussion link limit)
    published: datetime | None


def parse_mf2(html: str, url: str) -> dict:
    """Run mf2py on a page we fetched (never letting it fetch anything itself).

    Imported here: mf2py brings requests, Beautiful Soup and html5lib (about 9 MB), which only
    the job worker's verification needs, not every web worker that imports this module.
    """
    import mf2py

    return mf2py.parse(doc=html, url=url, html_parser="lxml")


def _entries(items: list[dict]) -> Iterator[dict]:
    """Yield the h-entries among items and their children, top level first, in order."""
    for item in items:
        if "h-entry" in item.get("type", []):
            yield item
    for item in items:
        yield from _entries(item.get("children", []))
        for values in item.get("properties", {}).values():
            yield from _entries([v for v in values if isinstance(v, dict) and "type" in v])


def primary_entry(parsed: dict) -> dict | None:
    """Return the page's primary h-entry: its first top-level one, else the first nested one."""
    return next(_entries(parsed.get("items", [])), None)


def _urls(values: list) -> Iterator[str]:
    """Yield the URLs a property's values stand for: strings, or an embedded h-cite's url."""
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            props = value.get("properties", {})
            yield from (u for u in props.get("url", []) if isinstance(u, str))
            if isinstance(value.get("value"), str):
                yield value["value"]


def kind_of(entry: dict, target: str) -> str:
    """Return what the entry does to target: reply, like, repost, or merely mention it."""
    wanted = normalize(target)
    properties = entry.get("properties", {})
    for name, kind in KIND_PROPERTIES:
        if any(normalize(url) == wanted for url in _urls(properties.get(name, []))):
            return kind
    return MentionKind.MENTION


def mf2_links_to(parsed: dict, target: str) -> bool:
    """Return True when a microformats URL property anywhere on the page is the target."""
    wanted = normalize(target)

    def walk(items: list) -> bool:
        for item in items:
            if not isinstance(item, dict):
                continue
            for values in item.get("properties", {}).values():
                if any(normalize(u) == wanted for u in _urls(values)):
                    return True
                if walk([v for v in values if isinstance(v, dict)]):
                    return True
            if walk(item.get("children", [])):
                return True
        return False

    return walk(parsed.get("items", []))


def _plain(value: Any, limit: int) -> str:
    """Return a property value as one line of plain text, cut at a word to limit characters."""
    if isinstance(value, dict):
        value = value.get("value", "") if isinstance(value.get("value"), str) else ""
    if not isinstance(value, str):
        return ""
    text = " ".join(value.split())
    # No control or format characters: they could reorder or hide what the row shows.
    text = "".join(ch for ch in text if ch.isprintable())
    return cut(text, limit)


def cut(text: str, limit: int) -> str:
    """Cut text to at most limit characters, at a word when one ends nearby, with "…"."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - 1, 0)]
    space = head.rfind(" ")
    if space > limit * 0.6:
        head = head[:space]
    return head.rstrip(" ,.;:") + "…"


def _first(properties: dict, name: str) -> Any:
    values = properties.get(name) or [None]
    return values[0]


def _photo(value: Any) -> str:
    if isinstance(value, dict):  # mf2py 2: {"value": url, "alt": text}
        value = value.get("value")
    return web_url(value, AUTHOR_URL_CHARS)


def author_of(entry: dict, parsed: dict, source: str) -> tuple[str, str, str]:
    """Return the entry's author as (name, url, photo): its author h-card, a name or URL given
    as text, else the page's first top-level h-card; the site's name when nothing says."""
    value = _first(entry.get("properties", {}), "author")
    name = url = photo = ""
    card = value if isinstance(value, dict) else None
    if card is None and value is None:
        card = next((i for i in parsed.get("items", []) if "h-card" in i.get("type", [])), None)
    if card is not None:
        props = card.get("properties", {})
        name = _plain(_first(props, "name") or card.get("value"), NAME_CHARS)
        url = web_url(_first(props, "url"), AUTHOR_URL_CHARS)
        photo = _photo(_first(props, "photo"))
    elif isinstance(value, str):
        url = web_url(value, AUTHOR_URL_CHARS)
        name = "" if url else _plain(value, NAME_CHARS)
    if name.startswith(("http://", "https://")) and not url:
        url = web_url(name, AUTHOR_URL_CHARS)
    return name or site_name(url or source) or "Someone", url, photo


def published_of(entry: dict, now: datetime) -> datetime | None:
    """Return the entry's published time in UTC (no later than now), if it gives a valid one."""
    value = _first(entry.get("properties", {}), "published")
    if not isinstance(value, str):
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    return min(when, now)


def read_mention(
    html: str, url: str, target: str, max_chars: int, now: datetime, parsed: dict | None = None
) -> Mention:
    """Read what the page at url says about target (the caller has checked that it links).

    parsed: the page's parse_mf2(), when the caller has it already (mf2py is the slow part)."""
    if parsed is None:
        parsed = parse_mf2(html, url)
    entry = primary_entry(parsed) or {"type": ["h-entry"], "properties": {}}
    properties = entry.get("properties", {})
    kind = kind_of(entry, target)
    author_name, author_url, author_photo = author_of(entry, parsed, url)
    content = _first(properties, "content")
    content_html = ""
    if isinstance(content, dict):
        content_html = content.get("html") or html_lib.escape(content.get("value") or "")
    elif isinstance(content, str):
        content_html = html_lib.escape(content)
    name = _plain(_first(properties, "name"), SUMMARY_CHARS)
    if not content_html and name:
        content_html = html_lib.escape(name)
    body, links = comment_text(content_html, url, max_chars, ignore=target)
    text = _plain(html_lib.unescape(re.sub(r"<[^>]*>", "", body)), SUMMARY_CHARS)
    # A note's implied name is its whole text: prefer the text, cut; a titled article its title.
    summary = name if name and not text.startswith(name.rstrip("…")[:40]) else text or name
    return Mention(
        kind=kind,
        author_name=author_name,
        author_url=author_url,
        author_photo=author_photo,
        url=web_url(_first(properties, "url")) or url,
        summary=summary,
        body=body,
        links=links,
        published=published_of(entry, now),
    )


# --- HTML to comment text --------------------------------------------------------------------

# Never shown, not even as text.
_DROPPED = frozenset(
    {"script", "style", "template", "noscript", "iframe", "object", "embed", "svg", "math"}
    | {"head", "title", "textarea", "select", "option", "button", "input", "form", "canvas"}
)
# Their content starts and ends a paragraph.
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "header", "footer", "aside", "main", "nav", "address"}
    | {"ul", "ol", "li", "dl", "dt", "dd", "pre", "figure", "figcaption", "table", "tr", "hr"}
    | {"h1", "h2", "h3", "h4", "h5", "h6", "details", "summary", "blockquote"}
)
# Kept as tags (the comment policy allows them); paragraphs are made from blank lines instead.
_KEPT = COMMENT_TAGS - {"p", "br"}
_KEPT_ATTRIBUTES = {"a": ("href", "title"), "abbr": ("title",), "acronym": ("title",)}
_SPACES = re.compile(r"\s+")


class _Writer:
    """Writes the comment text, counting characters of text against a limit."""

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.left = limit
        self.cut = False

    def text(self, value: str | None) -> None:
        if not value or self.cut:
            return
        value = _SPACES.sub(" ", value)
        if len(value) > self.left:
            value = cut(value, self.left + 1).removesuffix("…") + "…"
            self.cut = True
        self.left -= len(value)
        self.parts.append(html_lib.escape(value, quote=False))

    def raw(self, markup: str) -> None:
        self.parts.append(markup)

    def paragraph(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n\n"):
            self.parts.append("\n\n")

    def result(self) -> str:
        text = "".join(self.parts)
        text = re.sub(r"[ \t]*\n[ \t]*", "\n", text)
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def _walk(element: etree._Element, out: _Writer, base: str, ignore: str, links: list[str]) -> None:
    tag = element.tag if isinstance(element.tag, str) else ""
    tag = tag.lower()
    if out.cut:
        return
    if tag in _DROPPED:
        out.text(element.tail)
        return
    if not tag:  # a comment or processing instruction: only its tail is text
        out.text(element.tail)
        return
    if tag in _BLOCKS:
        out.paragraph()
    opened = ""
    if tag == "br":
        out.raw("\n")
    elif tag == "img":
        out.text(element.get("alt"))  # an emoji image, say: its words
    elif tag in _KEPT:
        attributes = ""
        for name in _KEPT_ATTRIBUTES.get(tag, ()):
            value = element.get(name)
            if value is None:
                continue
            if name == "href":
                value = urljoin(base, value.strip())
                if normalize(value) != normalize(ignore):
                    links.append(value)
            attributes += f' {name}="{html_lib.escape(value, quote=True)}"'
        if tag == "blockquote":
            out.paragraph()
        out.raw(f"<{tag}{attributes}>")
        opened = tag
    out.text(element.text)
    for child in element:
        _walk(child, out, base, ignore, links)
    if opened:
        out.raw(f"</{opened}>")
    if tag in _BLOCKS:
        out.paragraph()
    out.text(element.tail)


def comment_text(html: str, base_url: str, limit: int, ignore: str = "") -> tuple[str, int]:
    """Return an entry's HTML as comment text of at most limit characters, and how many links
    it has (not counting links to ignore, the target)."""
    if not html or not html.strip():
        return "", 0
    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (etree.ParserError, ValueError):
        return "", 0
    out = _Writer(limit)
    links: list[str] = []
    out.text(root.text)
    for child in root:
        _walk(child, out, base_url, ignore, links)
    return out.result(), len(set(links))
