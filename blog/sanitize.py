"""The sanitizing policy: bleach cleans and linkifies, nh3 re-checks. No Flask in here.

A comment is text: what a reader typed is shown as typed, except for the few tags
WordPress allows in comments, which keep their meaning. Everything else (a ``<script>``,
an ``<img onerror>``) is escaped by bleach and shows as text. Blank lines make paragraphs
and line breaks make ``<br>``. nh3 then parses bleach's output again with the same
allowlist: a second, independent parser that must agree nothing dangerous is left.
"""

from __future__ import annotations

import html
import re
import threading
import urllib.parse
from collections.abc import Iterator
from functools import partial

import bleach
import nh3
from bleach.html5lib_shim import Filter
from bleach.linkifier import LinkifyFilter

LINK_REL = "nofollow ugc noopener"
URL_SCHEMES = frozenset({"http", "https", "mailto"})
IMAGE_SCHEMES = frozenset({"http", "https"})
# Attributes whose value is a URL a browser may follow or fetch.
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})

# What WordPress allows in comments, plus paragraphs and line breaks.
COMMENT_TAGS = frozenset(
    {
        "a",
        "abbr",
        "acronym",
        "b",
        "blockquote",
        "cite",
        "code",
        "del",
        "em",
        "i",
        "q",
        "s",
        "strike",
        "strong",
        "p",
        "br",
    }
)
# A comment written in Markdown (blog.comments.formatting) may also hold lists and code blocks:
# the only tags Markdown makes that the plain-text policy has not (headings, images and tables
# are switched off in the parser; typed HTML beyond these tags is escaped, as in plain text).
MARKDOWN_COMMENT_TAGS = COMMENT_TAGS | frozenset({"ul", "ol", "li", "pre"})
COMMENT_ATTRIBUTES: dict[str, frozenset[str]] = {
    "a": frozenset({"href", "title"}),
    "abbr": frozenset({"title"}),
    "acronym": frozenset({"title"}),
    "blockquote": frozenset({"cite"}),
    "del": frozenset({"datetime"}),
    "q": frozenset({"cite"}),
}

# Post bodies come from the trusted writer but are still sanitized: a wider allowlist.
POST_TAGS = COMMENT_TAGS | frozenset(
    {
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
        "img",
        "picture",
        "source",
        "figure",
        "figcaption",
        "table",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "th",
        "td",
        "pre",
        "hr",
        "sup",
        "sub",
        "mark",
        "kbd",
        "samp",
        "var",
        "small",
        "span",
        "div",
        "ins",
        "u",
    }
)
_HEADING_ID = {f"h{n}": frozenset({"id"}) for n in range(1, 7)}
POST_ATTRIBUTES: dict[str, frozenset[str]] = {
    **COMMENT_ATTRIBUTES,
    **_HEADING_ID,
    "a": frozenset({"href", "title", "id"}),
    # srcset, sizes and <picture><source> show an uploaded image's sizes (blog.media.markup).
    "img": frozenset(
        {"src", "alt", "title", "width", "height", "srcset", "sizes", "loading", "decoding"}
    ),
    "source": frozenset({"srcset", "sizes", "type"}),
    "th": frozenset({"class", "colspan", "rowspan", "scope"}),
    "td": frozenset({"class", "colspan", "rowspan"}),
    "ol": frozenset({"start", "reversed"}),
    "code": frozenset({"class"}),
    "ins": frozenset({"datetime"}),
    "li": frozenset({"id"}),
    "sup": frozenset({"id"}),
}
# The only classes a post keeps: fenced code's language (markdown-it) and table column
# alignment (blog.markdown).
_CLASSES = {
    "code": re.compile(r"language-[\w+#.-]{1,40}"),
    "th": re.compile(r"align-(?:left|center|right)"),
    "td": re.compile(r"align-(?:left|center|right)"),
}

# --- URLs ------------------------------------------------------------------------------

# The WHATWG URL parser strips leading/trailing C0 controls and spaces, removes every tab
# and newline, then reads a scheme: an ASCII letter, then letters, digits, "+", "-", ".".
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")


# http(s) URLs must name a host: "http:javascript:alert(1)" is refused, not guessed at.
_WEB_URL = re.compile(r"https?://[^/?#\\\s]", re.IGNORECASE)


def _browser_url(value: str) -> str:
    """Return an attribute value as the URL parser sees it.

    Entities are decoded first (bleach hands over raw attribute text, nh3 decoded text;
    decoding twice only makes the check stricter).
    """
    return _TAB_OR_NEWLINE.sub("", html.unescape(value).strip(_C0_AND_SPACE))


