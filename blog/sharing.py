"""What a post or a page says about itself to link previews and crawlers.

templates/_share.html writes it into the head: the canonical URL, OpenGraph (chat clients,
social sites), Twitter card tags and a JSON-LD BlogPosting (search engines). The picture is
the post's first image (blog.media.library.first_image): an uploaded one at its largest size,
with its pixel size and type; an image linked from elsewhere at its URL, made absolute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for

from blog.media.library import SharedImage, first_image
from blog.models import Post
from blog.permalinks import post_url
from blog.site import local, site

# Longer descriptions are cut by every preview; search engines show about this much.
DESCRIPTION_LENGTH = 300


def shown_author(post: Post) -> str:
    """The author name readers see: the site's setting, else the post author's name."""
    return site().author_name or post.author.display_name


def _description(post: Post) -> str:
    text = " ".join((post.excerpt or post.body_text or "").split())
    if len(text) <= DESCRIPTION_LENGTH:
        return text
    return text[:DESCRIPTION_LENGTH].rsplit(" ", 1)[0] + "…"


@dataclass(frozen=True)
class Share:
    """The values of a post's or a page's sharing metadata (absolute URLs, RFC 3339 times)."""

    url: str
    title: str
    description: str
    picture: SharedImage | None
    is_page: bool
    published: str
    modified: str
    tags: tuple[str, ...]
    author: str
    site_name: str
    locale: str
    language: str
    home: str

    def json_ld(self) -> dict[str, Any]:
        """Return the schema.org description: a BlogPosting, or a WebPage for a page."""
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "WebPage" if self.is_page else "BlogPosting",
            "name" if self.is_page else "headline": self.title,
            "url": self.url,
            "description": self.description,
            "inLanguage": self.language,
            "dateModified": self.modified,
            "isPartOf": {"@type": "Blog", "name": self.site_name, "url": self.home},
        }
        if not self.is_page:
            data["mainEntityOfPage"] = {"@type": "WebPage", "@id": self.url}
            data["datePublished"] = self.published
            data["author"] = {"@type": "Person", "name": self.author}
            if self.tags:
                data["keywords"] = list(self.tags)
        if self.picture is not None:
            data["image"] = [self.picture.url]
        return data


def share(post: Post) -> Share:
    """Return the sharing metadata of a public post or page."""
    settings = site()
    url = post_url(post, _external=True)
    modified = max(post.published_at, post.updated_at)
    return Share(
        url=url,
        title=post.title,
        description=_description(post),
        picture=first_image(post),
        is_page=post.is_page,
        published=local(post.published_at).isoformat(timespec="seconds"),
        modified=local(modified).isoformat(timespec="seconds"),
        tags=tuple(tag.name for tag in post.tags) if not post.is_page else (),
        author=shown_author(post),
        site_name=settings.title,
        locale=settings.og_locale,
        language=settings.language,
        home=url_for("posts.index", _external=True),
    )
