"""Property-based fuzzing: whatever a client sends, never a 5xx, and every 4xx says why."""

from __future__ import annotations

from hypothesis import strategies as st

from tests.helpers.fuzz import (
    assert_answers_well,
    assert_fragment_answers_well,
    field_values,
    fuzz_requests,
)
from tests.helpers.html import csrf_token
from tests.helpers.routes import sample_values


def test_search_survives_anything(client, demo):
    fuzz_requests(
        client,
        "/search",
        {"q": field_values(), "page": st.one_of(field_values(40), st.integers().map(str))},
        max_examples=300,
    )


def test_listing_pages_survive_any_page_number(client, demo):
    fuzz_requests(client, "/", {"page": field_values(60)}, max_examples=100)
    fuzz_requests(client, "/tags/writing/", {"page": field_values(60)}, max_examples=50)


def test_url_parts_survive_anything(client, demo):
    from hypothesis import HealthCheck, given, settings

    @settings(
        max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(field_values(300), st.sampled_from(["/tags/{}/", "/2026/11/{}/", "/{}/", "/{}"]))
    def run(value: str, template: str) -> None:
        assert_answers_well(client.get(template.format(value.replace("/", "%2F") or "x")))

    run()


def test_form_bodies_with_any_bytes_are_parsed(app, client):
    """Any bytes in a form body are parsed, shown on a probe route that echoes the form."""
    from flask import request

    @app.post("/__echo")
    def echo():
        return "".join(f"{k}={v};" for k, v in request.form.items(multi=True))

    fuzz_requests(
        client,
        "/__echo",
        {"text": field_values(), "name": field_values(100)},
        method="POST",
        headers={"X-CSRFToken": csrf_token(client)},
        max_examples=100,
    )


COMMENT_FIELDS = ("author_name", "author_email", "author_url", "body", "subject", "issued")


def _comment_fields() -> dict:
    # Often empty (or plain) where a form is valid without them, so many comments get stored.
    fields = {name: st.one_of(st.just(""), field_values()) for name in COMMENT_FIELDS}
    fields["author_name"] = st.one_of(st.just("Ada"), field_values())
    fields["body"] = st.one_of(field_values(), st.integers(9_990, 12_000).map(lambda n: "b" * n))
    fields["parent_id"] = st.one_of(field_values(30), st.integers().map(str))
    fields["remember"] = st.sampled_from(["", "y", "on", "%00", "false"])
    return fields


def _comments_url(app) -> str:
    values = sample_values(app)
    return f"/{values['year']}/{values['month']:02d}/{values['slug']}/comments"


def test_comment_endpoint_survives_anything(app, client, demo):
    """Random names, emails, websites, bodies, trap and stamp values, as a plain form post."""
    url = _comments_url(app)
    assert client.get(url.removesuffix("comments")).status_code == 200
    fuzz_requests(
        client,
        url,
        _comment_fields(),
        method="POST",
        headers={"X-CSRFToken": csrf_token(client)},
        max_examples=150,
    )


def test_comment_endpoint_survives_anything_from_htmx(app, client, demo):
    """The same through htmx: fragments, and every refused one names the problem in place."""
    fields = _comment_fields()
    fields["after"] = st.one_of(field_values(30), st.integers().map(str))
    fuzz_requests(
        client,
        _comments_url(app),
        fields,
        method="POST",
        headers={"X-CSRFToken": csrf_token(client), "HX-Request": "true"},
        max_examples=150,
        check=assert_fragment_answers_well,
    )
