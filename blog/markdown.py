"""Markdown to safe HTML for posts: markdown-it-py renders, blog.sanitize cleans."""

from __future__ import annotations

import re
from html import unescape

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

from blog.sanitize import clean_post_html

_ALIGN = re.compile(r"text-align:(left|center|right)")


def _table_alignment(state: StateCore) -> None:
    """Say a column's alignment with a class: a strict CSP blocks style attributes."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and "style" in token.attrs:
            match = _ALIGN.fullmatch(str(token.attrs.pop("style")))
            if match:
                token.attrs["class"] = f"align-{match.group(1)}"


def _parser() -> MarkdownIt:
    # Raw HTML stays allowed for the writer; the sanitizer decides what survives.
    md = MarkdownIt("commonmark", {"html": True, "typographer": True}).enable(
        ["table", "strikethrough", "replacements", "smartquotes"]
    )
    md.core.ruler.push("table_alignment", _table_alignment)
    return md


_md = _parser()


def render_markdown(source: str) -> str:
    """Return the sanitized HTML of a post body written in Markdown."""
    return clean_post_html(_md.render(source or ""))


# Tags that separate words; any other tag (em, a, code...) may sit inside a word.
_BLOCK_TAG = re.compile(
    r"</?(?:address|article|aside|blockquote|br|caption|dd|div|dl|dt|figcaption|figure|footer|"
    r"h[1-6]|header|hr|img|li|ol|p|pre|section|table|tbody|td|tfoot|th|thead|tr|ul)\b[^>]*>",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]*>")


def plain_text(html: str) -> str:
    """Return the text of sanitized HTML without markup, whitespace collapsed (for search)."""
    return " ".join(unescape(_TAG.sub("", _BLOCK_TAG.sub(" ", html))).split())


def plain_excerpt(html: str, length: int = 280) -> str:
    """Return the first words of rendered HTML as plain text, cut at a word boundary."""
    text = plain_text(html)
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0] + "…"