def url_scheme(value: str) -> str:
    """Return the lower-cased scheme a browser reads in an attribute value ("" if relative)."""
    match = _SCHEME.match(_browser_url(value))
    return match.group(1).lower() if match else ""


def _url_allowed(tag: str, name: str, value: str, relative_ok: bool) -> bool:
    url = _browser_url(value)
    match = _SCHEME.match(url)
    scheme = match.group(1).lower() if match else ""
    if scheme in ("http", "https") and not _WEB_URL.match(url):
        return False
    if not scheme:
        # A comment links only to absolute http(s)/mailto URLs; a post may link to and show
        # images from its own site.
        return relative_ok and bool(url)
    if tag == "img" and name == "src":
        return scheme in IMAGE_SCHEMES
    return scheme in URL_SCHEMES


# An image candidate's descriptor: "480w" or "2x".
_DESCRIPTOR = re.compile(r"[1-9][0-9]{0,4}w|[0-9]{1,2}(?:\.[0-9]{1,3})?x")
# <img sizes>: media conditions and lengths, no quotes, braces or semicolons.
_SIZES = re.compile(r"[a-z0-9\s().,:%+*/-]{1,300}", re.IGNORECASE)
_KEYWORDS = {
    "loading": frozenset({"lazy", "eager"}),
    "decoding": frozenset({"async", "sync", "auto"}),
    "type": frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/avif"}),
}


def _srcset_allowed(value: str, relative_ok: bool) -> bool:
    """Every candidate of a srcset is an image URL a src may hold, with a w or x descriptor."""
    candidates = [c.strip() for c in value.split(",")]
    for candidate in candidates:
        url, _, descriptor = candidate.partition(" ")
        descriptor = descriptor.strip()
        if not url or not _url_allowed("img", "src", url, relative_ok):
            return False
        if descriptor and not _DESCRIPTOR.fullmatch(descriptor):
            return False
    return bool(candidates)


def _value_allowed(tag: str, name: str, value: str, relative_ok: bool) -> bool:
    """Apply the value rules the allowlists cannot express (URL schemes, code classes)."""
    if name in URL_ATTRIBUTES:
        return _url_allowed(tag, name, value, relative_ok)
    if name == "srcset":
        return _srcset_allowed(value, relative_ok)
    if name == "sizes":
        return bool(_SIZES.fullmatch(value))
    if name in _KEYWORDS:
        return value.strip().lower() in _KEYWORDS[name]
    if name == "class":
        allowed = _CLASSES.get(tag)
        return allowed is not None and all(allowed.fullmatch(c) for c in value.split())
    return True


# --- Linkify ---------------------------------------------------------------------------

# Bare URLs become links only with an explicit http(s):// or www. in front: "settings.py"
# or "node.js" in a sentence stays text. Trailing punctuation and an unmatched ")" stay
# out of the link.
_URL_RE = re.compile(
    r"""(?<![\w@./:-])
    (?:https?://|www\.)
    (?:[\w-]+\.)+[\w-]{2,63}                             # host
    (?::\d{1,5})?                                       # port
    (?:[/?#]
        (?:[^\s<>"'`{}|\\^()]|\([^\s<>"'`{}|\\^()]*\))*  # path, (balanced) parentheses
        (?<![.,;:!?])                                   # not the sentence's full stop
    )?
    """,
    re.IGNORECASE | re.VERBOSE,
)
# bleach's own email pattern may start inside any word and rescan it: quadratic time on a
# long run of letters (20 KB took a minute). This one starts only where an address can.
_EMAIL_RE = re.compile(
    r"""(?<![\w.!#$%&'*+/=?^`{|}~@-])
    [\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*
    @(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?![\w-])
    """,
    re.IGNORECASE | re.VERBOSE,
)


def _link_callback(attrs: dict, new: bool = False) -> dict | None:
    """Give every link in a comment the rel of user content; unlink a bad new link."""
    href = attrs.get((None, "href"))
    if new and (href is None or not _url_allowed("a", "href", href, relative_ok=False)):
        return None
    attrs[(None, "rel")] = LINK_REL
    return attrs


# --- Paragraphs ------------------------------------------------------------------------

_BLOCKS = frozenset({"p", "blockquote"})
_SPACE_RUNS = re.compile(r"([ \t\n\f\r]+)")


class _Block:
    """Where paragraphs are made: the comment itself, a <blockquote>, or a typed <p>."""

    __slots__ = ("auto", "depth", "open", "pending")

    def __init__(self, auto: bool, depth: int) -> None:
        self.auto = auto  # wraps its own inline content in <p> (root and <blockquote>)
        self.depth = depth  # depth of the open-element stack at which its children sit
        self.open = False  # an automatic <p> is open, or a typed <p> has content
        self.pending = ""  # white space seen at this level, not yet written


