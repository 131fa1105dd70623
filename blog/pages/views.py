"""A page at /<slug>/: written in the posts' editor, not dated, in no listing or feed."""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.exceptions import NotFound

from blog.permalinks import PAGE_PATH, get_public_post
from blog.porting.legacy import redirect_legacy_path
from blog.posts.page import render_post_page

bp = Blueprint("pages", __name__)


@bp.route(PAGE_PATH)
def detail(slug: str):
    """Show a published page, with its comments when the writer opened them."""
    try:
        page = get_public_post(slug)
    except NotFound:
        # An imported blog's old address can have a page's shape (/about-me/): the route takes
        # it before the old-address lookup of blog.porting.legacy can, so ask here.
        moved = redirect_legacy_path(request.path)
        if moved is not None:
            return moved
        raise
    return render_post_page(page)
