"""The sanitizing policy: bleach cleans and linkifies, nh3 re-checks. No Flask in here."""

from __future__ import annotations

from functools import partial

import bleach
import nh3
from bleach.linkifier import LinkifyFilter

LINK_REL = "nofollow ugc noopener"
URL_SCHEMES = frozenset({"http", "https", "mailto"})

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
COMMENT_ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "acronym": {"title"},
    "blockquote": {"cite"},
    "del": {"datetime"},
    "q": {"cite"},
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
POST_ATTRIBUTES: dict[str, set[str]] = {
    **COMMENT_ATTRIBUTES,
    "a": {"href", "title", "id"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "td": {"align", "colspan", "rowspan"},
    "ol": {"start", "reversed"},
    "code": {"class"},
    "h1": {"id"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "h5": {"id"},
    "h6": {"id"},
    "ins": {"datetime"},
    "li": {"id"},
    "sup": {"id"},
}


def _set_rel(attrs: dict, new: bool = False) -> dict:
    """Give every link the rel of user content (a bleach linkify callback)."""
    attrs[(None, "rel")] = LINK_REL
    return attrs


def _cleaner(tags: frozenset[str], attributes: dict[str, set[str]], linkify: bool):
    filters = [partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"})]
    return bleach.Cleaner(
        tags=tags,
        attributes=attributes,
        protocols=URL_SCHEMES,
        strip=False,
        strip_comments=True,
        filters=filters if linkify else [_rel_filter],
    )


def _rel_filter(source):
    return LinkifyFilter(source, callbacks=[_set_rel], parse_email=False, url_re=_NEVER)


class _Never:
    """A regex stand-in that matches nothing, so LinkifyFilter only fixes existing links."""

    def finditer(self, _text):
        return iter(())


_NEVER = _Never()


def _nh3(html: str, tags: frozenset[str], attributes: dict[str, set[str]]) -> str:
    return nh3.clean(
        html,
        tags=set(tags),
        attributes={k: set(v) - {"rel"} for k, v in attributes.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


def text_to_html(text: str) -> str:
    """Turn plain text with blank lines into paragraphs and line breaks (HTML left as is)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ""
    paragraphs = [p.strip("\n") for p in text.split("\n\n") if p.strip()]
    return "".join(f"<p>{p.replace(chr(10), '<br>' + chr(10))}</p>" for p in paragraphs)


def clean_comment(text: str) -> str:
    """Return safe HTML for a reader's comment as typed: allowlisted tags, linkified URLs."""
    # A Cleaner is not thread-safe: build one per call (cheap next to the parse itself).
    html = _cleaner(COMMENT_TAGS, COMMENT_ATTRIBUTES, linkify=True).clean(text_to_html(text))
    return _nh3(html, COMMENT_TAGS, COMMENT_ATTRIBUTES)


def clean_post_html(html: str) -> str:
    """Return safe HTML for a post body already rendered from Markdown."""
    html = _cleaner(POST_TAGS, POST_ATTRIBUTES, linkify=False).clean(html)
    return _nh3(html, POST_TAGS, POST_ATTRIBUTES)
