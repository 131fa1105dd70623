"""Bounds on the numbers a request carries: ids the database can hold, pages a listing can have.

The ids are Integer columns: 64 bits in SQLite, but 32 in PostgreSQL (int4), so no row of either
has an id above 2**31 - 1. A larger number that reaches a query is an error (OverflowError from
SQLite beyond 64 bits, "integer out of range" from PostgreSQL beyond 32): a 500. Every id and
page number read from a URL, a query string or a form is checked here first, so an impossible
one is a 404 (or a form error), never a 500:

- `<int:...>` in every route is `RowIdConverter` (create_app installs it): a larger number does
  not match the route at all;
- `row_id` reads an id from a query string or a form (`request.args.get("x", type=row_id)`,
  `coerce=row_id` in WTForms);
- `page_number()` reads `?page=` for a listing; `PageLinks` gives a page of one the links
  the pagination macro shows.
"""

from __future__ import annotations

from flask import abort, request
from werkzeug.routing import IntegerConverter, Map

MAX_ROW_ID = 2**31 - 1  # the largest id an Integer primary key holds in both databases
# No listing has this many pages; a larger ?page= would overflow the database's OFFSET.
MAX_PAGE = 100_000


def row_id(value: str) -> int:
    """Read an id from a form or query: a whole number the database can hold, else ValueError."""
    number = int(value)
    if not 0 <= number <= MAX_ROW_ID:
        raise ValueError("out of range")
    return number


class RowIdConverter(IntegerConverter):
    """The `int` URL converter, bounded to what the database stores (0 to MAX_ROW_ID)."""

    def __init__(
        self,
        map: Map,  # noqa: A002 (werkzeug's parameter name)
        fixed_digits: int = 0,
        min: int | None = 0,  # noqa: A002
        max: int | None = MAX_ROW_ID,  # noqa: A002
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def page_number() -> int:
    """Return this request's ?page= (1 when absent); 404 when no listing can have that page."""
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= MAX_PAGE:
        abort(404)
    return page


class PageLinks:
    """The neighbours of a listing's page, as the pagination macro (templates/_macros.html)
    reads them beside has_next and pages: mixed into each kind of page over its `page`."""

    page: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1
