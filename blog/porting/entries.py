"""What every importer produces: format-neutral entries, comments and pings."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class FormatError(Exception):
    """A file that cannot be imported; the message names the line to look at."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(slots=True)
class ParsedComment:
    line: int
    author: str
    text: str
    date: datetime | None
    email: str = ""
    url: str = ""
    ip: str = ""
    status: str = "approved"
    # Ids the old platform gave the comment and its parent (WordPress threads replies).
    old_id: str = ""
    old_parent_id: str = ""


@dataclass(slots=True)
class ParsedPing:
    """A trackback or pingback: reported to the writer, never turned into a comment."""

    line: int
    url: str
    title: str = ""
    blog_name: str = ""


@dataclass(slots=True)
class ParsedEntry:
    line: int
    title: str
    # Where the old platform kept it: the basename (Movable Type) or post_name (WordPress).
    basename: str
    status: str
    date: datetime | None
    body: str = ""
    extended: str = ""
    # "html", "breaks" (line breaks become paragraphs) or "markdown".
    body_format: str = "breaks"
    excerpt: str = ""
    tags: list[str] = field(default_factory=list)
    comments_open: bool = True
    comments: list[ParsedComment] = field(default_factory=list)
    pings: list[ParsedPing] = field(default_factory=list)
    # (old path, "post" or "comments-feed")
    old_paths: list[tuple[str, str]] = field(default_factory=list)
    # Movable Type: the export had no BASENAME, so basename was made from the title for the
    # new slug and the old addresses are rebuilt (blog/porting/mtpaths.py).
    basename_rebuilt: bool = False
    # Movable Type: the date as the old blog showed it (its addresses use it), its categories.
    local_date: datetime | None = None
    categories: list[str] = field(default_factory=list)
    # Files the old platform held for the entry (WordPress attachments).
    files: list[str] = field(default_factory=list)
    # "post", or "page" (WordPress pages: About, Contact...) with its place in the navigation.
    kind: str = "post"
    nav_order: int | None = None
    # Set when the entry is not to be imported: why.
    skip: str = ""
    warnings: list[str] = field(default_factory=list)
