"""The pages readers read.

Anonymous readers (no cookie of ours) of the post page and the listings get the shared page:
its key first (blog.posts.keys, one or two small queries), then a 304, the cached bytes or a
render (blog.pagecache). Readers with cookies get the page rendered for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    url_for,
)
from werkzeug.http import is_resource_modified

from blog import pagecache, readers, sitemaps
from blog.bounds import page_number
from blog.extensions import db
from blog.models import Post, Tag
from blog.permalinks import POST_PATH, get_public_post
from blog.porting.legacy import redirect_legacy
from blog.posts import keys
from blog.posts.page import render_post_page

bp = Blueprint("posts", __name__)
# An imported post's old address (one no route answers) leads to the post.
bp.before_app_request(redirect_legacy)


def _month_range(year: int, month: int | None) -> tuple[datetime, datetime]:
    if month is None:
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    if month == 12:
        return datetime(year, 12, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    return datetime(year, month, 1, tzinfo=UTC), datetime(year, month + 1, 1, tzinfo=UTC)


@dataclass
class Window:
    """One page of a listing, found without counting the whole listing.

    Pagination's COUNT(*) reads every matching index entry: at 100,000 posts it cost more than
    the rest of the home page. Fetching one row more than a page tells whether there is a next
    one; the template shows "Page N" without "of M" (total and pages are None).
    """

    items: list[Post]
    page: int
    has_next: bool
    total: int | None = None  # counted only where the page says how many (search)
    pages: None = None

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _window(select: sa.Select, count: bool = False) -> Window:
    """Return the page of select asked for in ?page=N (and the total if count); 404 past the end."""
    page = page_number()
    per_page = current_app.config["POSTS_PER_PAGE"]
    rows = db.session.scalars(select.limit(per_page + 1).offset((page - 1) * per_page)).all()
    if page > 1 and not rows:
        abort(404)
    total = None
    if count:
        counted = select.order_by(None).with_only_columns(sa.func.count(Post.id))
        total = db.session.scalar(counted)
    return Window(list(rows[:per_page]), page, len(rows) > per_page, total)


def _listing(kind: str, key: keys.ListingKey | None, render):
    """Answer a listing page from its key: 404 past the end, else the shared page."""
    if key is None:
        abort(404)
    return pagecache.shared(kind, key.key, render)


@bp.route("/")
def index():
    """Show the latest published posts, newest first."""

    def render() -> str:
        return render_template("posts/index.html", page=_window(Post.published()))

    if not readers.is_anonymous():
        return render()
    per_page = current_app.config["POSTS_PER_PAGE"]
    return _listing("index", keys.home(page_number(), per_page), render)


@bp.route(POST_PATH)
def detail(year: int, month: int, slug: str):
    """Show a post with its comments."""
    replying = request.environ.get("QUERY_STRING") and "replyto" in request.args
    if replying or not readers.is_anonymous():
        # For this reader alone: their name in the form, their held comments, the form open
        # under the comment they answer (with a stamp of now), the writer's bar.
        page = render_post_page(get_public_post(year, month, slug))
        return readers.mark_personal(make_response(page))
    key = keys.post_page(year, month, slug)
    if key is None:
        get_public_post(year, month, slug)  # 410 for a deleted post, else 404
        abort(404)
    return pagecache.shared(
        "post",
        key.key,
        lambda: render_post_page(
            get_public_post(year, month, slug), shared=True, is_open=key.is_open
        ),
    )


@bp.route("/<int(fixed_digits=4):year>/")
@bp.route("/<int(fixed_digits=4):year>/<int(fixed_digits=2):month>/")
def archive(year: int, month: int | None = None):
    """Show the posts published in a year or a month."""
    if not 1 <= year <= 9998 or (month is not None and not 1 <= month <= 12):
        abort(404)
    start, end = _month_range(year, month)

    def render() -> str:
        page = _window(Post.published(start, end))
        if not page.items and page.page == 1:
            abort(404)
        label = start.strftime("%B %Y") if month else str(year)
        return render_template("posts/archive.html", page=page, label=label, year=year, month=month)

    if not readers.is_anonymous():
        return render()
    per_page = current_app.config["POSTS_PER_PAGE"]
    key = keys.span(start, end, page_number(), per_page)
    if key is not None and not key.key[-1]:
        abort(404)  # an archive with no post at all
    return _listing("archive", key, render)


@bp.route("/tags/<tag>/")
def tag(tag: str):
    """Show the posts with a tag."""
    per_page = current_app.config["POSTS_PER_PAGE"]
    found_and_key = keys.tag_page(tag, page_number(), per_page)
    if found_and_key is None:
        abort(404)
    found, key = found_and_key

    def render() -> str:
        row = db.get_or_404(Tag, found.id)
        select = Post.published().where(keys.tagged(found.id, found.walk(page_number(), per_page)))
        return render_template("posts/tag.html", page=_window(select), tag=row)

    if not readers.is_anonymous():
        return render()
    return _listing("tag", key, render)


@bp.route("/search")
def search():
    """Find published posts whose title or body contains every word of the query."""
    query = request.args.get("q", "").strip()
    limit = current_app.config["SEARCH_QUERY_MAX_LENGTH"]
    if len(query) > limit:
        error = (
            f"Your search is {len(query)} characters long; the limit is {limit}. "
            "Search for fewer or shorter words."
        )
        return render_template("posts/search.html", page=None, query=query, error=error), 422
    page = None
    if query:
        select = Post.published()
        for word in query.split()[:10]:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
            select = select.where(
                sa.or_(
                    Post.title.ilike(pattern, escape="\\"), Post.body.ilike(pattern, escape="\\")
                )
            )
        page = _window(select, count=True)
    return render_template("posts/search.html", page=page, query=query)


@bp.route("/robots.txt")
def robots():
    """Tell crawlers what to skip and where the sitemap is."""
    body = "User-agent: *\nDisallow: /admin/\nDisallow: /login\nDisallow: /setup\n"
    body += f"Sitemap: {url_for('posts.sitemap', _external=True)}\n"
    return body, 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/sitemap.xml")
def sitemap():
    """List the sitemap files for crawlers (a sitemap index), each with its lastmod."""
    return _sitemap_response(sitemaps.index_document())


@bp.route("/sitemap-<section>-<int:number>.xml")
def sitemap_file(section: str, number: int):
    """List the URLs of one sitemap file: at most 50,000, and 50 MB."""
    document = sitemaps.file_document(section, number)
    if document is None:
        abort(404)
    return _sitemap_response(document)


def _sitemap_response(document: sitemaps.Document) -> Response:
    """Answer 304 when the crawler has this version, else the (cached) document."""
    if is_resource_modified(request.environ, etag=document.etag):
        response = Response(document.build(), content_type="application/xml; charset=utf-8")
    else:
        response = Response(status=304)
    response.set_etag(document.etag)
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["SITEMAP_MAX_AGE"]
    return response
