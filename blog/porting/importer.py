"""Turn parsed entries into posts, comments, tags and old addresses, in one transaction."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from html import unescape
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import lxml.html
import sqlalchemy as sa

from blog.comments.store import add_comment
from blog.content import save_post, slugify
from blog.extensions import db
from blog.markdown import plain_excerpt, render_markdown
from blog.media import importing as media_importing
from blog.models import Comment, Post, Tag, User
from blog.permalinks import page_slug_problem
from blog.porting import movabletype, wxr
from blog.porting.addresses import AddressBook
from blog.porting.entries import FormatError, ParsedComment, ParsedEntry
from blog.porting.legacy import url_context
from blog.porting.oldurls import Listed, read_list
from blog.porting.rescue import Rescue, rescue_report
from blog.sanitize import POST_ID_PREFIX

FORMATS = {"mt": "Movable Type / TypePad", "wxr": "WordPress WXR"}
# Where the body continues after the teaser: kept in the Markdown source, split again on export.
MORE = '<a id="more"></a>'
FLUSH_EVERY = 200

# CommonMark HTML blocks of type 6 run until a blank line: source without blank lines that
# starts with one of these is handed to the sanitizer untouched by Markdown.
_BLOCK_START = re.compile(
    r"^\s*<(?:address|article|aside|blockquote|center|dd|details|div|dl|dt|figcaption|figure|"
    r"footer|form|h[1-6]|header|hr|iframe|li|main|nav|ol|p|section|table|tbody|td|tfoot|th|"
    r"thead|tr|ul)(?:\s|/?>|$)",
    re.IGNORECASE,
)
_PARAGRAPH_IS_BLOCK = re.compile(
    r"^\s*(?:<!--|</?(?:address|article|aside|blockquote|center|dd|div|dl|dt|figure|footer|"
    r"form|h[1-6]|header|hr|iframe|li|main|nav|ol|p|pre|section|table|tbody|td|tfoot|th|"
    r"thead|tr|ul|script|style|object|embed)(?:\s|/?>|$))",
    re.IGNORECASE,
)
_FILE_EXT = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|bmp|tiff?|pdf|docx?|xlsx?|pptx?|odt|zip|gz|mp3|m4a|ogg|wav|"
    r"mp4|mov|avi|webm|txt|rtf|epub)$",
    re.IGNORECASE,
)


@dataclass
class Report:
    """What an import did (or, in a dry run, would do)."""

    format: str = ""
    dry_run: bool = False
    posts: Counter = field(default_factory=Counter)
    posts_existing: int = 0
    pages: int = 0
    comments: Counter = field(default_factory=Counter)
    comments_existing: int = 0
    tags_created: list[str] = field(default_factory=list)
    skipped: list[tuple[int, str, str]] = field(default_factory=list)
    pings: list[tuple[int, str, str]] = field(default_factory=list)
    old_urls: dict[str, str] = field(default_factory=dict)
    old_hosts: list[str] = field(default_factory=list)
    paths_recorded: int = 0
    path_conflicts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Old addresses: rebuilt ones two posts (or categories) share, (path, target, names);
    # those a route of this blog answers; the --old-urls list; the rescue report.
    shared: list[tuple[str, str, list[str]]] = field(default_factory=list)
    answered_by_blog: list[str] = field(default_factory=list)
    listed: list[Listed] = field(default_factory=list)
    rescue: Rescue | None = None
    # The pictures brought along (--media DIR, or the Import page's zip); None without.
    media: media_importing.Report | None = None

    @property
    def posts_created(self) -> int:
        return sum(self.posts.values())

    @property
    def comments_created(self) -> int:
        return sum(self.comments.values())

    def lines(self) -> Iterator[str]:
        """The report as text for a terminal."""
        verb = "Would import" if self.dry_run else "Imported"
        yield f"{verb} from a {FORMATS.get(self.format, self.format)} export:"
        yield (
            f"  posts: {self.posts_created} new ({self.posts['published']} published, "
            f"{self.posts['scheduled']} scheduled, {self.posts['draft']} drafts), "
            f"{self.posts_existing} already here"
        )
        if self.pages:
            yield f"  pages: {self.pages} new (About, Contact...: at /<slug>/, in the navigation)"
        yield (
            f"  comments: {self.comments_created} new ({self.comments['approved']} approved, "
            f"{self.comments['pending']} pending, {self.comments['spam']} spam), "
            f"{self.comments_existing} already here"
        )
        tags = ", ".join(self.tags_created) if self.tags_created else "none"
        yield f"  tags created: {len(self.tags_created)} ({tags})"
        yield f"  old addresses that will redirect: {self.paths_recorded} new"
        if self.skipped:
            yield f"Skipped entries ({len(self.skipped)}):"
            for line, title, reason in self.skipped:
                yield f"  line {line}: {title or '(no title)'}: {reason}"
        if self.pings:
            yield f"Trackbacks and pingbacks not imported ({len(self.pings)}; none are kept here):"
            for line, title, url in self.pings:
                yield f"  line {line}: on {title or '(no title)'}: {url or '(no URL)'}"
        for conflict in self.path_conflicts:
            yield f"Old address not recorded: {conflict}"
        for warning in self.warnings:
            yield f"Note: {warning}"
        if self.old_urls:
            where = (
                ", ".join(self.old_hosts) if self.old_hosts else "any host: the old one is unknown"
            )
            yield f"Images and files still on the old site ({where}); save them before it closes:"
            for url, title in self.old_urls.items():
                yield f"  {url}  (in {title or '(no title)'})"
        else:
            yield "No images or files point at the old site."
        if self.rescue is not None:
            yield from self.rescue.lines()
        if self.media is not None:
            yield from self.media.lines()
        if self.dry_run:
            yield "Dry run: nothing was changed."


def detect_format(head: bytes) -> str:
    """Return "mt" or "wxr" for the first bytes of an export, or raise FormatError."""
    text = head.decode("utf-8", "replace")
    if wxr.looks_like(text):
        return "wxr"
    if movabletype.looks_like(text):
        return "mt"
    raise FormatError(
        "this is neither a Movable Type / TypePad export (lines like 'TITLE: ...') "
        "nor a WordPress WXR file (XML from Tools → Export)",
        1,
    )


def zone_named(name: str) -> ZoneInfo:
    """Return the time zone called name or raise ValueError with a helpful message."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use a name like UTC, Europe/Paris or America/New_York"
        ) from None


