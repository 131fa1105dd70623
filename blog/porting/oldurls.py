"""A list of the old blog's URLs (import --old-urls): read it, clean it, say what each showed.

The list comes from wherever the writer found one: the old sitemap, a feed, a search
engine's console (a CSV export: the URL is taken from each line), a web archive's index
(https://web.archive.org/web/2009.../http://...: the archived URL is taken). The same address
written differently is one address: http or https, www. or not, any host, a query string or
#fragment (WordPress's ?p=ID excepted), a trailing slash after a file name, percent-escapes.

Each address is then matched to what it showed (Matcher, plain data in and out): a post,
by the date in its path and its name (the exact basename of any era, a basename cut at any
length, or most of the title's words), a post's comment feed, a category, a month, a feed, or
the old home page. The importer stores the matches as old addresses that redirect.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from blog.porting.dirify import dirify, entry_basename
from blog.porting.mtpaths import FEED_FILES, category_basenames, limits_with

MAX_PATH = 500
_WEB_ARCHIVE = re.compile(r"^(?:https?://)?web\.archive\.org/web/\d+[a-z_]*/+(.+)$", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)
_HOST_PATH = re.compile(r"^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?::\d+)?(?:/|$)", re.I)
_INDEX = re.compile(r"^index\.(?:html?|php|shtml|asp)$")
_DATE = re.compile(
    r"^(?P<folders>(?:/[^/]+)*?)/(?P<year>(?:19|20)\d\d)/(?P<month>0[1-9]|1[0-2])"
    r"(?:/(?P<day>0[1-9]|[12]\d|3[01]))?(?P<rest>/.*)?$"
)
_COMMENT_FEED = re.compile(r"^/comments/(?:atom\.xml|rss\.xml|index\.rdf|index\.xml)$|^/feed/?$")
_FEED_NAME = re.compile(r"\.(?:atom|rss|rdf)$|^(?:atom|rss|feed)(?:\.xml)?$")
_EXTENSION = re.compile(r"\.[a-z0-9]{1,6}$", re.I)
# A post may be filed under a month of the old blog's time zone up to 14 hours away from UTC.
ZONE_SLACK = timedelta(hours=14)
# A URL's words must mostly be the title's for a match by words alone.
MIN_WORDS_SHARE = 0.6


@dataclass
class Listed:
    """One line of the list: as written, as an old address, and what became of it."""

    line: int
    url: str
    path: str
    outcome: str = ""


def normalize(url: str) -> str | None:
    """The old address (a decoded path, or /?p=ID) a URL names, or None if it names none."""
    url = url.strip().strip("\"'<>")
    if archived := _WEB_ARCHIVE.match(url):
        url = archived.group(1)
        url = re.sub(r"^(https?):/(?!/)", r"\1://", url, flags=re.I)  # http:/host from an index
    if url.startswith("//"):
        url = "http:" + url
    elif not _SCHEME.match(url) and not url.startswith("/"):
        if not _HOST_PATH.match(url):
            return None
        url = "http://" + url
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("", "http", "https"):
        return None
    path = unquote(parts.path, errors="replace") or "/"
    path = re.sub(r"/{2,}", "/", path)
    query = parse_qs(parts.query)
    if path in ("/", "/index.php") and query.get("p", [""])[0].isdigit():
        feed = "&feed=rss2" if "feed" in query else ""
        return f"/?p={query['p'][0]}{feed}"
    if path.endswith("/") and "." in path.rstrip("/").rsplit("/", 1)[-1]:
        path = path.rstrip("/")  # /2009/10/post.html/ is the file
    if len(path) > MAX_PATH or any(ord(c) < 32 or ord(c) == 127 for c in path):
        return None
    return path


def _candidate(field_text: str) -> bool:
    return bool(
        field_text.startswith(("http://", "https://", "/", "//"))
        or _HOST_PATH.match(field_text)
        or _WEB_ARCHIVE.match(field_text)
    )


def read_list(path: str | Path) -> list[Listed]:
    """Read a list of URLs: one a line (or the first URL-like field of a CSV line); blank
    lines and lines starting with # are skipped. The same address twice is listed once."""
    listed: list[Listed] = []
    seen: set[str] = set()
    text = Path(path).read_bytes().decode("utf-8", "replace").lstrip("\ufeff")
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f for f in re.split(r"[\s,;]+", line.replace('"', " ")) if f]
        url = next((f for f in fields if _candidate(f)), fields[0])
        old = normalize(url)
        if old is None:
            listed.append(Listed(number, line, "", "not a URL of a page"))
        elif old not in seen:
            seen.add(old)
            listed.append(Listed(number, url, old))
    return listed


