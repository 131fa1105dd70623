"""WordPress eXtended RSS (WXR): posts with their comments, read incrementally with lxml.

The parser never touches the network and never expands entities: an export is data, and
a hostile one must not make the parser fetch URLs or blow up memory (billion laughs).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from lxml import etree

from blog.porting.entries import FormatError, ParsedComment, ParsedEntry, ParsedPing

STATUSES = {
    "publish": "published",
    "future": "scheduled",
    "draft": "draft",
    "pending": "draft",
    "private": "draft",
}
SKIPPED_STATUSES = {
    "trash": "in the trash",
    "auto-draft": "an automatic draft WordPress saved, never written",
    "inherit": "a revision",
}
COMMENT_STATUSES = {"1": "approved", "0": "pending", "spam": "spam"}
_MORE = re.compile(r"<!--more(.*?)?-->", re.IGNORECASE)
_NO_DATE = "0000-00-00 00:00:00"


class HugeTreeNeeded(Exception):
    """The file holds a text node larger than libxml2's default safety limit."""


def looks_like(head: str) -> bool:
    """Return True when the start of a file looks like a WordPress export."""
    head = head.lstrip("\ufeff \t\r\n")
    return head.startswith(("<?xml", "<rss")) and "wordpress.org/export/" in head


def _children(element: etree._Element) -> dict[str, list[etree._Element]]:
    """Index an element's children by local name ("post_id", "encoded"...), keeping namespaces apart
    where WordPress reuses a name (content:encoded and excerpt:encoded)."""
    out: dict[str, list[etree._Element]] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        name = qname.localname
        if name == "encoded" and qname.namespace and "excerpt" in qname.namespace:
            name = "excerpt_encoded"
        out.setdefault(name, []).append(child)
    return out


def _text(index: dict[str, list[etree._Element]], name: str) -> str:
    found = index.get(name)
    # itertext() keeps an undeclared or unexpanded entity as its literal "&name;".
    return "".join(found[0].itertext()) if found else ""


def _date(text: str, zone: tzinfo | None, line: int) -> datetime | None:
    """Parse 'YYYY-MM-DD HH:MM:SS' as UTC (zone None) or as local time in zone."""
    text = text.strip()
    if not text or text == _NO_DATE:
        return None
    try:
        naive = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise FormatError(
            f"cannot read the date {text!r} (expected YYYY-MM-DD HH:MM:SS)", line
        ) from None
    return naive.replace(tzinfo=UTC) if zone is None else naive.replace(tzinfo=zone).astimezone(UTC)


