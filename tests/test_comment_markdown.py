"""Comments in Markdown: what works, what stays out, the hostile corpus, and each comment's format.

The corpus checks use the independent checker of tests/helpers/hostile.py (it does not import the
sanitizer) with the comment policy widened by exactly `ul ol li pre`, as the issue allows.
"""

from __future__ import annotations

import dataclasses
from html import escape

import pytest
import sqlalchemy as sa

from blog.comments.formatting import render_comment
from blog.extensions import db
from blog.models import Comment, CommentFormat
from blog.rerender import rerender
from tests.helpers import factories
from tests.helpers.hostile import COMMENT_POLICY, load_corpus, violations
from tests.helpers.html import parse, text
from tests.helpers.xss import PAYLOADS

MARKDOWN_POLICY = dataclasses.replace(
    COMMENT_POLICY, tags=COMMENT_POLICY.tags | {"ul", "ol", "li", "pre"}
)


def md(source: str) -> str:
    return render_comment(source, CommentFormat.MARKDOWN)


def tags(html: str) -> list[str]:
    return [el.tag for el in parse(html).iter() if isinstance(el.tag, str)][
        3:
    ]  # past html/head/body


# --- What works --------------------------------------------------------------------------------


def test_emphasis_strong_code_and_line_breaks():
    html = md("*one* **two** `three <b>`\nnext line\n\nnew paragraph")
    assert html == (
        "<p><em>one</em> <strong>two</strong> <code>three &lt;b&gt;</code><br>\n"
        "next line</p>\n<p>new paragraph</p>"
    )


def test_lists_quotes_and_code_blocks():
    html = md("- a\n- b\n\n1. x\n2. y\n\n> quoted\n\n```python\nif a:\n    b()\n```")
    assert tags(html) == ["ul", "li", "li", "ol", "li", "li", "blockquote", "p", "pre", "code"]
    # No class on code (the policy keeps none), and a newline in a code block is no <br>.
    assert "<pre><code>if a:\n    b()\n</code></pre>" in html


def test_links_autolinks_and_bare_urls_all_get_the_ugc_rel():
    html = md('[a](https://example.org/a "A") <https://example.org/b> www.example.org/c')
    links = parse(html).xpath("//a")
    assert [a.get("href") for a in links] == [
        "https://example.org/a",
        "https://example.org/b",
        "http://www.example.org/c",
    ]
    assert {a.get("rel") for a in links} == {"nofollow ugc noopener"}
    assert links[0].get("title") == "A"


def test_a_url_in_code_is_not_linked():
    assert "<a" not in md("`https://example.org/` and\n\n    https://example.org/indented")


@pytest.mark.parametrize(
    "source",
    [
        "# Heading",
        "Heading\n=======",
        "![alt](https://example.org/x.png)",
        "---",
        "| a |\n|---|\n| b |",
    ],
)
def test_headings_images_rules_and_tables_are_not_made(source):
    html = md(source)
    assert not set(tags(html)) & {"h1", "h2", "img", "hr", "table"}, html


def test_typed_html_works_as_before_for_the_allowed_tags_and_shows_as_text_otherwise():
    html = md('<em>kept</em> <span class="x">span</span> <script>alert(1)</script>')
    assert "<em>kept</em>" in html
    assert text(parse(html)) == 'kept <span class="x">span</span> <script>alert(1)</script>'
    assert set(tags(html)) == {"p", "em"}


def test_an_html_block_is_read_inline_and_its_line_breaks_still_break():
    html = md("<div onclick=alert(1)>\nline *one*\n</div>")
    assert set(tags(html)) == {"p", "br", "em"}
    assert "onclick" not in " ".join(el.attrib.get("onclick", "") for el in parse(html).iter())


# --- Hostile input -------------------------------------------------------------------------------

