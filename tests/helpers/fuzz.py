"""Property-based fuzzing of requests: whatever a client sends, never a 5xx or a trace, and
every 4xx says in words what went wrong.

test_fuzz.py gives `fuzz_requests()` the comment form's fields (htmx answers checked by
`assert_fragment_answers_well`); `field_values()` is the hostile default for any field.
"""

from __future__ import annotations

from urllib.parse import quote, quote_from_bytes

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers.html import main_text, parse, text
from tests.helpers.xss import PAYLOADS


def _no_crash(response) -> str:
    body = response.get_data(as_text=True)
    assert response.status_code < 500, f"{response.status_code}: {main_text(body)[:300]}"
    assert "Traceback" not in body
    return body


def assert_answers_well(response) -> None:
    """Never a 5xx, never a stack trace; every 4xx tells the reader in words what went wrong."""
    body = _no_crash(response)
    if response.status_code >= 400 and response.mimetype == "text/html":
        said = main_text(body)
        assert len(said) >= 20, f"{response.status_code} without a message: {said!r}"


def assert_fragment_answers_well(response) -> None:
    """An htmx answer: never a 5xx or a trace; a 4xx fragment says in words what went wrong."""
    body = _no_crash(response)
    if response.status_code >= 400 and response.mimetype == "text/html":
        said = [
            text(el)
            for el in parse(body).iter()
            if isinstance(el.tag, str)
            and (
                el.get("role") == "alert"
                or {"form-error", "comments-closed"} & set((el.get("class") or "").split())
            )
        ]
        assert any(len(s) >= 15 for s in said), f"{response.status_code} without a message"


def field_values(max_size: int = 400) -> st.SearchStrategy[str]:
    """Percent-encoded values a hostile client might send: any text, any bytes, huge, raw."""
    return st.one_of(
        st.text(max_size=max_size).map(lambda s: quote(s, safe="")),
        st.binary(max_size=max_size).map(lambda b: quote_from_bytes(b, safe="")),
        st.integers(0, 5000).map(lambda n: "a" * n),
        st.sampled_from(PAYLOADS).map(lambda s: quote(s, safe="")),
        # Not encoded at all: stray %, bad escapes, separators.
        st.text(alphabet="%&=+;?/\\x0aFfzZ.'\"<>", max_size=30),
        st.integers(-(10**30), 10**30).map(str),
    )


def fuzz_requests(
    client,
    path: str,
    fields: dict[str, st.SearchStrategy[str]],
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    max_examples: int = 150,
    check=assert_answers_well,
) -> None:
    """Send path many generated field values (query string for GET, form body else); check each.

    fields maps a field name to a strategy of already percent-encoded values
    (`field_values()` is the hostile default), e.g. the comment form:
    `fuzz_requests(client, url, {"author_name": field_values(), ...}, method="POST",
    headers={"X-CSRFToken": csrf_token(client)})`. check judges each response.
    """

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.fixed_dictionaries(fields))
    def run(values: dict[str, str]) -> None:
        encoded = "&".join(f"{quote(name)}={value}" for name, value in values.items())
        if method == "GET":
            response = client.get(f"{path}?{encoded}", headers=headers)
        else:
            response = client.open(
                path,
                method=method,
                data=encoded.encode(),
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )
        check(response)

    run()
