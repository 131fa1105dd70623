"""htmx requests: tell a partial swap from a full page load, and answer each the right way."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request


def is_htmx() -> bool:
    """Return True when htmx will swap this response into part of a page."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def partial_or_page(partial: str, page: str, **context: Any) -> str:
    """Render the partial for an htmx swap, else the whole page that includes it."""
    return render_template(partial if is_htmx() else page, **context)


def vary_on_htmx(response: Response) -> Response:
    """Mark a response that differs for htmx requests, so caches keep both versions apart."""
    response.vary.add("HX-Request")
    return response