class ParagraphFilter(Filter):
    """Turn blank lines into paragraphs and line breaks into <br>, as WordPress does.

    It runs on bleach's token stream after cleaning, so every tag it sees is allowed and
    every newline it touches is text, never inside a tag or an attribute.
    """

    def __iter__(self) -> Iterator[dict]:
        after_br = False  # a newline right after a typed <br> adds no second one
        for token in self._tokens():
            kind = token["type"]
            if kind == "Break":
                if not after_br:
                    yield {"type": "EmptyTag", "name": "br", "data": {}}
                yield {"type": "Characters", "data": "\n"}
                after_br = False
                continue
            if kind == "EmptyTag":
                after_br = token["name"] == "br"
            elif not (kind in ("Characters", "SpaceCharacters") and not token["data"].strip()):
                after_br = False
            yield token

    def _tokens(self) -> Iterator[dict]:
        stack: list[str] = []
        blocks = [_Block(auto=True, depth=0)]
        for token in super().__iter__():
            kind = token["type"]
            name = token.get("name")
            block = blocks[-1]
            direct = len(stack) == block.depth
            if kind in ("Characters", "SpaceCharacters"):
                if direct:
                    yield from self._text(block, token["data"])
                else:
                    yield from self._breaks(token["data"])
            elif kind == "StartTag" and name in _BLOCKS:
                if direct:
                    yield from self._close(block)
                yield token
                stack.append(name)
                blocks.append(_Block(auto=name == "blockquote", depth=len(stack)))
            elif kind == "EndTag" and name in _BLOCKS and len(stack) == block.depth:
                yield from self._close(block)
                blocks.pop()
                stack.pop()
                yield token
            elif kind == "EndTag":
                stack.pop()
                yield token
            else:
                if direct:
                    yield from self._content(block)
                if kind == "StartTag":
                    stack.append(name)
                yield token
        yield from self._close(blocks[0])

    def _text(self, block: _Block, data: str) -> Iterator[dict]:
        for piece in _SPACE_RUNS.split(data):
            if not piece:
                continue
            if _SPACE_RUNS.fullmatch(piece):
                if block.auto and piece.count("\n") >= 2:
                    yield from self._close(block)
                else:
                    block.pending += piece
            else:
                yield from self._content(block)
                yield {"type": "Characters", "data": piece}

    def _content(self, block: _Block) -> Iterator[dict]:
        """Open the block's paragraph for content, or write the white space before it."""
        if not block.open:
            block.open = True
            if block.auto:
                yield {"type": "StartTag", "name": "p", "namespace": None, "data": {}}
        else:
            yield from self._breaks(block.pending)
        block.pending = ""

    def _close(self, block: _Block) -> Iterator[dict]:
        if block.auto and block.open:
            yield {"type": "EndTag", "name": "p", "namespace": None}
            block.open = False
        block.pending = ""

    @staticmethod
    def _breaks(data: str) -> Iterator[dict]:
        for i, line in enumerate(data.split("\n")):
            if i:
                yield {"type": "Break"}
            if line:
                yield {"type": "Characters", "data": line}


# --- Ids in posts ----------------------------------------------------------------------

# Every id a post's HTML keeps starts with this: the page around a post has ids of its own
# (comments, comment-list, main...), and an imported <a id="comment-list"> would hide the
# htmx target of the comment form. No template gives this prefix to an element of a page that
# shows a post's HTML.
POST_ID_PREFIX = "post-"


class PostIdFilter(Filter):
    """Prefix every id in a post (POST_ID_PREFIX), and the in-post links to them.

    It runs after cleaning, so only the ids the allowlist keeps (headings, a, li, sup) are
    seen. A link to "#x" where x is an id of this post becomes "#post-x", so footnotes and their
    back-links keep working; a link to "#comments" (an id of the page, not of the post) stays.
    """

    def __iter__(self) -> Iterator[dict]:
        tokens = list(super().__iter__())  # a post is small; the ids may come after the links
        ids = {
            value
            for token in tokens
            if token["type"] in ("StartTag", "EmptyTag")
            for (_namespace, name), value in token["data"].items()
            if name == "id"
        }
        for token in tokens:
            if token["type"] in ("StartTag", "EmptyTag") and token["data"]:
                token["data"] = {
                    key: _prefixed(key[1], value, ids)
                    for key, value in token["data"].items()
                    if not (key[1] == "id" and not value.strip())
                }
            yield token


def _prefixed(name: str, value: str, ids: set[str]) -> str:
    if name == "id":
        return POST_ID_PREFIX + value
    if name == "href" and value.startswith("#"):
        fragment = value[1:]
        if fragment in ids or urllib.parse.unquote(fragment) in ids:
            return "#" + POST_ID_PREFIX + fragment
    return value