def find_author(username: str | None) -> User:
    """Return the account posts are imported under: username, or the first account."""
    select = sa.select(User)
    select = select.where(User.username == username) if username else select.order_by(User.id)
    user = db.session.scalar(select.limit(1))
    if user is None:
        if username:
            raise ValueError(f"no account called {username!r}")
        raise ValueError(
            "the blog has no account yet: create one first (flask --app wsgi create-admin NAME)"
        )
    return user


def run_import(
    path: str | Path,
    *,
    timezone: str = "UTC",
    author: str | None = None,
    author_id: int | None = None,
    dry_run: bool = False,
    old_hosts: tuple[str, ...] = (),
    progress: Callable[[int], None] | None = None,
    old_urls: str | Path | None = None,
    basename_length: int | None = None,
    media: media_importing.Source | None = None,
) -> Report:
    """Import an export file in one transaction (rolled back for a dry run) and report.

    old_urls: a list of the old blog's URLs to match to the imported posts; basename_length:
    the old blog's own basename limit, rebuilt besides Movable Type's defaults. With media (the
    pictures saved from the old site), every picture a post shows or links to is matched to a
    file there, stored as an upload and the post pointed at it.
    """
    zone = zone_named(timezone)
    user = db.session.get(User, author_id) if author_id else find_author(author)
    with open(path, "rb") as fh:
        kind = detect_format(fh.read(65536))
    legacy = _LegacyOptions(
        read_list(old_urls) if old_urls else [], (basename_length,) if basename_length else ()
    )
    try:
        # The old addresses are checked the way the blog answers them: that builds URLs.
        with url_context():
            try:
                report = _import_file(
                    path, kind, zone, user, dry_run, old_hosts, progress, False, legacy, media
                )
            except wxr.HugeTreeNeeded:
                db.session.rollback()
                report = _import_file(
                    path, kind, zone, user, dry_run, old_hosts, progress, True, legacy, media
                )
            report.rescue = rescue_report(report.listed, report.shared, report.answered_by_blog)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return report