def blog_folders(paths: Iterable[str]) -> set[str]:
    """The folders the old blog lived under, seen before the dates of dated addresses."""
    folders: set[str] = set()
    for path in paths:
        if match := _DATE.match(path):
            folders.update(f for f in match.group("folders").split("/") if f)
    return folders


@dataclass(frozen=True)
class PostInfo:
    """What matching needs of a post."""

    id: int
    title: str
    text: str
    slug: str
    published_at: datetime | None


@dataclass(frozen=True)
class Found:
    """What a listed address showed: a LegacyPath target and the row it needs."""

    target: str
    post_id: int | None = None
    tag_id: int | None = None
    how: str = ""


def _norm(name: str) -> str:
    return re.sub(r"[-_]+", "_", name.lower()).strip("_")


@dataclass
class _Names:
    basenames: set[str]  # every era's basename and the slug, normalized
    wholes: list[str]  # the whole title, dirified by both rules, normalized
    words: list[str] = field(default_factory=list)


class Matcher:
    """Say what an old address showed, given the blog's posts and tags."""

    def __init__(
        self,
        posts: Iterable[PostInfo],
        tags: Iterable[tuple[int, str]],
        *,
        lengths: Iterable[int] = (),
        listed: Iterable[str] = (),
    ) -> None:
        self.limits = limits_with(lengths)
        self.posts = sorted(
            (p for p in posts if p.published_at is not None), key=lambda p: p.published_at
        )
        listed = list(listed)
        self.folders = blog_folders(listed)
        # The file names listed under each month: evidence of which numbered names existed.
        self.listed_names: dict[tuple[int, int], set[str]] = {}
        for path in listed:
            if (dated := _DATE.match(path)) and dated.group("rest"):
                name = _norm(_EXTENSION.sub("", dated.group("rest").strip("/").split("/")[0]))
                month = (int(dated.group("year")), int(dated.group("month")))
                self.listed_names.setdefault(month, set()).add(name)
        self.categories: dict[str, int] = {}
        for tag_id, name in tags:
            for folder in category_basenames(name, self.limits):
                self.categories.setdefault(_norm(folder), tag_id)
        self._names: dict[int, _Names] = {}

    # --- posts --------------------------------------------------------------------------

    def names(self, post: PostInfo) -> _Names:
        """The names the old blog could have given post (made once)."""
        names = self._names.get(post.id)
        if names is None:
            basenames = {_norm(post.slug)}
            wholes = []
            for keep in (False, True):
                for limit in self.limits:
                    base = entry_basename(post.title, post.text, limit=limit, keep_hyphens=keep)
                    basenames.add(_norm(base))
                wholes.append(_norm(dirify(post.title.strip(), keep_hyphens=keep)))
            words = [w for w in wholes[1].split("_") if w]
            names = self._names[post.id] = _Names(basenames, wholes, words)
        return names

    def _score(self, name: str, post: PostInfo) -> tuple[int, float, str] | None:
        """How well an address's file name fits post: (tier, share, how) or None."""
        names = self.names(post)
        if name in names.basenames:
            return 3, 1.0, "its exact basename"
        unsuffixed = re.sub(r"_\d+$", "", name)
        if unsuffixed != name and unsuffixed in names.basenames:
            return 2, 1.0, "its basename, made unique with a number"
        if len(name) >= 4 and any(whole.startswith(name) for whole in names.wholes):
            return 2, 1.0, "its title cut short"
        words = [w for w in name.split("_") if w]
        if not words:
            return None
        matched = sum(
            1
            for i, word in enumerate(words)
            if word in names.words
            or (i == len(words) - 1 and any(t.startswith(word) for t in names.words))
        )
        share = matched / len(words)
        if share < MIN_WORDS_SHARE:
            return None
        return 1, share, f"{matched} of its {len(words)} words in the title"

    def _posts_between(self, start: datetime, end: datetime) -> list[PostInfo]:
        return [p for p in self.posts if start - ZONE_SLACK <= p.published_at < end + ZONE_SLACK]

    def match_post(
        self, name: str, year: int, month: int, day: int | None
    ) -> tuple[PostInfo | None, str]:
        """The one post of that date whose name fits best, or None and why not."""
        if day:
            start = datetime(year, month, day, tzinfo=UTC)
            end = start + timedelta(days=1)
        else:
            start = datetime(year, month, 1, tzinfo=UTC)
            end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        scored = []
        for post in self._posts_between(start, end):
            score = self._score(name, post)
            if score is not None:
                scored.append((score[0], score[1], score[2], post))
        if not scored:
            when = f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day else "")
            return None, f"no post of {when} has a title like {name!r}"
        scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
        best = scored[0]
        rivals = [s[3] for s in scored if (s[0], s[1]) == (best[0], best[1])]
        if len(rivals) == 1:
            return best[3], f"matched by date and {best[2]}"
        post = self._numbered(name, rivals, (year, month))
        if post is not None:
            return post, "matched by date and its basename, numbered by age as Movable Type did"
        return None, "it fits " + " and ".join(f"“{p.title}”" for p in rivals[:3]) + " alike"

    def _numbered(
        self, name: str, rivals: list[PostInfo], month: tuple[int, int]
    ) -> PostInfo | None:
        """Tell apart posts that share a basename when the list shows their numbered names.

        make_unique_basename gave the older entry <base>, the next <base>_1, and so on: when
        the list has <base>, <base>_1 ... for as many posts as share it in this month, the
        n-th oldest of them is <base>_n."""
        match = re.fullmatch(r"(.+?)(?:_(\d+))?", name)
        base, number = match.group(1), int(match.group(2) or 0)
        names = self.listed_names.get(month, set())
        wanted = [base] + [f"{base}_{n}" for n in range(1, len(rivals))]
        if number >= len(rivals) or not all(n in names for n in wanted):
            return None
        return sorted(rivals, key=lambda p: (p.published_at, p.id))[number]

    def canonical(self, path: str) -> str:
        """path without the old blog's folders (the redirect finds it under any folder)."""
        segments = path.split("/")
        while len(segments) > 3 and segments[1] in self.folders:
            segments.pop(1)
        return "/".join(segments)

    def match_undated(self, name: str) -> tuple[PostInfo | None, str]:
        """A post whose exact basename (any era) or slug is name, if only one has it."""
        found = [p for p in self.posts if name in self.names(p).basenames]
        if len(found) == 1:
            return found[0], "matched by its exact basename (no date in the address)"
        if found:
            return None, f"{len(found)} posts have the basename {name!r}"
        return None, "no date in the address and no post with that exact basename"

    # --- everything ---------------------------------------------------------------------

    def match(self, path: str) -> tuple[Found | None, str]:
        """What the old address path showed, or None and why it cannot be told."""
        if path.startswith("/?"):
            return None, "a WordPress address of a post the export does not have"
        if dated := _DATE.match(path):
            return self._dated(dated)
        segments = [s for s in path.split("/") if s]
        is_index = bool(segments) and bool(_INDEX.match(segments[-1].lower()))
        is_folder = path.endswith("/") or is_index
        dirs = segments[:-1] if is_index else segments
        if is_folder and dirs and all(d in self.folders for d in dirs):
            return Found("home", how="the old blog's home page"), ""
        while len(segments) > 1 and segments[0] in self.folders:
            segments.pop(0)
        if not segments:
            return None, "the site's root"
        last = segments[-1].lower()
        if last in FEED_FILES or _FEED_NAME.search(last) or "feeds" in segments[:-1]:
            return self._feed(segments), ""
        if is_folder:
            dirs = segments[:-1] if is_index else segments
            tag_id = self.categories.get(_norm(dirs[-1])) if dirs else None
            if tag_id is not None:
                return Found("tag", tag_id=tag_id, how="a category's archive"), ""
            return None, "no category or page of the old blog has this name"
        post, why = self.match_undated(_norm(_EXTENSION.sub("", last)))
        return (Found("post", post.id, how=why), "") if post else (None, why)

    def _dated(self, dated: re.Match) -> tuple[Found | None, str]:
        year, month = int(dated.group("year")), int(dated.group("month"))
        day = int(dated.group("day")) if dated.group("day") else None
        rest = dated.group("rest") or "/"
        segments = [s for s in rest.split("/") if s]
        if not segments or _INDEX.match(segments[0]):
            return Found("month", how="a dated archive"), ""
        name = _norm(_EXTENSION.sub("", segments[0]))
        target = "post"
        if len(segments) > 1:
            if not _COMMENT_FEED.match("/" + "/".join(segments[1:])) and not _INDEX.match(
                segments[1]
            ):
                return None, "nothing of the old blog lived below a post"
            target = "post" if _INDEX.match(segments[1]) else "comments-feed"
        post, why = self.match_post(name, year, month, day)
        if post is None:
            return None, why
        return Found(target, post.id, how=why), ""

    def _feed(self, segments: list[str]) -> Found:
        last = segments[-1].lower()
        fmt = "atom" if "atom" in last else "rss"
        if len(segments) > 1:
            tag_id = self.categories.get(_norm(segments[-2]))
            if tag_id is not None:
                return Found(f"tag-{fmt}", tag_id=tag_id, how="a category's feed")
        if any("comment" in s.lower() for s in segments):
            return Found(f"comments-{fmt}", how="the blog's comment feed")
        return Found(f"posts-{fmt}", how="the blog's feed")
