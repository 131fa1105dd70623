"""Markdown to safe HTML for posts: markdown-it-py renders, blog.sanitize cleans."""

from __future__ import annotations

import re
from html import unescape

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.token import Token

from blog.sanitize import clean_post_html

_ALIGN = re.compile(r"text-align:(left|center|right)")


def _table_alignment(state: StateCore) -> None:
    """Say a column's alignment with a class: a strict CSP blocks style attributes."""
    for token in state.tokens:
        if token.type in ("th_open", "td_open") and "style" in token.attrs:
            match = _ALIGN.fullmatch(str(token.attrs.pop("style")))
            if match:
                token.attrs["class"] = f"align-{match.group(1)}"


def _figure_captions(state: StateCore) -> None:
    """Make an image alone in its paragraph, with a title, a figure captioned by that title.

    ![A heron in the reeds](/media/….jpg "The heron, at six in the morning")
    becomes <figure><img alt="A heron in the reeds" …><figcaption>The heron, …</figcaption>
    </figure>. The alt text describes the picture; the caption says what the writer adds.
    """
    tokens = state.tokens
    for index in range(len(tokens) - 2):
        opening, inline, closing = tokens[index : index + 3]
        if opening.type != "paragraph_open" or opening.hidden or inline.type != "inline":
            continue
        children = [c for c in inline.children or [] if c.type != "text" or c.content.strip()]
        kinds = [c.type for c in children]
        if kinds not in (["image"], ["link_open", "image", "link_close"]):
            continue
        image = children[kinds.index("image")]
        caption = str(image.attrs.pop("title", "") or "").strip()
        if not caption:
            continue
        opening.tag = closing.tag = "figure"
        figcaption = Token("figcaption", "figcaption", 0, content=caption)
        inline.children = children + [figcaption]


def _render_figcaption(self, tokens: list[Token], index: int, options, env) -> str:
    return f"<figcaption>{escapeHtml(tokens[index].content)}</figcaption>"


def _parser() -> MarkdownIt:
    # Raw HTML stays allowed for the writer; the sanitizer decides what survives.
    md = MarkdownIt("commonmark", {"html": True, "typographer": True}).enable(
        ["table", "strikethrough", "replacements", "smartquotes"]
    )
    md.core.ruler.push("table_alignment", _table_alignment)
    md.core.ruler.push("figure_captions", _figure_captions)
    md.add_render_rule("figcaption", _render_figcaption)
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