def _entries(
    fh: BinaryIO, kind: str, zone, progress, huge: bool, sites: list[str]
) -> Iterator[ParsedEntry]:
    if kind == "wxr":
        return wxr.parse(fh, zone, progress, huge_tree=huge, sites=sites)
    return movabletype.parse(fh, zone, progress)


@dataclass(frozen=True)
class _LegacyOptions:
    """What the writer tells about the old addresses: a list of them, a basename limit."""

    listed: list[Listed]
    lengths: tuple[int, ...]


def _import_file(
    path, kind, zone, user, dry_run, old_hosts, progress, huge, legacy: _LegacyOptions, media=None
) -> Report:
    report = Report(format=kind, dry_run=dry_run, listed=legacy.listed)
    sites: list[str] = []
    importer = _Importer(report, user, kind, old_hosts, sites, legacy.lengths)
    if media is not None:
        importer.pictures = media_importing.Attacher(media, dry_run=dry_run)
        report.media = importer.pictures.report
    with open(path, "rb") as fh:
        for count, entry in enumerate(_entries(fh, kind, zone, progress, huge, sites), 1):
            importer.add(entry)
            if count % FLUSH_EVERY == 0:
                # Still one transaction: flushing lets written rows leave memory.
                db.session.flush()
    db.session.flush()
    importer.addresses.finish(legacy.listed)
    db.session.flush()
    report.old_hosts = sorted(importer.hosts)
    return report