def _local(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def parse(
    fh: BinaryIO,
    zone: tzinfo = UTC,
    progress: Callable[[int], None] | None = None,
    huge_tree: bool = False,
    sites: list[str] | None = None,
) -> Iterator[ParsedEntry]:
    """Read a WXR file item by item, yielding a ParsedEntry for each; raise FormatError.

    The old site's base URLs are appended to sites as they are read."""
    parser = etree.iterparse(
        fh,
        events=("end",),
        tag=("item", "{*}base_site_url", "{*}base_blog_url"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=huge_tree,
        remove_comments=True,
        remove_pis=True,
    )
    done = 0
    try:
        for _event, element in parser:
            if etree.QName(element).localname != "item":
                if sites is not None and (element.text or "").strip():
                    sites.append(element.text.strip())
                continue
            entry = _item(element, zone)
            element.clear()
            while element.getprevious() is not None:
                del element.getparent()[0]
            if progress:
                position = fh.tell()
                progress(position - done)
                done = position
            yield entry
    except etree.XMLSyntaxError as error:
        message = str(error.msg or error)
        # libxml2's safety limits on one text node ("huge text node", "CData section too
        # big"): retried with huge_tree, entity expansion stays off.
        if "huge" in message.lower() or "too big" in message.lower():
            raise HugeTreeNeeded(message) from None
        line = error.position[0] if error.position else None
        raise FormatError(f"the XML is broken: {message}", line) from None


def _item(item: etree._Element, zone: tzinfo) -> ParsedEntry:
    line = item.sourceline or 0
    index = _children(item)
    title = _text(index, "title")
    post_type = _text(index, "post_type") or "post"
    wp_status = _text(index, "status")
    post_id = _text(index, "post_id").strip()
    basename = unquote(_text(index, "post_name").strip())
    local = _local(_text(index, "post_date"))
    date = _date(_text(index, "post_date_gmt"), None, line) or _date(
        _text(index, "post_date"), zone, line
    )
    entry = ParsedEntry(
        line=line,
        title=title,
        basename=basename,
        status=STATUSES.get(wp_status, "draft"),
        date=date,
        body_format="breaks",
        comments_open=_text(index, "comment_status") == "open",
    )
    if post_type not in ("post", "page"):
        article = "an" if post_type[:1] in "aeiou" else "a"
        entry.skip = f"{article} {post_type} (only posts and pages are imported)"
        if post_type == "attachment" and _text(index, "attachment_url"):
            entry.files.append(_text(index, "attachment_url").strip())
        return entry
    if wp_status in SKIPPED_STATUSES:
        entry.skip = SKIPPED_STATUSES[wp_status]
        return entry
    if wp_status not in STATUSES:
        entry.warnings.append(f"line {line}: unknown status {wp_status!r}, imported as a draft")
    elif wp_status in ("private", "pending"):
        entry.warnings.append(f"line {line}: {title!r} was {wp_status}, imported as a draft")
    if post_type == "page":
        _page(entry, index, line)
    content = _text(index, "encoded")
    more = _MORE.search(content)
    if more:
        entry.body, entry.extended = content[: more.start()].strip(), content[more.end() :].strip()
    else:
        entry.body = content.strip()
    entry.excerpt = _text(index, "excerpt_encoded").strip()
    for category in index.get("category", []) if entry.kind == "post" else ():
        if (
            category.get("domain") in ("category", "post_tag", None)
            and (category.text or "").strip()
        ):
            name = category.text.strip()
            if name != "Uncategorized" and name not in entry.tags:
                entry.tags.append(name)
    for comment in index.get("comment", []):
        _comment(entry, comment, zone)
    entry.old_paths = _old_paths(post_id, basename, local, _text(index, "link"))
    if entry.date is None and entry.status != "draft":
        entry.skip = "no date, so no address or place in the archive"
    return entry


def _page(entry: ParsedEntry, index: dict[str, list[etree._Element]], line: int) -> None:
    """A WordPress page becomes a page, in the navigation at its menu order as WordPress lists
    it; pages are not scheduled here (the navigation changes only when the writer saves)."""
    entry.kind = "page"
    order = _text(index, "menu_order").strip()
    entry.nav_order = int(order) if order.lstrip("-").isdigit() and len(order) < 5 else 0
    if entry.status == "scheduled":
        entry.status = "draft"
        entry.warnings.append(f"line {line}: the page {entry.title!r} was scheduled: a draft now")


def _comment(entry: ParsedEntry, element: etree._Element, zone: tzinfo) -> None:
    index = _children(element)
    line = element.sourceline or 0
    kind = _text(index, "comment_type").strip()
    if kind in ("pingback", "trackback"):
        entry.pings.append(
            ParsedPing(
                line=line,
                url=_text(index, "comment_author_url").strip(),
                title=kind,
                blog_name=_text(index, "comment_author"),
            )
        )
        return
    approved = _text(index, "comment_approved").strip()
    if approved == "trash":
        return
    entry.comments.append(
        ParsedComment(
            line=line,
            author=_text(index, "comment_author"),
            text=_text(index, "comment_content"),
            date=_date(_text(index, "comment_date_gmt"), None, line)
            or _date(_text(index, "comment_date"), zone, line),
            email=_text(index, "comment_author_email"),
            url=_text(index, "comment_author_url"),
            ip=_text(index, "comment_author_IP"),
            status=COMMENT_STATUSES.get(approved, "pending"),
            old_id=_text(index, "comment_id").strip(),
            old_parent_id=_text(index, "comment_parent").strip().lstrip("0"),
        )
    )


def _old_paths(post_id: str, slug: str, local: datetime | None, link: str) -> list[tuple[str, str]]:
    """The addresses WordPress gave a post: ?p=ID, /YYYY/MM/DD/slug/, its own link, and feeds."""
    paths: list[tuple[str, str]] = []
    if post_id:
        paths += [(f"/?p={post_id}", "post"), (f"/?p={post_id}&feed=rss2", "comments-feed")]
    if slug and local is not None:
        base = f"/{local:%Y/%m/%d}/{slug}/"
        paths += [(base, "post"), (base + "feed/", "comments-feed")]
    parts = urlsplit(link.strip())
    path = unquote(parts.path)
    if path and path != "/" and not parts.query:
        if not path.endswith("/") and "." not in path.rsplit("/", 1)[-1]:
            path += "/"
        for candidate in ((path, "post"), (path.rstrip("/") + "/feed/", "comments-feed")):
            if candidate[0] not in (p for p, _ in paths):
                paths.append(candidate)
    return paths
