"""Markdown to safe HTML for posts: markdown-it-py renders, blog.sanitize cleans."""

from __future__ import annotations

from markdown_it import MarkdownIt

from blog.sanitize import clean_post_html

# Raw HTML stays allowed for the writer; the sanitizer decides what survives.
_md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": True}).enable(
    ["table", "strikethrough"]
)


def render_markdown(source: str) -> str:
    """Return the sanitized HTML of a post body written in Markdown."""
    return clean_post_html(_md.render(source or ""))


def plain_excerpt(html: str, length: int = 280) -> str:
    """Return the first words of rendered HTML as plain text, cut at a word boundary."""
    import re
    from html import unescape

    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
    if len(text) <= length:
        return text
    return text[:length].rsplit(" ", 1)[0] + "…"