class _Importer:
    """The state of one import: what is already in the database, what was added."""

    def __init__(
        self, report: Report, user: User, kind: str, old_hosts, sites: list[str], lengths=()
    ) -> None:
        self.report = report
        self.user = user
        self.kind = kind
        self.sites = sites
        self.hosts = {h.lower() for h in old_hosts}
        self.pictures: media_importing.Attacher | None = None
        self.tag_slugs: set[str] = set(db.session.scalars(sa.select(Tag.slug)))
        # The old addresses: recorded as entries come, the rest by finish() at the end.
        self.addresses = AddressBook(report, kind, lengths)
        self.paths = self.addresses.paths
        self.by_date: dict[datetime | None, list[tuple[str, int | Post]]] = {}
        for post_id, slug, published_at in db.session.execute(
            sa.select(Post.id, Post.slug, Post.published_at)
        ):
            self.by_date.setdefault(published_at, []).append((slug, post_id))

    # --- posts --------------------------------------------------------------------------

    def add(self, entry: ParsedEntry) -> None:
        self._note_sites()
        self.report.warnings.extend(entry.warnings)
        for url in entry.files:
            self.report.old_urls.setdefault(url, entry.title)
        title = _plain(entry.title)
        if entry.skip:
            self.report.skipped.append((entry.line, title, entry.skip))
            return
        for ping in entry.pings:
            self.report.pings.append((ping.line, title, ping.url))
        post = self._existing(entry)
        if post is None:
            post = self._create(entry, title)
        else:
            self.report.posts_existing += 1
        self.addresses.add_entry(entry, post)
        self._add_comments(entry, post)
        if self.pictures is not None:
            self._bring_pictures(post)

    def _existing(self, entry: ParsedEntry) -> Post | None:
        """The post an earlier import made of entry: same old address, or same slug and date."""
        found: int | Post | None = None
        for path, _target in entry.old_paths[:1]:
            found = self.paths.get(path)
        if found is None:
            base = slugify(entry.basename or _plain(entry.title) or _untitled(entry))
            same = re.compile(re.escape(base) + r"(?:-\d+)?")
            for slug, post in self.by_date.get(_published_at(entry), []):
                if same.fullmatch(slug):
                    found = post
                    break
        if found is None or isinstance(found, Post):
            return found
        return db.session.get(Post, found)

    def _create(self, entry: ParsedEntry, title: str) -> Post:
        body = _body(entry)
        excerpt = _plain(entry.excerpt)
        extended = entry.extended.strip()
        if not title:
            title = _untitled(entry)
        post = save_post(
            Post(),
            title=title[:300],
            body=body,
            author_id=self.user.id,
            tags=[t[:80] for t in entry.tags],
            status=entry.status,
            published_at=_published_at(entry),
            slug=_slug(entry, title),
            excerpt=excerpt,
            comments_open=entry.comments_open,
            kind=entry.kind,
            nav_order=entry.nav_order,
        )
        if extended and not excerpt:
            # The teaser is what came before "continue reading", as on the old blog.
            post.excerpt = plain_excerpt(
                post.body_html.split(f'<a id="{POST_ID_PREFIX}more"', 1)[0]
            )
        if entry.date is not None:
            post.created_at = post.updated_at = min(entry.date, post.updated_at)
        for tag in post.tags:
            if tag.slug not in self.tag_slugs:
                self.tag_slugs.add(tag.slug)
                self.report.tags_created.append(tag.name)
        if entry.kind == "page":
            self.report.pages += 1
        else:
            self.report.posts[entry.status] += 1
        self.by_date.setdefault(post.published_at, []).append((post.slug, post))
        self._scan_urls(post.body_html, post.title)
        return post

    # --- comments -----------------------------------------------------------------------

    def _add_comments(self, entry: ParsedEntry, post: Post) -> None:
        if not entry.comments:
            return
        seen: dict[tuple, Comment] = {}
        if post.id is not None:
            for comment in db.session.scalars(sa.select(Comment).where(Comment.post_id == post.id)):
                seen[(comment.author_name, comment.created_at, comment.body.strip())] = comment
        by_old_id: dict[str, Comment] = {}
        fallback = entry.date or post.published_at
        for parsed in sorted(entry.comments, key=_thread_order):
            author = " ".join(parsed.author.split())[:100] or "Anonymous"
            text = parsed.text.replace("\r\n", "\n")
            created = parsed.date or fallback
            key = (author, created, text.strip())
            comment = seen.get(key)
            if comment is not None:
                self.report.comments_existing += 1
            else:
                parent = by_old_id.get(parsed.old_parent_id) if parsed.old_parent_id else None
                if parent is not None and parent.parent is not None:
                    parent = parent.parent  # one level of replies
                comment = add_comment(
                    post,
                    author_name=author,
                    body=text,
                    author_email=parsed.email.strip()[:254],
                    author_url=_web_url(parsed.url),
                    parent=parent,
                    status=parsed.status,
                    created_at=created,
                    ip=parsed.ip.strip()[:45],
                    reason="imported" if parsed.status != "approved" else "",
                    notify=False,
                )
                seen[key] = comment
                self.report.comments[parsed.status] += 1
            if parsed.old_id:
                by_old_id[parsed.old_id] = comment

    # --- pictures saved from the old site (blog.media.importing) -------------------------

    def _bring_pictures(self, post: Post) -> None:
        """Point the post's pictures at the saved copies; they no longer live only out there."""
        self.pictures.attach(post, self._is_old_url)
        for url in self.pictures.report.attached:
            self.report.old_urls.pop(url, None)

    def _is_old_url(self, url: str) -> bool:
        """True when url points at the old blog (or could: an MT export names no host)."""
        self._note_sites()
        host = (urlsplit(url).hostname or "").lower()
        return (
            not host
            or (self.kind == "mt" and not self.hosts)
            or host in self.hosts
            or host.endswith((".typepad.com", ".typepad.jp"))
        )

    # --- files left on the old site -----------------------------------------------------

    def _note_sites(self) -> None:
        while self.sites:
            host = urlsplit(self.sites.pop()).hostname
            if host:
                self.hosts.add(host.lower())

    def _scan_urls(self, html: str, title: str) -> None:
        unknown = self.kind == "mt" and not self.hosts
        for attr, url in _links(html):
            parts = urlsplit(url)
            if parts.scheme not in ("", "http", "https"):
                continue
            is_file = attr.lower() == "src" or bool(_FILE_EXT.search(parts.path))
            is_file = is_file or "/.a/" in parts.path or "/wp-content/uploads/" in parts.path
            if not is_file:
                continue
            host = (parts.hostname or "").lower()
            old = (
                not host
                or unknown
                or host in self.hosts
                or host.endswith((".typepad.com", ".typepad.jp"))
            )
            if old:
                self.report.old_urls.setdefault(url, title)


