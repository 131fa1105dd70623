"""A comment's text made into safe HTML, the way its format says (plain text or Markdown).

New comments are CommonMark (markdown-it-py): emphasis, strong, code spans and blocks, links,
autolinks, blockquotes and lists. Headings, images and rules are switched off (a comment is a
reply, not a page), so `# 1` stays text; line breaks break lines, as they always did here. The
HTML then goes through the comment policy of blog.sanitize (bleach, then nh3), widened only by
`ul ol li pre`: typed HTML keeps working for the tags comments always allowed, anything else is
escaped and shows as text, and a link keeps only an http(s) or mailto address.

Comments stored before Markdown (and imported ones) keep their plain-text rendering: each
comment stores its format, and `flask rerender` renders each by its own.
"""

from __future__ import annotations

from markdown_it import MarkdownIt

from blog.models import CommentFormat
from blog.sanitize import clean_comment, clean_comment_html

# Off: what a comment has no use for, and HTML blocks (typed tags are read inline, inside the
# paragraph, so a line break in them still breaks and Markdown around them still works).
OFF = ["heading", "lheading", "hr", "image", "html_block"]


def _parser() -> MarkdownIt:
    # html=True: typed tags reach the sanitizer, which keeps the allowed ones and escapes the
    # rest (as for plain text); with html=False, <em> would show as text where it used to work.
    return MarkdownIt("commonmark", {"html": True, "breaks": True}).disable(OFF)


_md = _parser()


def render_markdown_comment(text: str) -> str:
    """Return the safe HTML of a comment written in Markdown."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return ""
    return clean_comment_html(_md.render(text)).strip()


def render_comment(text: str, format: str = CommentFormat.MARKDOWN) -> str:
    """Return the safe HTML of a comment's text in its format (plain text or Markdown)."""
    if format == CommentFormat.MARKDOWN:
        return render_markdown_comment(text)
    return clean_comment(text)
