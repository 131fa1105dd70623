"""Post bodies: Markdown renders to the wider post allowlist, and nothing executable."""

from __future__ import annotations

import pytest

from blog.markdown import plain_excerpt, render_markdown
from tests.helpers.hostile import POST_POLICY, load_corpus, violations
from tests.helpers.html import parse


def test_post_policy_check_can_fail():
    assert violations('<p><img src="data:x"></p>', POST_POLICY) == ["image URL 'data:x'"]
    assert violations('<p><img src="/local.png"></p>', POST_POLICY) == []


@pytest.mark.parametrize("payload", load_corpus())
def test_hostile_raw_html_in_a_post_comes_out_inert(payload):
    assert violations(render_markdown(payload), POST_POLICY) == []


@pytest.mark.parametrize("payload", load_corpus())
def test_hostile_payload_inside_markdown_links_and_images_is_inert(payload):
    source = f"[link]({payload}) ![image]({payload}) <{payload}>\n\n> {payload}\n\n    {payload}"
    assert violations(render_markdown(source), POST_POLICY) == []


def test_markdown_structure_survives():
    html = render_markdown(
        "# Title\n\n## Part *one*\n\nSome **strong** and _em_ and `code` and ~~gone~~.\n\n"
        "- one\n- two\n\n3. three\n4. four\n\n> quoted\n\n---\n"
    )
    root = parse(html, "div")
    assert [h.text for h in root.iter("h1")] == ["Title"]
    assert root.find(".//h2/em").text == "one"
    assert root.find(".//strong").text == "strong"
    assert root.find(".//p/code").text == "code"
    assert root.find(".//s").text == "gone"
    assert [li.text for li in root.iter("li")] == ["one", "two", "three", "four"]
    assert root.find(".//ol").get("start") == "3"
    assert root.find(".//blockquote/p").text == "quoted"
    assert root.find(".//hr") is not None


def test_fenced_code_keeps_its_language_and_escapes_its_content():
    html = render_markdown('```python\nprint("<b>hi</b>")\n```')
    code = parse(html, "div").find(".//pre/code")
    assert code.get("class") == "language-python"
    assert code.text == 'print("<b>hi</b>")\n'
    assert code.find("b") is None


def test_table_alignment_becomes_a_class_not_a_style():
    html = render_markdown("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |")
    root = parse(html, "div")
    assert [th.get("class") for th in root.iter("th")] == [
        "align-left",
        "align-center",
        "align-right",
    ]
    assert [td.text for td in root.iter("td")] == ["1", "2", "3"]
    assert "style" not in html


def test_links_keep_http_relative_and_mailto_urls_without_a_ugc_rel():
    html = render_markdown(
        '[a](https://example.com/ "Title") [b](/2024/01/other-post/) [c](#notes) '
        "[d](mailto:nell@example.com)"
    )
    anchors = [dict(a.attrib) for a in parse(html, "div").iter("a")]
    assert anchors == [
        {"href": "https://example.com/", "title": "Title"},
        {"href": "/2024/01/other-post/"},
        {"href": "#notes"},
        {"href": "mailto:nell@example.com"},
    ]


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "vbscript:x", "data:text/html,x"]
)
def test_markdown_links_to_other_schemes_are_not_links(url):
    html = render_markdown(f"[x]({url}) <a href='{url}'>y</a>")
    assert [a.get("href") for a in parse(html, "div").iter("a")] == [None]


def test_images_need_an_http_or_site_url_and_load_lazily():
    html = render_markdown(
        '![A cat](https://example.com/cat.jpg "Cat") ![local](/cat.png) '
        "![data](data:image/png;base64,AAAA) ![js](javascript:alert(1))"
    )
    images = [dict(img.attrib) for img in parse(html, "div").iter("img")]
    assert images == [
        {
            "src": "https://example.com/cat.jpg",
            "alt": "A cat",
            "title": "Cat",
            "loading": "lazy",
            "decoding": "async",
        },
        {"src": "/cat.png", "alt": "local", "loading": "lazy", "decoding": "async"},
        {"alt": "data", "loading": "lazy", "decoding": "async"},
    ]
    # markdown-it itself refuses a javascript: image and leaves the source as text.
    assert "![js](javascript:alert(1))" in html


def test_raw_html_the_writer_may_use_survives():
    html = render_markdown(
        '<figure><img src="https://example.com/a.png" alt="A">'
        "<figcaption>Caption</figcaption></figure>\n\n"
        "Press <kbd>Ctrl</kbd>+<kbd>C</kbd>, H<sub>2</sub>O, E=mc<sup>2</sup>"
    )
    root = parse(html, "div")
    assert root.find(".//figure/figcaption").text == "Caption"
    assert [k.text for k in root.iter("kbd")] == ["Ctrl", "C"]
    assert root.find(".//sub").text == "2" and root.find(".//sup").text == "2"


def test_raw_script_in_a_post_is_shown_as_text():
    html = render_markdown("Before\n\n<script>alert(1)</script>\n\nAfter")
    assert parse(html, "div").find(".//script") is None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_classes_other_than_code_language_and_alignment_are_dropped():
    html = render_markdown(
        '<div class="comment-by-author">x</div> <code class="language-py evil">y</code> '
        '<td class="align-left">z</td>'
    )
    assert "class" not in html


def test_typography_is_smart():
    assert render_markdown('"Quotes" -- and it\'s...') == "<p>“Quotes” – and it’s…</p>\n"


def test_empty_body_renders_empty():
    assert render_markdown("") == ""
    assert render_markdown("   \n") == ""


def test_plain_excerpt_strips_tags_and_cuts_at_a_word():
    html = render_markdown("Some *very* long text &amp; more. " * 20)
    excerpt = plain_excerpt(html, length=40)
    assert excerpt == "Some very long text & more. Some very…"
    assert plain_excerpt("<p>short</p>") == "short"