def _links(html: str) -> Iterator[tuple[str, str]]:
    """Yield ("src" or "href", URL) for every element of sanitized HTML that has one."""
    if not html.strip():
        return
    for element in lxml.html.fragment_fromstring(html, create_parent="div").iter():
        for attr in ("src", "href"):
            value = element.get(attr) if isinstance(element.tag, str) else None
            if value:
                yield attr, value.strip()


def _body(entry: ParsedEntry) -> str:
    """The Markdown source of an entry's body and, after a "continue reading" break, the rest."""
    body = _source(entry.body, entry.body_format)
    if entry.extended.strip():
        body = f"{body}\n\n{MORE}\n\n{_source(entry.extended, entry.body_format)}"
    return body


def _untitled(entry: ParsedEntry) -> str:
    """The title of an entry that has none: its first words (the same on every import)."""
    return plain_excerpt(render_markdown(_body(entry)), 60) or "Untitled"


def _published_at(entry: ParsedEntry) -> datetime | None:
    """A draft has no publication date yet (its old date stays as created_at)."""
    return None if entry.status == "draft" else entry.date


def _thread_order(comment: ParsedComment) -> tuple:
    """Parents before replies: WordPress ids grow with time; then by date."""
    old_id = int(comment.old_id) if comment.old_id.isdigit() else 0
    return (old_id, comment.date or datetime.min, comment.line)


def _web_url(url: str) -> str:
    """Keep a commenter's website only if it is an http(s) URL (it becomes a link)."""
    url = url.strip()
    return url[:500] if urlsplit(url).scheme in ("http", "https") and "." in url else ""


def _plain(text: str) -> str:
    """Text without tags or entities, on one line (titles, excerpts)."""
    return " ".join(unescape(re.sub(r"<[^>]*>", " ", text or "")).split())


def convert_breaks(text: str) -> str:
    """Movable Type's 'convert line breaks': paragraphs and <br>, block-level HTML left alone."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    parts = []
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        if _PARAGRAPH_IS_BLOCK.match(paragraph):
            parts.append(paragraph)
        elif paragraph.strip():
            # HTML stays as written (the post sanitizer runs on the result); lines become <br>.
            parts.append("<p>" + paragraph.strip("\n").replace("\n", "<br>\n") + "</p>")
    return "\n".join(parts)


def html_source(html: str) -> str:
    """Wrap HTML so that Markdown passes it to the sanitizer untouched.

    Blank lines would end the HTML block; each becomes a &#10; at the start of the next
    line, which keeps the line break inside <pre> and is plain whitespace elsewhere."""
    lines: list[str] = []
    pending = ""
    for line in html.replace("\r\n", "\n").replace("\r", "\n").strip().split("\n"):
        if line.strip():
            lines.append(pending + line)
            pending = ""
        elif lines:
            pending += "&#10;"
    if not lines:
        return ""
    source = "\n".join(lines)
    return source if _BLOCK_START.match(lines[0]) else f"<div>\n{source}\n</div>"


def _slug(entry: ParsedEntry, title: str) -> str:
    """The slug to ask for: a page's must not be an address the blog itself uses (/search/)."""
    slug = slugify(entry.basename or title)
    if entry.kind == "page" and page_slug_problem(slug):
        return f"{slug}-page"
    return entry.basename or title


def _source(text: str, body_format: str) -> str:
    """The Markdown source of an imported body: Markdown as is, HTML wrapped to pass through."""
    if body_format == "markdown":
        return text.strip("\n")
    if body_format == "html":
        return html_source(text)
    return html_source(convert_breaks(text))