JS = "javascript:alert(1)"
# Every way Markdown has to make a link, each with a javascript: URL, and the usual disguises.
LINK_FORMS = [
    f"[x]({JS})",
    f"[x](<{JS}>)",
    f'[x]({JS} "title")',
    f"[x][r]\n\n[r]: {JS}",
    f"[r]\n\n[r]: {JS}",
    f"[x][]\n\n[x]: <{JS}>",
    f"<{JS}>",
    f'<a href="{JS}">x</a>',
    f"**[x]({JS})**",
    f"*__[x]({JS})__*",
    f"> [x]({JS})",
    f"- [x]({JS})",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript&#x3A;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](\njavascript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "[![x](https://example.org/i.png)](javascript:alert(1))",
    "[x](//evil.example/)",
    "[x](/relative)",
]


@pytest.mark.parametrize("source", LINK_FORMS)
def test_no_markdown_form_makes_a_javascript_or_relative_link(source):
    html = md(source)
    assert violations(html, MARKDOWN_POLICY) == [], html


def test_nested_emphasis_and_unclosed_markup_stay_inside_the_policy():
    sources = [
        "***a _b **c*** d_**" * 50,
        "*" * 5000,
        "[" * 2000 + "x" + "](" * 2000,
        "> " * 300 + "deep",
        "- " * 300 + "deep",
        "`" * 1000,
    ]
    for source in sources:
        assert violations(md(source), MARKDOWN_POLICY) == []


WRAPPERS = [
    "{}",
    "*{}*",
    "**{}**",
    "> {}",
    "- {}",
    "1. {}",
    "`{}`",
    "```\n{}\n```",
    "[{}](https://example.org/)",
    "[x]({})",
    "<{}>",
    "[x][r]\n\n[r]: {}",
    "<div>\n{}\n</div>",
]


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_the_hostile_corpus_through_markdown_stays_inside_the_policy(wrapper):
    payloads = load_corpus() + PAYLOADS
    bad = {}
    for payload in payloads:
        html = md(wrapper.format(payload))
        found = violations(html, MARKDOWN_POLICY)
        if found:
            bad[payload] = found
    assert bad == {}


# --- Each comment's format -----------------------------------------------------------------------


def test_a_posted_comment_is_markdown_and_an_older_one_keeps_its_text_rendering(app, client):
    post = factories.post(app)
    old = factories.comment(app, post, body="*stars* stay\nas typed")
    assert old.format == CommentFormat.TEXT
    assert old.body_html == "<p>*stars* stay<br>\nas typed</p>"
    response = client.post(
        factories.path_of(post) + "comments",
        data={"author_name": "Ada", "body": "*now* emphasis"},
    )
    assert response.status_code == 303
    with app.app_context():
        new = db.session.scalar(sa.select(Comment).order_by(Comment.id.desc()).limit(1))
        assert (new.format, new.body_html) == ("markdown", "<p><em>now</em> emphasis</p>")
    page = parse(client.get(factories.path_of(post)))
    assert page.xpath(f"//article[@id='comment-{old.id}']//p")[0].text.startswith("*stars*")
    assert page.xpath(f"//article[@id='comment-{new.id}']//em")[0].text == "now"


def test_rerender_renders_each_comment_in_its_own_format(app):
    post = factories.post(app)
    plain = factories.comment(app, post, body="*plain*")
    marked = factories.comment(app, post, body="*marked*", format=CommentFormat.MARKDOWN)
    with app.app_context():
        db.session.execute(sa.update(Comment).values(body_html="stale"))
        db.session.commit()
        rerender()
        html = dict(db.session.execute(sa.select(Comment.id, Comment.body_html)).all())
    assert html[plain.id] == "<p>*plain*</p>"
    assert html[marked.id] == "<p><em>marked</em></p>"


def test_feeds_carry_the_same_html_as_the_page(app, client):
    post = factories.post(app)
    factories.comment(app, post, body="- one\n- **two**", format=CommentFormat.MARKDOWN)
    with app.app_context():
        stored = db.session.scalar(sa.select(Comment.body_html))
    feed = client.get(factories.path_of(post) + "comments.atom").get_data(as_text=True)
    assert escape(stored, quote=False) in feed
    page = client.get(factories.path_of(post)).get_data(as_text=True)
    assert stored in page


def test_the_form_hint_says_markdown_works(app, client):
    post = factories.post(app)
    hint = parse(client.get(factories.path_of(post))).xpath("//p[@id='comment-body-hint']")[0]
    assert "Markdown works" in text(hint) and "**strong**" in text(hint)
