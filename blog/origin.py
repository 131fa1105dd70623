"""Forms readers post from shared pages: refused when a browser says they come from elsewhere.

A page every anonymous reader shares cannot carry a token bound to one reader's session, so the
comment form is exempt from Flask-WTF's CSRFProtect and guarded here instead, the way Go 1.25's
net/http CrossOriginProtection guards every form (SECURITY.md says why this holds):

1. `Sec-Fetch-Site` (every browser since 2023): `same-origin` or `none` (typed, bookmarked)
   pass; `same-site` and `cross-site` are refused. An unknown value is ignored, as the OWASP
   cheat sheet asks, and the next check decides.
2. Else `Origin` (every browser since 2020): it must be this site's own origin ("null" is not).
3. Else `Referer`, the fallback OWASP's CSRF cheat sheet makes mandatory (OWASP/CheatSheetSeries
   #1803, #1875): its origin must be this site's.
4. Else nothing is known: a program, not a browser, or one from before 2020. It passes: it has
   no reader's cookies to borrow (they are SameSite=Lax) and could post the same as itself.

A logged-in writer's session still needs its Flask-WTF token on top: their pages are rendered
for them and carry it. A refused post raises CrossOriginRefused (403); the comment views answer
it with the form and the text as typed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlsplit

from flask import request
from werkzeug.exceptions import Forbidden

from blog import readers
from blog.extensions import csrf

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
REFUSED = (
    "This form was sent from another site, so it was not accepted: a page elsewhere cannot "
    "post on your behalf here. If you wrote it here, reload this page and send it again."
)


class CrossOriginRefused(Forbidden):
    """A state-changing request a browser made from another site."""

    description = REFUSED


def same_origin(url: str) -> bool:
    """Return True when url (an Origin or a Referer) is on this site's own origin.

    The host and port must match the request's. The scheme cannot always be known (behind a
    proxy that does not say, a request to https looks like http here), so an https page passes
    and an http page passes unless this request came over HTTPS (a downgrade).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if not parts.netloc or parts.netloc.lower() != request.host.lower():
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and not request.is_secure)


def cross_origin() -> str | None:
    """Return why this request must be refused as coming from elsewhere, or None."""
    if request.method in SAFE_METHODS:
        return None
    site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    if site in ("same-origin", "none"):
        return None
    if site in ("same-site", "cross-site"):
        return f"Sec-Fetch-Site: {site}"
    origin = request.headers.get("Origin")
    if origin is not None:
        return None if same_origin(origin) else "Origin is another site's"
    referer = request.headers.get("Referer")
    if referer:
        return None if same_origin(referer) else "Referer is another site's"
    return None


def protect(view: Callable) -> Callable:
    """Guard a public form's view: cross-origin check for all, the CSRF token for the writer."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        if cross_origin() is not None:
            raise CrossOriginRefused()
        if request.method not in SAFE_METHODS and readers.writer() is not None:
            csrf.protect()  # raises CSRFError without a valid token
        return view(*args, **kwargs)

    guarded.cross_origin_protected = True  # type: ignore[attr-defined]
    return csrf.exempt(guarded)
