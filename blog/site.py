"""Site settings: the blog's title, tagline, language, author name and time zone; its navigation.

The configuration gives the defaults (SITE_TITLE, SITE_DESCRIPTION, SITE_LANGUAGE, SITE_AUTHOR,
SITE_TIMEZONE); what the writer saves in the back office (one JSON row of the Setting table)
overrides them. A request reads them together with every other setting in one query
(Setting.snapshot) and keeps them while it runs.

The navigation (the published pages the writer listed, in the writer's order) is kept beside
them and made again by every write to a page (refresh_navigation), so the links on every page
cost no query of their own. Both move the settings' revision: settings_version() is the
version a cache of whole pages keys on, since every page shows the title, the navigation and
dates in the blog's zone.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import sqlalchemy as sa
from flask import current_app, has_app_context

from blog.extensions import db, request_cache
from blog.models import Post, Setting

SETTING_KEY = "site"
NAVIGATION_KEY = "navigation"
# BCP 47, as <html lang> and feeds take it: "en", "fr-CA", "zh-Hant-TW".
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")


@dataclass(frozen=True)
class NavLink:
    title: str
    slug: str


@dataclass
class SiteSettings:
    """What readers see of the site itself; empty author_name shows each post's author."""

    title: str
    tagline: str
    language: str
    author_name: str
    timezone: str
    navigation: tuple[NavLink, ...] = field(default=(), compare=False)

    @classmethod
    def defaults(cls) -> SiteSettings:
        """Return the settings the configuration gives (before the writer saves any)."""
        config = current_app.config
        return cls(
            title=config["SITE_TITLE"],
            tagline=config["SITE_DESCRIPTION"],
            language=config["SITE_LANGUAGE"],
            author_name=config["SITE_AUTHOR"],
            timezone=config["SITE_TIMEZONE"],
        )

    @classmethod
    def load(cls) -> SiteSettings:
        """Return the settings: stored values over the configuration's, read once per request."""
        cache = request_cache() if has_app_context() else {}
        if "site_settings" in cache:
            return cache["site_settings"]
        defaults = asdict(cls.defaults())
        stored = Setting.get(SETTING_KEY) or {}
        values = {
            name: str(stored[name]) if isinstance(stored.get(name), str) else default
            for name, default in defaults.items()
            if name != "navigation"
        }
        if not LANGUAGE_TAG.fullmatch(values["language"]):
            values["language"] = "en"
        if not valid_zone(values["timezone"]):
            values["timezone"] = "UTC"
        navigation = tuple(
            NavLink(str(title), str(slug)) for title, slug in Setting.get(NAVIGATION_KEY, [])
        )
        settings = cache["site_settings"] = cls(**values, navigation=navigation)
        return settings

    def save(self) -> None:
        """Store the settings (the caller commits)."""
        value = asdict(self)
        del value["navigation"]
        Setting.put(SETTING_KEY, value)
        forget()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def og_locale(self) -> str:
        """The language as OpenGraph writes it (en_GB), or "" without a region."""
        parts = self.language.split("-")
        return f"{parts[0].lower()}_{parts[-1].upper()}" if len(parts) > 1 else ""


def without_database() -> None:
    """Show this request's pages with the configuration's settings, reading nothing: for the
    page that says the database is unavailable."""
    if has_app_context():
        request_cache().setdefault("site_settings", SiteSettings.defaults())


def forget() -> None:
    """Drop what this request read, so the next read sees a write made since."""
    if has_app_context():
        request_cache().pop("site_settings", None)


def site() -> SiteSettings:
    return SiteSettings.load()


def zone() -> ZoneInfo:
    """Return the blog's time zone: dates on pages, archives by month, the editor's times."""
    return site().zone


def local(when: datetime) -> datetime:
    """Return an aware time as the blog's clock shows it."""
    return when.astimezone(zone())


def zone_of(stored: str | None) -> ZoneInfo:
    """Return the time zone in the site settings' stored text (as the page keys read it, with
    no query of their own), else the configuration's."""
    try:
        name = json.loads(stored or "{}").get("timezone")
    except (ValueError, AttributeError):
        name = None
    if not isinstance(name, str) or not valid_zone(name):
        name = current_app.config["SITE_TIMEZONE"]
    return ZoneInfo(name if valid_zone(name) else "UTC")


def settings_version() -> int:
    """Return the settings' version; it changes with any setting, the navigation included."""
    return Setting.revision()


def valid_zone(name: str) -> bool:
    return name in time_zones()


@cache
def time_zones() -> frozenset[str]:
    """Every IANA zone name this machine knows (the tzdata package fills in when it lacks one)."""
    return frozenset(available_timezones() | {"UTC"})


def refresh_navigation() -> None:
    """Make the navigation again from the pages (after any write to a page; caller commits)."""
    rows = db.session.execute(
        sa.select(Post.title, Post.slug)
        .where(Post.public_page_filter(), Post.nav_order.is_not(None))
        .order_by(Post.nav_order, Post.title, Post.id)
    ).all()
    links = [[title, slug] for title, slug in rows]
    if links != Setting.get(NAVIGATION_KEY, []):
        Setting.put(NAVIGATION_KEY, links)
        forget()
