"""The pages readers read.

Anonymous readers (no cookie of ours) of the post page and the listings get the shared page:
its key first (blog.posts.keys, one or two small queries), then a 304, the cached bytes or a
render (blog.pagecache). Readers with cookies get the page rendered for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
from blog.bounds import PageLinks, page_number
from blog.extensions import db
from blog.htmx import is_htmx
from blog.models import Post, Tag
from blog.permalinks import POST_PATH, get_public_post
from blog.porting.legacy import redirect_legacy
from blog.posts import keys
from blog.posts.page import render_post_page
from blog.search.engine import search as search_posts
from blog.search.query import parse as parse_query
from blog.site import site

bp = Blueprint("posts", __name__)
# An imported post's old address (one no route answers) leads to the post.
bp.before_app_request(redirect_legacy)


def _month_range(year: int, month: int | None) -> tuple[datetime, datetime]:
    """Return the start and end of a year or a month on the blog's clock (its time zone)."""
    zone = site().zone
    if month is None:
        return datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)
    if month == 12:
        return datetime(year, 12, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)
    return datetime(year, month, 1, tzinfo=zone), datetime(year, month + 1, 1, tzinfo=zone)


@dataclass
class Window(PageLinks):
    """One page of a listing, found without counting the whole listing.

    Pagination's COUNT(*) reads every matching index entry: at 100,000 posts it cost more than
    the rest of the home page. Fetching one row more than a page tells whether there is a next
    one; the template shows "Page N" without "of M" (pages is None). Search counts its
    results in its own statement (blog/search/engine.py).
    """

    items: list[Post]
    page: int
    has_next: bool
    pages: None = None


def _window(select: sa.Select) -> Window:
    """Return the page of select asked for in ?page=N; 404 past the end."""
    page = page_number()
    per_page = current_app.config["POSTS_PER_PAGE"]
    rows = db.session.scalars(select.limit(per_page + 1).offset((page - 1) * per_page)).all()
    if page > 1 and not rows:
        abort(404)
    return Window(list(rows[:per_page]), page, len(rows) > per_page)


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
        page = render_post_page(get_public_post(slug, year, month))
        return readers.mark_personal(make_response(page))
    key = pagecache.read_early() or keys.post_page(year, month, slug)
    if key is None:
        get_public_post(slug, year, month)  # 410 for a deleted post, else 404
        abort(404)
    return pagecache.shared(
        "post",
        key.key,
        lambda: render_post_page(
            get_public_post(slug, year, month), shared=True, is_open=key.is_open
        ),
    )


# (keys.post_page is looked up at each call, as the view does.)
pagecache.revalidates(bp, "detail", "post", lambda **where: keys.post_page(**where))


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
    """Find published posts and pages by their words, best first, with the words marked.

    htmx (the search page's box, as the reader types) gets the results alone; the same URL
    without JavaScript, or on a history restore, gets the whole page.
    """
    text = request.args.get("q", "").strip()
    limit = current_app.config["SEARCH_QUERY_MAX_LENGTH"]
    context = {"query": text, "parsed": None, "results": None, "error": ""}
    status = 200
    if len(text) > limit:
        context["error"] = (
            f"Your search is {len(text)} characters long; the limit is {limit}. "
            "Search for fewer or shorter words."
        )
        status = 422
    else:
        parsed = context["parsed"] = parse_query(text)
        if parsed.groups:
            page = page_number()
            results = search_posts(parsed, page, current_app.config["POSTS_PER_PAGE"])
            if page > 1 and not results.items:
                abort(404)
            context["results"] = results
    template = "posts/_search_live.html" if is_htmx() else "posts/search.html"
    return render_template(template, **context), status


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
