"""htmx requests: tell a partial swap from a full page load, and answer each the right way.

One helper per idiom: is_htmx() decides fragment or page (and marks the response as varying
on HX-Request and HX-History-Restore-Request, so no cache hands a fragment to a page load);
partial_or_page() renders the one that fits; retarget() sends a 4xx meant for the reader to
the element that shows it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, render_template, request


def is_htmx() -> bool:
    """Return True when htmx will swap this response into part of a page."""
    g.varies_on_htmx = True
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def partial_or_page(partial: str, page: str, **context: Any) -> str:
    """Render the partial for an htmx swap, else the whole page that includes it."""
    return render_template(partial if is_htmx() else page, **context)


def retarget(response: Response, target: str, swap: str = "outerHTML") -> Response:
    """Swap response into target instead of the requesting element.

    htmx swaps only 2xx and 422 by itself; static/js/comments.js also swaps a 4xx that names
    its target this way, so a refusal meant for the reader shows where they are looking.
    """
    response.headers["HX-Retarget"] = target
    response.headers["HX-Reswap"] = swap
    return response


def _vary(response: Response) -> Response:
    """Mark every response whose view asked whether htmx made the request as varying on the
    two headers is_htmx() reads: a history restore sends HX-Request too, and a browser that
    kept the fragment for that URL would hand it back as the whole page (Back after a live
    search showed the bare results)."""
    if g.get("varies_on_htmx"):
        response.vary.update(("HX-Request", "HX-History-Restore-Request"))
    return response


def init_app(app: Flask) -> None:
    app.after_request(_vary)
