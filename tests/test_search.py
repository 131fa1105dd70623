"""/search: ranked full-text search on both engines, its index kept in step with every write."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blog import create_app
from blog.content import delete_post, save_post
from blog.extensions import db
from blog.models import Post, PostStatus, utcnow
from blog.search.engine import _candidates
from blog.search.query import parse as parse_query
from tests.helpers.auth import login
from tests.helpers.factories import path_of, post, writer
from tests.helpers.html import csrf_token, parse, text
from tests.helpers.porting import MT_FILE, WXR_FILE

# A corpus written for the ranking: one post about moss, others that mention it.
CORPUS = [
    ("A field guide to moss", "Moss grows where little else does. Moss on stone, moss on bark."),
    ("Walls in the old town", "Green walls, and some moss in the cracks of the oldest ones."),
    ("Winter walks", "Cold mornings. A bench with moss. Tea from a flask, then home again."),
    ("Garden notes", "Tomatoes, beans, a stone path and the green wall by the shed."),
    ("A café by the river", "Coffee and cake at the Café du Pont, then a walk by the water."),
    ("Cheap tea", "Tea bags, biscuits and a cafe with no name."),
]


def hits(client, query: str, **params) -> list[str]:
    """Search; return the result titles, best first."""
    response = client.get("/search", query_string={"q": query, **params})
    assert response.status_code == 200, response.status_code
    return [text(a) for a in parse(response).xpath("//article[@class='search-hit']/h2/a")]


def status(client, query: str) -> str:
    doc = parse(client.get("/search", query_string={"q": query}))
    return text(doc.xpath("//p[@id='search-status']")[0])


@pytest.fixture
def corpus(app):
    for age, (title, body) in enumerate(CORPUS):
        post(app, title, body, published_at=utcnow() - timedelta(days=30 - age))
    return app


def test_the_post_about_a_thing_ranks_above_posts_that_mention_it(client, corpus):
    found = hits(client, "moss")
    assert found[0] == "A field guide to moss"
    assert set(found) == {"A field guide to moss", "Walls in the old town", "Winter walks"}
    assert status(client, "moss") == "3 posts found."


def test_phrases_exclusions_and_or(client, corpus):
    assert hits(client, '"green wall"') == ["Garden notes"]  # not "Green walls" nor split words
    assert hits(client, "green wall") == ["Garden notes"]  # words: both must appear
    assert set(hits(client, "moss -stone")) == {"Walls in the old town", "Winter walks"}
    moss_not_bench = {"A field guide to moss", "Walls in the old town"}
    assert set(hits(client, 'moss -"a bench"')) == moss_not_bench
    tea_or_coffee = {"A café by the river", "Cheap tea", "Winter walks"}
    assert set(hits(client, "tea OR coffee")) == tea_or_coffee
    assert hits(client, "tea OR coffee biscuits") == ["Cheap tea"]


def test_accents_do_not_matter(client, corpus):
    both = {"A café by the river", "Cheap tea"}
    assert set(hits(client, "café")) == both
    assert set(hits(client, "CAFE")) == both


def test_results_show_title_date_and_a_marked_snippet(client, corpus):
    doc = parse(client.get("/search?q=flask"))
    (hit,) = doc.xpath("//article[@class='search-hit']")
    assert text(hit.find("h2")) == "Winter walks"
    assert hit.find("h2/a").get("href").endswith("/winter-walks/")
    assert hit.xpath(".//time/@datetime")
    (snippet,) = hit.xpath(".//p[@class='search-snippet']")
    assert [m.text for m in snippet.iter("mark")] == ["flask"]
    assert "Tea from a flask, then home again." in text(snippet)
    title_marks = [m.text for m in parse(client.get("/search?q=moss")).xpath("//h2//mark")]
    assert title_marks[0] == "moss"


def test_a_post_about_script_shows_it_as_text(app, client):
    post(app, "Escaping <script> in titles", "Never trust `<script>alert(1)</script>` & friends.")
    doc = parse(client.get("/search?q=script"))
    assert not doc.xpath("//main//script")
    (hit,) = doc.xpath("//article[@class='search-hit']")
    assert text(hit.find("h2")) == "Escaping <script> in titles"
    assert "<script>alert(1)</script> & friends." in text(hit.find("p[@class='search-snippet']"))
    assert {m.text for m in hit.iter("mark")} == {"script"}
    assert b"<mark>script</mark>&gt;alert" in client.get("/search?q=script").data


def test_only_what_readers_may_see(app, client):
    post(app, "Public heron", "A heron.")
    post(app, "Draft heron", "A heron.", status=PostStatus.DRAFT)
    post(app, "Scheduled heron", "A heron.", status=PostStatus.SCHEDULED,
         published_at=utcnow() + timedelta(days=1))  # fmt: skip
    post(app, "Due heron", "A heron.", status=PostStatus.SCHEDULED,
         published_at=utcnow() - timedelta(minutes=1))  # fmt: skip
    assert set(hits(client, "heron")) == {"Public heron", "Due heron"}


def test_count_and_pages(app, client):
    for n in range(13):
        post(app, f"Lighthouse {n:02d}", "A lighthouse.", published_at=utcnow() - timedelta(days=n))
    first = parse(client.get("/search?q=lighthouse"))
    assert text(first.xpath("//p[@id='search-status']")[0]) == "13 posts found."
    titles = [text(a) for a in first.xpath("//article[@class='search-hit']/h2/a")]
    assert titles == [f"Lighthouse {n:02d}" for n in range(10)]  # a tie: the newest first
    assert first.xpath("//nav[@class='pagination']/a[@rel='next']/@href") == [
        "/search?page=2&q=lighthouse"
    ]
    assert "Page 1 of 2" in text(first.xpath("//nav[@class='pagination']")[0])
    second = parse(client.get("/search?q=lighthouse&page=2"))
    assert second.xpath("//ol[@class='search-hits']/@start") == ["11"]
    assert len(second.xpath("//article[@class='search-hit']")) == 3
    assert client.get("/search?q=lighthouse&page=3").status_code == 404
    assert client.get("/search?q=lighthouse&page=0").status_code == 404


def test_more_matches_than_candidates_says_so(app_config):
    app = create_app({**app_config, "SEARCH_CANDIDATES": 3})
    for n in range(5):
        post(app, f"Kestrel {n}", "kestrel " * (n + 1), published_at=utcnow() - timedelta(days=n))
    client = app.test_client()
    # Ranked among the 3 newest matches by id (the last three written, the oldest posts).
    assert set(hits(client, "kestrel")) == {"Kestrel 4", "Kestrel 3", "Kestrel 2"}
    message = status(client, "kestrel")
    assert message.startswith("3 posts found: more posts use these words")
    assert "best of the 3 newest. Add a word" in message


def test_messages_without_a_word(client, corpus):
    assert status(client, "") == "Type a word or two to find posts and pages."
    assert status(client, "* ( ) --") == "Type a word or two to find posts and pages."
    only_out = "Say what to look for too: a search cannot only leave words out."
    assert status(client, "-moss") == only_out
    assert status(client, "zebra") == "No post matches “zebra”."


def test_htmx_gets_the_results_alone(client, corpus, hx):
    response = client.get("/search?q=moss", headers=hx)
    assert response.status_code == 200
    assert "HX-Request" in response.headers["Vary"]
    assert "HX-History-Restore-Request" in response.headers["Vary"]  # Back: the whole page
    body = response.get_data(as_text=True)
    assert "<html" not in body and "<form" not in body
    doc = parse(body)
    assert doc.xpath("//title/text()") == ["Search: moss · Field Notes"]
    assert doc.xpath("//p[@id='search-status']/@data-hx-swap-oob") == ["true"]
    assert len(doc.xpath("//article[@class='search-hit']")) == 3
    # A history restore gets the whole page.
    restore = client.get("/search?q=moss", headers={**hx, "HX-History-Restore-Request": "true"})
    assert b"<form" in restore.data


def test_the_search_page_asks_htmx_for_live_results_and_works_without_it(client, corpus):
    doc = parse(client.get("/search?q=moss"))
    (form,) = doc.xpath("//main//form[@role='search']")
    assert (form.get("action"), form.get("method")) == ("/search", "get")
    (box,) = form.xpath(".//input[@name='q']")
    assert box.get("value") == "moss"
    assert box.get("data-hx-get") == "/search"
    assert box.get("data-hx-push-url") == "true"
    assert "delay:" in box.get("data-hx-trigger")
    assert box.get("data-hx-target") == "#search-results"
    assert form.xpath(".//button[@type='submit']")
    assert len(doc.xpath("//form[@role='search']")) == 1  # the header's box is not repeated


def test_query_count_does_not_grow_with_results(app, client, queries):
    for n in range(25):
        post(app, f"Owl {n}", "owl " + ("hoot " * n), published_at=utcnow() - timedelta(days=n))
    counts = []
    for query in ("owl", "hoot", "nothing-here"):
        with app.app_context(), queries() as statements:
            assert client.get("/search", query_string={"q": query}).status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] == counts[2] == 2, counts  # the search, the settings


# --- The index follows every write ---------------------------------------------------------


def test_index_follows_edits_deletes_and_unpublishing(app, client):
    written = post(app, "Otters at dawn", "Otters play in the river.")
    assert hits(client, "otters") == ["Otters at dawn"]
    login(client)
    edit = f"/admin/posts/{written.id}/edit"
    form = {"title": "Beavers at dusk", "body": "Beavers build in the river.", "update": "Update"}
    response = client.post(edit, data={**form, "csrf_token": csrf_token(client, edit)})
    assert response.status_code == 303
    assert hits(client, "otters") == [] and hits(client, "beavers") == ["Beavers at dusk"]
    assert hits(client, "dusk") == ["Beavers at dusk"]  # the title too
    response = client.post(edit, data={**form, "unpublish": "Unpublish",
                                       "csrf_token": csrf_token(client, edit)})  # fmt: skip
    assert hits(client, "beavers") == []
    delete = f"/admin/posts/{written.id}/delete"
    client.post(delete, data={"csrf_token": csrf_token(client, delete)})
    with app.app_context():
        assert db.session.get(Post, written.id) is None
        assert search_ids("beavers") == []


def search_ids(word: str) -> list[int]:
    """Every post id the engine's index matches for word, whatever the post's state."""
    return sorted(row.id for row in db.session.execute(_candidates(parse_query(word), 1000)))


def test_index_follows_rerender(app, runner):
    written = post(app, "Rerendered", "The *heron* stands still.")
    with app.app_context():
        # HTML made by an older policy, and its text with it: the index holds "stale".
        db.session.execute(
            sa.update(Post).where(Post.id == written.id)
            .values(body_html="<p>stale words</p>", body_text="stale words")
        )  # fmt: skip
        db.session.commit()
        assert search_ids("stale") == [written.id] and search_ids("heron") == []
    assert runner.invoke(args=["rerender"]).exit_code == 0
    with app.app_context():
        assert search_ids("stale") == [] and search_ids("heron") == [written.id]
        assert db.session.get(Post, written.id).body_text == "The heron stands still."


def test_index_follows_imports(app, client, runner):
    writer(app)
    for path in (MT_FILE, WXR_FILE):
        result = runner.invoke(args=["import", str(path)])
        assert result.exit_code == 0, result.output
    assert hits(client, "dictionary") == ["Moving house, one box at a time"]
    assert hits(client, "roads") == ["About"]  # a WordPress page, imported as a page


def test_bench_data_is_searchable(app, client, runner):
    result = runner.invoke(args=["bench-data", "--posts", "60", "--comments", "300"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        lighthouse = db.session.scalar(
            sa.select(sa.func.count()).where(Post.body.contains("lighthouse"), Post.public_filter())
        )
    assert lighthouse == 10
    assert status(client, "lighthouse") == "10 posts found."


# --- Hostile input ----------------------------------------------------------------------------

HOSTILE = [
    '"unclosed',
    '"',
    '""',
    "* NEAR(a b, 2)",
    "^moss",
    "title:moss",
    "{title body}: moss",
    "moss AND NOT OR",
    "-",
    "- -- ---",
    "'; DROP TABLE post; --",
    "moss' OR '1'='1",
    "a & b | !c <-> d:*",
    '\\"moss\\"',
    "moss\\",
    "((((moss",
    "OR OR OR",
    "-moss -stone",
    "x" * 200,
    "é" * 100,
    "🦉 moss 🦉",
    "\u202emoss",
    "moss%00",
    "%",
    "_",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_are_words_never_errors(client, corpus, query):
    response = client.get("/search?q=" + quote(query))
    assert response.status_code == 200, query
    assert parse(response).xpath("//p[@id='search-status']")


@settings(
    max_examples=200,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from(list("\"-*^:(){}+&|!<>\\'%_ ORANDNEAR")),
            st.characters(exclude_categories=("Cs",)),  # a URL cannot carry a lone surrogate
        ),
        max_size=80,
    )
)
def test_any_typed_text_answers_200(client, corpus, typed):
    response = client.get("/search", query_string={"q": typed})
    assert response.status_code in (200, 422), typed  # 422: over SEARCH_QUERY_MAX_LENGTH
    assert b"Traceback" not in response.data
    hx = client.get("/search", query_string={"q": typed}, headers={"HX-Request": "true"})
    assert hx.status_code in (200, 422)


@pytest.mark.sqlite_only
def test_fts5_index_agrees_with_its_content(app):
    """FTS5's own integrity check: after inserts, edits and deletes, the index holds exactly
    what the post table says."""
    kept = post(app, "Integrity", "Checked.")
    gone = post(app, "Gone soon", "Deleted.")
    with app.app_context():
        row = db.session.get(Post, kept.id)
        save_post(row, title="Integrity kept", body="Checked again.", author_id=row.author_id,
                  tags=[], status=row.status, published_at=row.published_at)  # fmt: skip
        delete_post(db.session.get(Post, gone.id))
        db.session.commit()
        check = "INSERT INTO post_fts(post_fts, rank) VALUES ('integrity-check', 1)"
        db.session.execute(sa.text(check))  # raises "database disk image is malformed" if not
        db.session.rollback()


def test_permalinks_of_results(client, corpus):
    with client.application.app_context():
        moss = db.session.scalar(sa.select(Post).where(Post.title == "A field guide to moss"))
        expected = path_of(moss)
    doc = parse(client.get("/search?q=moss"))
    assert doc.xpath("(//article[@class='search-hit'])[1]/h2/a/@href") == [expected]