# --- The two passes --------------------------------------------------------------------


def _bleach_attribute_filter(attributes: dict[str, frozenset[str]], relative_ok: bool):
    def allow(tag: str, name: str, value: str) -> bool:
        return name in attributes.get(tag, ()) and _value_allowed(tag, name, value, relative_ok)

    return allow


def _nh3_attribute_filter(relative_ok: bool):
    # nh3 checks href and src schemes but not cite, and knows no class rule: do both here.
    def check(tag: str, name: str, value: str) -> str | None:
        return value if _value_allowed(tag, name, value, relative_ok) else None

    return check


def _two_passes(
    tags: frozenset[str],
    attributes: dict[str, frozenset[str]],
    *,
    relative_ok: bool,
    link_rel: str | None,
    filters: list | None = None,
    **nh3_options,
) -> tuple[bleach.Cleaner, nh3.Cleaner]:
    """Build bleach (first pass) and nh3 (the check) for one allowlist."""
    first = bleach.Cleaner(
        tags=tags,
        attributes=_bleach_attribute_filter(attributes, relative_ok),
        protocols=URL_SCHEMES,
        strip=False,
        strip_comments=True,
        filters=filters,
    )
    second = nh3.Cleaner(
        tags=set(tags),
        clean_content_tags=set(),
        attributes={tag: set(names) for tag, names in attributes.items()},
        attribute_filter=_nh3_attribute_filter(relative_ok),
        strip_comments=True,
        link_rel=link_rel,
        url_schemes=set(URL_SCHEMES),
        url_relative="pass_through" if relative_ok else "deny",
        **nh3_options,
    )
    return first, second


def _comment_cleaners() -> tuple[bleach.Cleaner, nh3.Cleaner]:
    linkify = partial(
        LinkifyFilter,
        callbacks=[_link_callback],
        skip_tags={"code"},
        parse_email=True,
        url_re=_URL_RE,
        email_re=_EMAIL_RE,
    )
    return _two_passes(
        COMMENT_TAGS,
        COMMENT_ATTRIBUTES,
        relative_ok=False,
        link_rel=LINK_REL,
        filters=[linkify, ParagraphFilter],
    )


def _markdown_comment_cleaners() -> tuple[bleach.Cleaner, nh3.Cleaner]:
    # The same policy and linkifier as a plain-text comment, without the paragraph filter:
    # markdown-it made the paragraphs and <br>s already (and a newline in a <pre> is no <br>).
    linkify = partial(
        LinkifyFilter,
        callbacks=[_link_callback],
        skip_tags={"code", "pre"},
        parse_email=True,
        url_re=_URL_RE,
        email_re=_EMAIL_RE,
    )
    return _two_passes(
        MARKDOWN_COMMENT_TAGS,
        COMMENT_ATTRIBUTES,
        relative_ok=False,
        link_rel=LINK_REL,
        filters=[linkify],
    )


def _post_cleaners() -> tuple[bleach.Cleaner, nh3.Cleaner]:
    return _two_passes(
        POST_TAGS,
        POST_ATTRIBUTES,
        relative_ok=True,
        # The writer's own links are editorial: followed, no rel.
        link_rel=None,
        filters=[PostIdFilter],
        set_tag_attribute_values={"img": {"loading": "lazy", "decoding": "async"}},
    )


# A bleach Cleaner keeps parser state: one per thread, built on first use.
_local = threading.local()


_BUILDERS = {
    "comment": _comment_cleaners,
    "markdown comment": _markdown_comment_cleaners,
    "post": _post_cleaners,
}


def _cleaners(kind: str) -> tuple[bleach.Cleaner, nh3.Cleaner]:
    cleaners = getattr(_local, kind, None)
    if cleaners is None:
        cleaners = _BUILDERS[kind]()
        setattr(_local, kind, cleaners)
    return cleaners


def clean_comment(text: str) -> str:
    """Return safe HTML for a reader's comment as typed: allowlisted tags, linkified URLs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ""
    first, second = _cleaners("comment")
    return second.clean(first.clean(text))


def clean_comment_html(html_text: str) -> str:
    """Return safe HTML for a comment already rendered from Markdown: the comment policy plus
    lists and code blocks, bare URLs linkified, every link rel="nofollow ugc noopener"."""
    if not html_text.strip():
        return ""
    first, second = _cleaners("markdown comment")
    return second.clean(first.clean(html_text))


def clean_post_html(html_text: str) -> str:
    """Return safe HTML for a post body already rendered from Markdown."""
    if not html_text.strip():
        return ""
    first, second = _cleaners("post")
    return second.clean(first.clean(html_text))
