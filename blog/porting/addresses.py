"""The old addresses an import records as LegacyPath rows, and what it could not record.

Four kinds, in this order: the addresses the export names (BASENAME, WordPress's links);
addresses rebuilt from the titles of Movable Type entries exported without a BASENAME (every
era's candidate, except one two posts of the same month share: it goes to neither, and the
report says so); the old blog's main index, monthly and category archives and feeds; and the
URLs of an --old-urls list, matched to what they showed. An address that a route of this blog
answers is never recorded: the blog's own page wins, so the row would never be read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import sqlalchemy as sa

from blog.content import slugify
from blog.extensions import db
from blog.models import LegacyPath, Post, Tag
from blog.porting.entries import ParsedEntry
from blog.porting.legacy import MAX_PATH, resolve, route_for
from blog.porting.mtpaths import (
    BasenameGuesser,
    OldPath,
    category_basenames,
    category_paths,
    month_path,
    site_paths,
)
from blog.porting.oldurls import Listed, Matcher, PostInfo

Owner = Post | Tag
FLUSH_EVERY = 1000


class AddressBook:
    """Records one import's old addresses; report collects what it could not record."""

    def __init__(self, report, kind: str, lengths: Iterable[int] = ()) -> None:
        self.report = report
        self.kind = kind
        self.lengths = tuple(lengths)
        # Every stored address and the post it leads to (an id, a Post added in this import,
        # or None for an address that leads to no post).
        self.paths: dict[str, int | Post | None] = dict(
            db.session.execute(sa.select(LegacyPath.path, LegacyPath.post_id)).all()
        )
        self.guesser = BasenameGuesser(self.lengths)
        self.guesses: dict[str, list[tuple[Post, OldPath]]] = {}
        self.months: set[tuple[int, int]] = set()
        self.categories: list[str] = []
        self.entries = 0

    def add_entry(self, entry: ParsedEntry, post: Post) -> None:
        """Record the addresses the export names; keep the rebuilt ones for finish()."""
        self.entries += 1
        for path, target in entry.old_paths:
            self.record(path, target, post=post, origin="export", line=entry.line)
        local = entry.local_date
        if local is None:
            return
        if entry.basename_rebuilt:
            # Drafts count too: Movable Type gave them basenames, which later entries avoided.
            guesses = self.guesser.paths(entry.title, entry.body, local)
            if entry.status == "published":
                for guess in guesses:
                    self.guesses.setdefault(guess.path, []).append((post, guess))
        if entry.status == "published":
            self.months.add((local.year, local.month))
            for label in entry.categories:
                if label not in self.categories:
                    self.categories.append(label)

    def finish(self, listed: list[Listed]) -> None:
        """Record the rebuilt addresses, the old blog's archives and feeds, then the list."""
        db.session.flush()  # every post and tag has its id
        for path, post, old in self._settle(self.guesses):
            self.record(path, old.target, post=post, origin="rebuilt")
        if self.kind == "mt" and self.entries:
            self._record_blog_pages()
        if listed:
            db.session.flush()
            self._match(listed)

    # --- recording ----------------------------------------------------------------------

    def record(
        self,
        path: str,
        target: str,
        *,
        post: Post | None = None,
        tag: Tag | None = None,
        origin: str,
        line: int | None = None,
    ) -> bool:
        """Store one old address unless it is known already or a route of the blog answers it."""
        path = path[:MAX_PATH]
        if path not in self.paths and "?" not in path and route_for(path) is not None:
            if not path.endswith("/") or route_for(path + "index.html") is not None:
                self.report.answered_by_blog.append(path)
                return False
            path += "index.html"  # a folder a route answers: its index file is still free
        if path in self.paths:
            owner = self.paths[path]
            if post is not None and owner is not None and owner is not post and owner != post.id:
                where = f" (line {line})" if line else ""
                self.report.path_conflicts.append(f"{path}{where} already leads to another post")
            return False
        row = LegacyPath(path=path, target=target, origin=origin)
        # By id once the post is in the database: the relationship would keep every row in
        # memory until the end (some 60,000 for a blog of 5,000 posts).
        if post is not None and post.id is not None:
            row.post_id = post.id
        else:
            row.post = post
        row.tag_id = tag.id if tag is not None else None
        db.session.add(row)
        self.paths[path] = post.id if post is not None and post.id is not None else post
        self.report.paths_recorded += 1
        if self.report.paths_recorded % FLUSH_EVERY == 0:
            db.session.flush()  # still one transaction: written rows leave memory
        return True

    def _settle(
        self, claims: dict[str, list[tuple[Owner, OldPath]]]
    ) -> Iterator[tuple[str, Owner, OldPath]]:
        """The addresses one post (or tag) claims; those several claim go to the report."""
        for path, owners in claims.items():
            distinct = list({id(owner): owner for owner, _old in owners}.values())
            if len(distinct) == 1:
                yield path, owners[0][0], owners[0][1]
            else:
                names = sorted(o.title if isinstance(o, Post) else o.name for o in distinct)
                self.report.shared.append((path, owners[0][1].target, names))

    def _record_blog_pages(self) -> None:
        """The main index, the feeds, the months and the categories of a Movable Type blog."""
        for old in site_paths():
            self.record(old.path, old.target, origin=_origin(old))
        for year, month in sorted(self.months):
            old = month_path(year, month)
            self.record(old.path, old.target, origin="archive")
        claims: dict[str, list[tuple[Owner, OldPath]]] = {}
        for label in self.categories:
            name = " ".join(label.split())[:80]
            tag = db.session.scalar(sa.select(Tag).where(Tag.slug == slugify(name, 90)))
            if tag is None:
                continue
            for folder in category_basenames(label, self.lengths):
                for old in category_paths(folder):
                    claims.setdefault(old.path, []).append((tag, old))
        for path, tag, old in self._settle(claims):
            self.record(path, old.target, tag=tag, origin=_origin(old))

    # --- the list -----------------------------------------------------------------------

    def _match(self, listed: list[Listed]) -> None:
        """Say what each listed address showed and record those that lead somewhere now."""
        posts = [
            PostInfo(id, title, "", slug, published_at)
            for id, title, slug, published_at in db.session.execute(
                sa.select(Post.id, Post.title, Post.slug, Post.published_at).where(
                    Post.published_at.is_not(None)
                )
            )
        ]
        tags = [(tag_id, name) for tag_id, name in db.session.execute(sa.select(Tag.id, Tag.name))]
        paths = [item.path for item in listed if item.path]
        matcher = Matcher(posts, tags, lengths=self.lengths, listed=paths)
        for item in listed:
            if not item.path:
                continue
            if item.path in self.paths:
                item.outcome = "known already"
                continue
            if "?" not in item.path and route_for(item.path) is not None:
                item.outcome = "a page of this blog"
                continue
            if resolve(item.path) is not None:
                item.outcome = "known already (another spelling)"
                continue
            found, why = matcher.match(item.path)
            if found is None:
                item.outcome = f"leads nowhere: {why}"
                continue
            post = db.session.get(Post, found.post_id) if found.post_id else None
            tag = db.session.get(Tag, found.tag_id) if found.tag_id else None
            # Stored without the blog's folder, like every other old address.
            path = matcher.canonical(item.path)
            if self.record(path, found.target, post=post, tag=tag, origin="list"):
                item.outcome = f"recorded: {found.how}"
            else:
                item.outcome = f"not recorded: {path} is taken or a page of this blog"


def _origin(old: OldPath) -> str:
    return "feed" if "atom" in old.target or "rss" in old.target else "archive"
